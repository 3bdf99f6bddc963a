"""Benchmark: whole agents against the tools users would pick instead, in one run.

1. **Dreamer against sheeprl's DreamerV3** (PyTorch) on CartPole-v1 at jwm's recipe
   sizes (RSSM deter 128 in 4 blocks, 16 x 4 latents, MLPs of 64, a 16 x 32 batch,
   imagination horizon 15): training updates per second (world model, imagination,
   actor and critic; one update on one batch) and env steps per second of training at
   replay ratio 64 (one update every 8 env steps; evaluation left out). jwm: the
   agent's update as one jitted function on a batch of its prefilled buffer, and its
   iteration less its evaluation (`dreamer_parts.py`); sheeprl:
   ``benchmarks/sheeprl_dreamer.py`` run by the python of its own venv
   (``.venv-sheeprl``), with torch on 1 and on 2 threads, the faster counted.
   Target: jwm >= 3x sheeprl's updates per second.
2. **PETS against mbrl-lib's whole loop** (PyTorch) on Pendulum: 10 episodes of 200
   steps (the first random), an ensemble of 5 x (3 x 64), CEM 200 x 25 x 5 iterations,
   100 epochs of fitting per episode, one seed; the wall time of the whole run,
   fitting included. jwm: ``jax.jit(agent.run)`` of the recipe, its compile time
   reported apart (and a ratio with it counted); mbrl-lib: ``mbrl_pets_loop.py`` in
   this process's venv, refitting after the last episode as jwm does, with torch on
   the faster of 1 and 2 threads (a 2-episode probe of each picks it).
   Target: mbrl-lib's time / jwm's >= 3.
3. **Compile time of each agent's step** (PETS, SVG, Dreamer, MuZero at their recipes'
   default sizes): ``jax.jit(agent.step).lower(state).compile()``.

The peers' versions and thread settings go into the results. ``--quick`` shrinks both
comparisons (fewer updates, env steps and episodes, on both sides alike; the peers on
one thread; no compile times) so that `run_all.py` fits in minutes and writes
``agents_quick.{json,md}``; the full run writes ``agents.{json,md}``.

    python benchmarks/agents.py [--quick] [--sheeprl-python .venv-sheeprl/bin/python]
        [--no-sheeprl] [--no-mbrl] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import jax

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from common import (blocking, check_target, device_info, device_text, dist_version,  # noqa: E402
                    rewrite_markdown, time_interleaved, timed_compile, write_results)

from jwm.recipes import DREAMER, MUZERO, PETS, SVG  # noqa: E402

SHEEPRL_PYTHON = os.path.join(ROOT, ".venv-sheeprl", "bin", "python")
DREAMER_TARGET = 3.0
PETS_TARGET = 3.0
PETS_SETTINGS = {"episodes": 10, "steps_per_episode": 200, "ensemble_size": 5,
                 "hidden_layers": 3, "hidden_size": 64, "population": 200, "horizon": 25,
                 "iterations": 5, "epochs": 100, "particles": 20}


def _median(samples):
    samples = sorted(samples)
    return samples[len(samples) // 2]


def jwm_dreamer(updates: int, phases_repeats: int) -> dict:
    """Updates per second (the update as one jitted function) and training env steps
    per second (iterations of 25 phases less their evaluation)."""
    from dreamer_parts import parts

    functions, info = parts()
    update = functions["update"]
    iteration = functions[f"iteration of {info['phases_per_iteration']} phases"]
    evaluation = functions["evaluation"]
    for fn in (update, iteration, evaluation):
        fn()                                           # compiled and warm
    update_s = []
    for _ in range(updates):
        start = time.perf_counter()
        update()
        update_s.append(time.perf_counter() - start)
    loop_s = []
    for _ in range(phases_repeats):
        start = time.perf_counter()
        iteration()
        middle = time.perf_counter()
        evaluation()
        loop_s.append((middle - start) - (time.perf_counter() - middle))
    env_steps = info["phases_per_iteration"] * info["train_every"]
    return {"seconds_per_update": _median(update_s), "updates_per_s": 1 / _median(update_s),
            "env_steps_per_s": env_steps / _median(loop_s), "updates_timed": updates,
            "iterations_timed": phases_repeats, "config": info["config"]}


def sheeprl_dreamer(python: str, threads: int, updates: int, env_steps: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "sheeprl.json")
        command = [python, os.path.join(HERE, "sheeprl_dreamer.py"), "--threads", str(threads),
                   "--updates", str(updates), "--env-steps", str(env_steps), "--out", out]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=3600,
                              env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"})
        if done.returncode != 0:
            raise RuntimeError(f"sheeprl_dreamer.py failed:\n{done.stdout[-2000:]}"
                               f"{done.stderr[-2000:]}")
        with open(out) as f:
            return json.load(f)


def jwm_pets(settings: dict, with_parts: bool = True) -> dict:
    config = PETS.config("gymnax:Pendulum-v1", {
        "loop": {"total_steps": settings["episodes"] * settings["steps_per_episode"],
                 "steps_per_episode": settings["steps_per_episode"],
                 "fit_epochs": settings["epochs"]},
        "model": {"ensemble_size": settings["ensemble_size"],
                  "hidden_sizes": [settings["hidden_size"]] * settings["hidden_layers"],
                  "particles": settings["particles"]},
        "planner": {"population": settings["population"], "horizon": settings["horizon"],
                    "iterations": settings["iterations"]}})
    agent = PETS.agent(config)
    key = jax.random.key(0)
    compiled, compile_s = timed_compile(jax.jit(agent.run), key)
    start = time.perf_counter()
    state, metrics = jax.block_until_ready(compiled(key))
    run_s = time.perf_counter() - start
    result = {"run_s": run_s, "compile_s": compile_s,
              "returns": [float(x) for x in metrics.eval_return], "config": config}
    if not with_parts:
        return result
    result["parts"] = _pets_parts(config, agent, state)
    return dict(result, **pets_split(result))


def pets_split(jwm: dict) -> dict:
    """Bounds on jwm's fitting and planning time within its run: the agent's round is
    one compiled program, so the parts are timed alone. A fit's cost grows with the
    rows it trains on (the minibatches per epoch), so each of the run's fits costs at
    most the final one, on the fullest buffer."""
    loop = jwm["config"]["loop"]
    fits = loop["total_steps"] // loop["steps_per_episode"]
    fit_at_most = fits * jwm["parts"]["fit_full_buffer_s"]
    return {"fit_s_at_most": fit_at_most, "act_s_at_least": jwm["run_s"] - fit_at_most}


def _pets_parts(config: dict, agent, state, repeats: int = 2) -> dict:
    """Seconds of one planned episode and of one fit on the final (fullest) buffer, each
    as its own jitted function with the run's final parameters (medians of ``repeats``)."""
    from jwm.agents.buffer import transition_buffer
    from jwm.agents.episode import run_episode
    from jwm.models.fit import fit
    from jwm.recipes.base import fit_options
    from jwm.recipes.pets import build_parts

    env, model, _ = build_parts("gymnax:Pendulum-v1", config)
    steps = config["loop"]["steps_per_episode"]
    buffer = transition_buffer(config["loop"]["total_steps"], env.observation_space.shape,
                               env.action_space.shape)
    data = buffer.contents(state.buffer)
    params = agent.policy_params(state)
    episode = jax.jit(lambda p, k: run_episode(env, agent.policy, p, k, num_steps=steps))
    refit = jax.jit(lambda p, d, k: fit(model, p, d, k, **fit_options(config)))
    key = jax.random.key(1)
    stats, _ = time_interleaved({"planned_episode_s": blocking(episode, params, key),
                                 "fit_full_buffer_s": blocking(refit, params, data, key)},
                                repeats=repeats, rounds=repeats, warmup=1)
    times = {name: s["median_ms"] / 1e3 for name, s in stats.items()}
    times["fit_rows"] = int(data.valid.sum())
    return times


def mbrl_pets(settings: dict, threads: int) -> dict:
    from mbrl_pets_loop import run_mbrl_pets

    # jwm refits after every episode, the last included: so does mbrl-lib's loop here.
    return run_mbrl_pets(threads=threads, final_fit=True, verbose=False, **settings)


def compile_times() -> dict:
    """Seconds to compile each agent's step at its recipe's default sizes."""
    out = {}
    for recipe, env in ((PETS, "gymnax:Pendulum-v1"), (SVG, "gymnax:Pendulum-v1"),
                        (DREAMER, "gymnax:CartPole-v1"), (MUZERO, "gymnax:CartPole-v1")):
        agent = recipe.agent(recipe.config(env, {}))
        state = jax.eval_shape(agent.init, jax.random.key(0))
        out[recipe.name] = {"env": env, "compile_s": timed_compile(jax.jit(agent.step), state)[1]}
        print(f"compile {recipe.name}: {out[recipe.name]['compile_s']:.1f} s", flush=True)
    return out


def _verdict(comparison: dict, peer: str, label: str, ratio_text: str, extra: str) -> list:
    """The ratio line and the peer's listed differences, or why the peer did not run."""
    if "target" not in comparison:
        return ["", f"{label}: {comparison['skipped']}"] if comparison.get("skipped") else []
    t = comparison["target"]
    lines = ["", f"{ratio_text}: **{t['value']:.2f}×** (target {t['target']}: "
             f"{'met' if t['pass'] else 'not met'}); {extra}."]
    differences = comparison[peer][0].get("differences") or []
    if differences:
        lines += ["", f"Where {label} differs:", ""] + [f"- {d}" for d in differences]
    return lines


def _cell(seconds, prefix: str = "") -> str:
    return "–" if seconds is None else f"{prefix}{seconds:.1f}"


def _episode_ratio(pets: dict) -> float:
    """mbrl-lib's planning-and-acting time over jwm's (an upper bound: jwm's is a
    lower bound)."""
    return min(r["act_s"] for r in pets["mbrl"]) / pets["jwm"]["act_s_at_least"]


def _fit_ratio(pets: dict) -> float:
    """mbrl-lib's fitting time over jwm's (a lower bound: jwm's is an upper bound)."""
    return (min(r["fit_s"] + r["final_fit_s"] for r in pets["mbrl"])
            / pets["jwm"]["fit_s_at_most"])


def markdown(result: dict) -> str:
    device = result["device"]
    lines = [f"# Whole agents against their peers ({device_text(device)}, "
             f"jax {device['jax_version']})", ""]
    dreamer = result.get("dreamer")
    if dreamer:
        lines += ["## Dreamer against sheeprl's DreamerV3, CartPole-v1", "",
                  "| | updates/s | s per update | env steps/s at replay ratio 64 |",
                  "|---|---:|---:|---:|",
                  f"| jwm | {dreamer['jwm']['updates_per_s']:.2f} | "
                  f"{dreamer['jwm']['seconds_per_update']:.4f} | "
                  f"{dreamer['jwm']['env_steps_per_s']:.1f} |"]
        for run in dreamer.get("sheeprl", []):
            lines.append(f"| sheeprl {run.get('sheeprl_version')} (torch {run.get('torch_version')}, "
                         f"{run['threads']} thread{'s' if run['threads'] > 1 else ''}) | "
                         f"{run['updates_per_s']:.2f} | {run['seconds_per_update']:.4f} | "
                         f"{run['env_steps_per_s']:.1f} |")
        lines += _verdict(dreamer, "sheeprl", "sheeprl's configuration",
                          "jwm / sheeprl (faster thread setting) updates per second",
                          f"env steps per second {dreamer.get('env_steps_ratio', 0):.2f}×") + [""]
    pets = result.get("pets")
    if pets:
        s = pets["settings"]
        lines += ["## PETS against mbrl-lib's whole loop, Pendulum", "",
                  f"{s['episodes']} episodes of {s['steps_per_episode']} steps, ensemble "
                  f"{s['ensemble_size']} × ({s['hidden_layers']} × {s['hidden_size']}), CEM "
                  f"{s['population']} × {s['horizon']} × {s['iterations']}, {s['epochs']} "
                  "epochs per fit, one seed.", "",
                  "| | whole run (s) | compile (s) | fitting (s) | planning and acting (s) | "
                  "last return |", "|---|---:|---:|---:|---:|---:|",
                  f"| jwm | {pets['jwm']['run_s']:.1f} | {pets['jwm']['compile_s']:.1f} | "
                  f"{_cell(pets['jwm'].get('fit_s_at_most'), '≤ ')} | "
                  f"{_cell(pets['jwm'].get('act_s_at_least'), '≥ ')} | "
                  f"{pets['jwm']['returns'][-1]:.0f} |"]
        for run in pets.get("mbrl", []):
            versions = run.get("versions", {})
            lines.append(f"| mbrl-lib {versions.get('mbrl')} (torch {versions.get('torch')}, "
                         f"{run['threads']} thread{'s' if run['threads'] > 1 else ''}) | "
                         f"{run['total_s']:.1f} | – | {run['fit_s'] + run['final_fit_s']:.1f} | "
                         f"{run['act_s']:.1f} | {run['episode_returns'][-1]:.0f} |")
        parts = pets["jwm"].get("parts")
        if parts and "fit_s_at_most" in pets["jwm"]:
            lines += ["", f"jwm's round is one compiled program, so its parts are timed "
                      f"alone: a fit on the final {parts['fit_rows']} rows takes "
                      f"{parts['fit_full_buffer_s']:.1f} s, and every earlier fit, on fewer "
                      f"rows, less: its {s['episodes']} fits take at most "
                      f"{pets['jwm']['fit_s_at_most']:.1f} s, and the rest of the run is "
                      f"planning and acting (one planned episode alone: "
                      f"{parts['planned_episode_s']:.1f} s)." + (
                          f" Planning and acting, mbrl-lib / jwm: at most "
                          f"{_episode_ratio(pets):.2f}×; fitting: at least "
                          f"{_fit_ratio(pets):.1f}×." if pets.get("mbrl") else "")]
        lines += _verdict(pets, "mbrl", "mbrl-lib's loop", "mbrl-lib / jwm whole-run time",
                          f"{pets.get('ratio_with_compile', 0):.2f}× with jwm's compilation "
                          "counted")
        lines.append("")
    if result.get("compile"):
        lines += ["## Compile time of one agent step (recipe sizes)", "",
                  "| agent | env | compile (s) |", "|---|---|---:|"]
        for name, entry in result["compile"].items():
            lines.append(f"| {name} | {entry['env']} | {entry['compile_s']:.1f} |")
        lines.append("")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small budgets on both sides")
    parser.add_argument("--sheeprl-python", default=SHEEPRL_PYTHON)
    parser.add_argument("--no-sheeprl", action="store_true")
    parser.add_argument("--no-mbrl", action="store_true")
    parser.add_argument("--no-compile", action="store_true")
    parser.add_argument("--markdown-only", action="store_true",
                        help="rewrite the .md from the .json (no timing)")
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    args = parser.parse_args(argv)
    if args.markdown_only:
        return rewrite_markdown(args.out, "agents_quick" if args.quick else "agents", markdown)
    updates, repeats, env_steps = (5, 1, 200) if args.quick else (30, 3, 800)
    result = {"device": device_info(), "quick": args.quick,
              "load_start": os.getloadavg()}

    dreamer = {"jwm": jwm_dreamer(updates, repeats)}
    print(f"jwm dreamer: {dreamer['jwm']['updates_per_s']:.2f} updates/s, "
          f"{dreamer['jwm']['env_steps_per_s']:.1f} env steps/s", flush=True)
    if args.no_sheeprl or not os.path.exists(args.sheeprl_python):
        dreamer["skipped"] = ("not run: no sheeprl venv at " + args.sheeprl_python +
                              " (see benchmarks/sheeprl_dreamer.py)")
    else:
        dreamer["sheeprl"] = [sheeprl_dreamer(args.sheeprl_python, threads, updates, env_steps)
                              for threads in ((1,) if args.quick else (1, 2))]
        best = max(dreamer["sheeprl"], key=lambda r: r["updates_per_s"])
        dreamer["target"] = check_target(dreamer["jwm"]["updates_per_s"] / best["updates_per_s"],
                                         ">=", DREAMER_TARGET)
        dreamer["env_steps_ratio"] = (dreamer["jwm"]["env_steps_per_s"] /
                                      max(r["env_steps_per_s"] for r in dreamer["sheeprl"]))
    result["dreamer"] = dreamer

    settings = dict(PETS_SETTINGS, **({"episodes": 2, "epochs": 20, "steps_per_episode": 50}
                                      if args.quick else {}))
    # Quick mode leaves out the timing of PETS's parts (it would double jwm's side).
    pets = {"settings": settings, "jwm": jwm_pets(settings, with_parts=not args.quick)}
    print(f"jwm pets: {pets['jwm']['run_s']:.1f} s (+{pets['jwm']['compile_s']:.1f} s compile)",
          flush=True)
    if args.no_mbrl or dist_version("mbrl") is None:
        pets["skipped"] = ("not run: mbrl-lib is not installed (pip install -e '.[peers]' && "
                           "pip install --no-deps mbrl==0.2.0)")
    else:
        # A whole run takes many minutes on a CPU: a short probe of both thread counts
        # picks the faster, which then runs the whole loop.
        # (--quick: one thread, no probe.)
        probe = dict(settings, episodes=2, epochs=10, steps_per_episode=50)
        probes = {1: None} if args.quick else {
            threads: mbrl_pets(probe, threads)["total_s"] for threads in (1, 2)}
        threads = min(probes, key=lambda t: probes[t] or 0)
        pets["mbrl_thread_probe_s"] = probes
        pets["mbrl"] = [mbrl_pets(settings, threads)]
        print(f"mbrl-lib pets, {threads} thread(s) (probe {probes}): "
              f"{pets['mbrl'][0]['total_s']:.1f} s", flush=True)
        best = min(r["total_s"] for r in pets["mbrl"])
        pets["target"] = check_target(best / pets["jwm"]["run_s"], ">=", PETS_TARGET)
        pets["ratio_with_compile"] = best / (pets["jwm"]["run_s"] + pets["jwm"]["compile_s"])
    result["pets"] = pets

    if not (args.no_compile or args.quick):
        result["compile"] = compile_times()
    result["load_end"] = os.getloadavg()
    write_results(args.out, "agents_quick" if args.quick else "agents", result,
                  markdown(result))
    return result


if __name__ == "__main__":
    main()

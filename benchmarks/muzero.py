"""Benchmark: MuZero training throughput on CartPole-v1, jwm against LightZero (PyTorch),
measured in one run, and the wall time to a return of 475 that it implies.

Throughput is env steps per second of training: self-play, updates and (where on)
reanalyse, with evaluation, compilation (jwm) and start-up (LightZero) left out.

* jwm: ``jwm.recipes.MUZERO`` on ``gymnax:CartPole-v1`` with the matched settings
  below. ``jax.jit(agent.step)`` is compiled first (its time is reported apart), one
  iteration is run untimed, then iterations of ``--eval-every`` env steps are timed,
  half of them before the LightZero runs and half after, so that a change of the
  machine's load during the run hits both sides. The evaluation that ends every
  iteration is one episode of one step (negligible).
* LightZero 0.2.0: ``benchmarks/lightzero_muzero.py`` run by the python of its own venv
  (``--lightzero-python``) in a subprocess, LightZero's shipped CartPole MuZero config
  changed only where the two must match (see that file). Its collects before its
  first update are its warm-up, as jwm's prefill is; the timed window runs from the
  first collect followed by updates to the end of the last update. Torch uses
  ``--lightzero-threads`` threads (2 = the machine's cores) with
  ``OMP_WAIT_POLICY=PASSIVE``: on a loaded machine torch's spinning OpenMP workers
  otherwise make it about 20x slower, which would flatter jwm. One more LightZero run
  with one thread is made (``--no-single-thread`` skips it), and the headline ratio
  is against the faster of the two.

Matched: PUCT search (LightZero's plain MuZero) with ``--simulations`` (25, LightZero's
CartPole value) simulations; batch 256; unroll 5; n-step (td_steps) 5; 8 self-play
envs; 0.25 updates of 256 per env step (jwm: 10 updates every 40 env steps; LightZero:
``update_per_collect=None``, ``replay_ratio=0.25``, i.e. ``int(0.25 * transitions)``
updates after each collect of 8 episodes); categorical reward and value over 41 atoms
(LightZero's ``support_scale`` 300 -> 20, jwm's ``support`` 20); latent 64 and head
widths 128 (LightZero's MLP trunks are as wide as its latent, so 64; jwm's one hidden
layer is 128); reanalyse 0 (and a second pair at 0.25). Each side's other defaults
are kept (listed with what could not be matched in the results .md). LightZero's
shipped config adds an EfficientZero self-supervised consistency loss (a 3.2M
parameter projection) that jwm does not have: it is run both without it (the
like-for-like pair, the headline) and with it (the shipped config).

Rows: jwm PUCT / LightZero without the consistency loss (headline, target >= 5x),
jwm PUCT / LightZero shipped, jwm Gumbel (its default search) / both, jwm PUCT with
reanalyse 0.25 / LightZero with ``reanalyze_ratio`` 0.25; and, jwm only, the recipe as
run by the learning-curve experiment (Gumbel, 16 simulations) and a diagnostic PUCT run
with 1 update per 40 env steps instead of 10, which with the matched PUCT run splits
jwm's time into self-play per env step and time per update (LightZero's split is
read from its timed calls).

Wall time to 475: read from ``--experiment`` (``experiments/results/
muzero_CartPole-v1.json``, jwm's 3-seed run of the recipe, which the ``muzero`` tier
of ``experiments/suites/agents.toml`` re-runs) when present: the env steps N at which the seed-mean
evaluation return first reaches 475, jwm's wall time to N (that run's, pro rata), and
N divided by each measured LightZero throughput: the time LightZero would take to
collect as many env steps, a lower bound on its time to 475 only if it needs at least
as many env steps as jwm (its sample efficiency on CartPole-v1 is not measured here).

    python benchmarks/muzero.py [--env-steps 3000] [--ssl-env-steps 1500]
        [--reanalyse-env-steps 2000] [--simulations 25] [--eval-every 400]
        [--lightzero-python .venv-lightzero/bin/python]
        [--lightzero-threads 2] [--no-single-thread] [--no-reanalyse] [--no-lightzero]
        [--jwm-runs puct puct_1update ...]
        [--experiment experiments/results/muzero_CartPole-v1.json] [--out benchmarks/results]

LightZero's own venv (its DI-engine pins setuptools <= 66.1.1, which torch 2.13's CPU
wheel rejects, so pip would swap in a CUDA build; installing its pinned dependencies
without resolution avoids that):

    python3 -m venv .venv-lightzero
    .venv-lightzero/bin/pip install torch==2.13.0
    .venv-lightzero/bin/pip install --no-deps -r benchmarks/lightzero-requirements.txt

Writes ``muzero.json`` and ``muzero.md`` (``--name``) into ``--out``. LightZero is not
needed by jwm's tests; without its python the jwm side is still measured and the
report says that LightZero was not run and why.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import jax
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import check_target, device_info, device_text, write_results  # noqa: E402

from jwm.recipes import MUZERO  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ENV = "gymnax:CartPole-v1"
LIGHTZERO_ENV = "CartPole-v1"
LIGHTZERO_PYTHON = os.path.join(ROOT, ".venv-lightzero", "bin", "python")
EXPERIMENT = os.path.join(ROOT, "experiments", "results", "muzero_CartPole-v1.json")
TARGET_RATIO = 5.0
TARGET_RETURN = 475.0
LATENT, HEAD, SUPPORT = 64, 128, 20


def _load() -> list:
    return [round(x, 2) for x in os.getloadavg()]


# ---------------------------------------------------------------------------- jwm side

def _jwm_variants(simulations: int) -> dict:
    """name -> (description, overrides of the MuZero recipe: its search and loop)."""
    loop = {"num_envs": 8, "batch_size": 256, "unroll_steps": 5, "n_step": 5,
            "train_every": 40, "train_steps": 10}

    def matched(rule, **extra):
        return {"search": {"rule": rule, "num_simulations": simulations},
                "loop": dict(loop, **extra)}

    return {
        "puct": (f"PUCT, {simulations} sims", matched("puct")),
        "gumbel": (f"Gumbel, {simulations} sims", matched("gumbel")),
        "puct_reanalyse": (f"PUCT, {simulations} sims, reanalyse 0.25",
                           matched("puct", reanalyse_fraction=0.25)),
        "recipe": ("recipe defaults (Gumbel, 16 sims)", {"loop": {}}),
        # Diagnostic: with `puct`, splits jwm's time into self-play and updates.
        "puct_1update": ("PUCT, 1 update per 40 env steps (diagnostic)",
                         matched("puct", train_steps=1)),
    }


class _JwmRun:
    """One jwm agent, compiled and warmed up, timed in slices of whole iterations."""

    def __init__(self, name, description, overrides, eval_every: int, iterations: int):
        self.name, self.description = name, description
        # Every variant's prefill: one 5 + 5 + 1-row sequence per env, 88 env steps,
        # collected as 3 phases of 40; then one spare period beyond the timed ones.
        loop = dict(overrides["loop"], eval_every=eval_every, eval_episodes=1, eval_steps=1,
                    total_steps=120 + eval_every * (iterations + 1))
        config = MUZERO.config(ENV, {"model": {"latent_size": LATENT, "hidden_sizes": [HEAD],
                                               "support": SUPPORT},
                                     "search": overrides.get("search", {}), "loop": loop})
        self.agent = MUZERO.agent(config)
        self.eval_every = eval_every
        key = jax.random.key(0)
        t0 = time.perf_counter()
        self.state = jax.block_until_ready(jax.jit(self.agent.init)(key))
        self.init_s = time.perf_counter() - t0  # compile + prefill
        t0 = time.perf_counter()
        self.step = jax.jit(self.agent.step).lower(self.state).compile()
        self.compile_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        self.state, _ = jax.block_until_ready(self.step(self.state))  # warm-up iteration
        self.warmup_s = time.perf_counter() - t0
        params = self.agent.policy_params(self.state)
        self.parameters = int(sum(np.size(x) for x in jax.tree.leaves(params)))
        self.slices = []

    def time(self, iterations: int) -> None:
        load = _load()
        start_steps = int(self.state.env_steps)
        t0 = time.perf_counter()
        for _ in range(iterations):
            self.state, metrics = self.step(self.state)
        jax.block_until_ready(self.state)
        seconds = time.perf_counter() - t0
        steps = int(metrics.env_steps) - start_steps
        self.slices.append({"env_steps": steps, "seconds": seconds,
                            "env_steps_per_s": steps / seconds, "load_before": load,
                            "load_after": _load()})

    def summary(self) -> dict:
        steps = sum(s["env_steps"] for s in self.slices)
        seconds = sum(s["seconds"] for s in self.slices)
        config = {k: v for k, v in self.agent.config.items() if k not in ("recipe", "model")}
        return {"description": self.description, "env_steps": steps, "seconds": seconds,
                "env_steps_per_s": steps / seconds, "slices": self.slices,
                "updates_per_env_step": config["train_steps"] / config["train_every"],
                "init_and_prefill_s": self.init_s, "compile_step_s": self.compile_s,
                "warmup_iteration_s": self.warmup_s, "parameters": self.parameters,
                "model": self.agent.config["model"], "config": config}


# ---------------------------------------------------------------------- LightZero side

def _lightzero_variants(simulations: int, env_steps: int, ssl_env_steps: int,
                        reanalyse_env_steps: int, threads: int, single_thread: bool,
                        reanalyse: bool) -> dict:
    """name -> (description, settings, env-step budget, torch threads)."""
    base = {"env_id": LIGHTZERO_ENV, "num_simulations": simulations, "batch_size": 256,
            "num_unroll_steps": 5, "td_steps": 5, "collector_env_num": 8,
            "replay_ratio": 0.25, "reanalyze_ratio": 0.0, "latent_state_dim": LATENT,
            "head_hidden": [HEAD], "support_scale": SUPPORT}
    no_ssl = dict(base, self_supervised_learning_loss=False, ssl_loss_weight=0.0)
    variants = {
        "no_ssl": (f"no consistency loss, {threads} threads", no_ssl, env_steps, threads),
        "shipped": (f"shipped losses (consistency loss on, weight 2), {threads} threads",
                    dict(base, self_supervised_learning_loss=True, ssl_loss_weight=2.0),
                    ssl_env_steps, threads),
    }
    if single_thread and threads != 1:
        variants["no_ssl_1thread"] = ("no consistency loss, 1 thread", no_ssl, env_steps, 1)
    if reanalyse:
        variants["no_ssl_reanalyse"] = (f"no consistency loss, reanalyze_ratio 0.25, "
                                        f"{threads} threads",
                                        dict(no_ssl, reanalyze_ratio=0.25),
                                        reanalyse_env_steps, threads)
    return variants


def _run_lightzero(python: str, settings: dict, env_steps: int, threads: int,
                   timeout_s: float) -> dict:
    """Runs benchmarks/lightzero_muzero.py in LightZero's venv; its summary, or
    ``{"error": ...}``."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
               OMP_WAIT_POLICY="PASSIVE")
    env.pop("PYTHONPATH", None)
    with tempfile.TemporaryDirectory(prefix="jwm-lz-") as tmp:
        out = os.path.join(tmp, "result.json")
        # The budget plus about one collect: the collects before LightZero's first
        # update are its warm-up, outside the timed window.
        cmd = [python, os.path.join(HERE, "lightzero_muzero.py"), "--settings",
               json.dumps(settings), "--max-env-steps", str(env_steps + 200),
               "--threads", str(threads), "--out", out]
        load = _load()
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, cwd=tmp, env=env, capture_output=True, text=True,
                                  timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {timeout_s:.0f} s", "load_before": load}
        wall = time.perf_counter() - t0
        if proc.returncode != 0 or not os.path.exists(out):
            tail = (proc.stdout + proc.stderr)[-2000:]
            return {"error": f"exit code {proc.returncode}: {tail}", "load_before": load}
        with open(out) as f:
            result = json.load(f)
    result.update(process_wall_s=wall, load_before=load, load_after=_load())
    return result


def _lightzero_absent(python: str) -> str | None:
    if not os.path.exists(python):
        return f"LightZero's python {python} does not exist"
    probe = subprocess.run([python, "-c", "import lzero, zoo, torch"], capture_output=True,
                           text=True, timeout=300)
    if probe.returncode != 0:
        return f"{python} cannot import lzero/zoo/torch: {probe.stderr.strip()[-500:]}"
    return None


# ------------------------------------------------------------------ wall time to 475

def _first_reach(steps, returns, threshold):
    """The first env-step count at which ``returns`` (averaged over its first axis
    when 2-D) is >= ``threshold``, or None."""
    returns = np.asarray(returns, float)
    curve = np.nanmean(returns, axis=0) if returns.ndim == 2 else returns
    hit = np.nonzero(curve >= threshold)[0]
    return int(steps[hit[0]]) if hit.size else None


def _wall_time(path: str, jwm_runs: dict, lightzero: dict) -> dict:
    """jwm's wall time to 475 from its experiment, and LightZero's time for as many env
    steps at its measured rates, for each reference count of env steps."""
    if not os.path.exists(path):
        return {"available": False, "path": path,
                "reason": "the jwm learning-curve experiment has not written its results"}
    with open(path) as f:
        record = json.load(f)
    steps = np.asarray(record["env_steps"])
    returns = np.asarray(record["eval_returns"], float)
    wall = record.get("wall_time_s")
    mean_reach = _first_reach(steps, returns, TARGET_RETURN)
    seed_reach = [_first_reach(steps, r, TARGET_RETURN) for r in returns]
    search = record.get("config", {}).get("search", {})
    out = {"available": True, "path": os.path.relpath(path, ROOT),
           "seeds": record.get("seeds"), "experiment_env_steps": int(steps[-1]),
           "experiment_wall_time_s": wall, "experiment_target": record.get("target"),
           "experiment_search": search.get("rule"),
           "experiment_simulations": search.get("num_simulations"),
           "mean_reaches_475_at_env_steps": mean_reach,
           "seeds_first_reach_475_at_env_steps": seed_reach,
           "final_mean_eval_return": float(np.nanmean(returns[:, -1])),
           "best_mean_eval_return": float(np.nanmax(np.nanmean(returns, axis=0)))}
    references = []
    if mean_reach is not None:
        references.append(("the seed-mean evaluation return first reaches 475", mean_reach))
    reached = [r for r in seed_reach if r is not None]
    if reached:
        references.append((f"the first seed's evaluation return first reaches 475 "
                           f"({len(reached)} of {len(seed_reach)} seeds ever do)", min(reached)))
    references.append(("the whole experiment", int(steps[-1])))
    rates = {name: r["env_steps_per_s"] for name, r in lightzero.items()
             if "env_steps_per_s" in r and not r["settings"]["reanalyze_ratio"]}
    out["references"] = []
    for label, n in references:
        ref = {"label": label, "env_steps": n,
               "lightzero_s": {name: n / rate for name, rate in rates.items()}}
        if wall:
            # Every iteration of the experiment is the same program: its wall time to n,
            # pro rata (all seeds at once, compilation and evaluations included).
            ref["jwm_experiment_s"] = wall * n / steps[-1]
        if "recipe" in jwm_runs:
            ref["jwm_recipe_training_s"] = n / jwm_runs["recipe"]["env_steps_per_s"]
        out["references"].append(ref)
    return out


def _jwm_split(jwm_runs: dict) -> dict | None:
    """jwm's time per env step of self-play and per update, from ``puct`` (10 updates
    per 40 env steps) and ``puct_1update`` (1): ``T(k) = c + k * u / 40``."""
    if "puct" not in jwm_runs or "puct_1update" not in jwm_runs:
        return None
    t10 = 1e3 / jwm_runs["puct"]["env_steps_per_s"]
    t1 = 1e3 / jwm_runs["puct_1update"]["env_steps_per_s"]
    update = (t10 - t1) * 40 / 9
    return {"self_play_ms_per_env_step": t1 - update / 40, "update_ms": update,
            "ms_per_env_step": t10}


# ---------------------------------------------------------------------------- report

COMPARISONS = (  # (jwm run, LightZero run, label)
    ("puct", "best_no_ssl", "PUCT vs PUCT, no consistency loss (like for like)"),
    ("puct", "shipped", "PUCT vs PUCT, LightZero's shipped losses"),
    ("gumbel", "best_no_ssl", "jwm Gumbel vs LightZero PUCT, no consistency loss"),
    ("gumbel", "shipped", "jwm Gumbel vs LightZero PUCT, shipped losses"),
    ("puct_reanalyse", "no_ssl_reanalyse", "PUCT vs PUCT, reanalyse 0.25, no consistency loss"),
)


def _comparisons(jwm_runs: dict, lightzero: dict) -> list:
    rates = {name: r["env_steps_per_s"] for name, r in lightzero.items()
             if "env_steps_per_s" in r}
    no_ssl = {k: v for k, v in rates.items() if k in ("no_ssl", "no_ssl_1thread")}
    best = max(no_ssl, key=no_ssl.get) if no_ssl else None
    rows = []
    for jwm_name, lz_name, label in COMPARISONS:
        lz_name = best if lz_name == "best_no_ssl" else lz_name
        if jwm_name not in jwm_runs or lz_name not in rates:
            continue
        ratio = jwm_runs[jwm_name]["env_steps_per_s"] / rates[lz_name]
        rows.append({"label": label, "jwm": jwm_name, "lightzero": lz_name,
                     "jwm_env_steps_per_s": jwm_runs[jwm_name]["env_steps_per_s"],
                     "lightzero_env_steps_per_s": rates[lz_name], "ratio": ratio,
                     "target": check_target(ratio, ">=", TARGET_RATIO)})
    return rows


def markdown(record: dict) -> str:
    jwm_runs, lz = record["jwm"], record["lightzero"]
    info, args = record["device"], record["args"]
    lines = ["# MuZero training throughput on CartPole-v1: jwm vs LightZero", "",
             f"{record['date']}. Device: {device_text(info)}, "
             f"jax {info['jax_version']}; LightZero {record.get('lightzero_version')}, torch "
             f"{record.get('torch_version')}. Load average (1/5/15 min) at start "
             f"{record['load_start']}, at end {record['load_end']} (the machine is shared "
             f"with other jobs; every run's load is in the JSON).", "",
             "Env steps per second of training (self-play + updates + reanalyse), after "
             "compilation (jwm) and start-up (LightZero), without evaluation. "
             f"{args['simulations']} simulations, batch 256, unroll 5, td 5, 8 envs, "
             "0.25 updates of 256 per env step, 41-atom supports, latent 64.", ""]
    if record["lightzero_absent"]:
        lines += [f"**LightZero was not run: {record['lightzero_absent']}.** Only jwm's "
                  "numbers are below.", ""]
    comps = record["comparisons"]
    if comps:
        lines += ["| comparison | jwm env steps/s | LightZero env steps/s | jwm / LightZero | "
                  f">= {TARGET_RATIO:g} |", "|---|---:|---:|---:|:---:|"]
        for c in comps:
            lines.append(f"| {c['label']} (jwm `{c['jwm']}`, LightZero `{c['lightzero']}`) | "
                         f"{c['jwm_env_steps_per_s']:.1f} | {c['lightzero_env_steps_per_s']:.2f}"
                         f" | **{c['ratio']:.2f}** | {'yes' if c['target']['pass'] else 'no'} |")
        head = record.get("headline")
        if head:
            lines += ["", f"Headline (like for like, against LightZero's faster thread "
                      f"count): **{head['ratio']:.2f}x**; target >= {TARGET_RATIO:g}x: "
                      f"**{'met' if head['target']['pass'] else 'not met'}**."]
        lines.append("")
    lines += ["## Runs", "", "| side | run | env steps timed | seconds | env steps/s | "
              "updates / env step | parameters | load before -> after | not timed |",
              "|---|---|---:|---:|---:|---:|---:|---|---|"]
    for name, r in jwm_runs.items():
        loads = " ; ".join(f"{s['load_before'][0]} -> {s['load_after'][0]}"
                           for s in r["slices"])
        lines.append(f"| jwm | `{name}`: {r['description']} | {r['env_steps']} | "
                     f"{r['seconds']:.1f} | {r['env_steps_per_s']:.1f} | "
                     f"{r['updates_per_env_step']:.3f} | {r['parameters']:,} | {loads} | "
                     f"init+prefill {r['init_and_prefill_s']:.0f} s, compile "
                     f"{r['compile_step_s']:.0f} s |")
    for name, r in lz.items():
        if "error" in r:
            lines.append(f"| LightZero | `{name}` | failed: {r['error'][:300]} | | | | | | |")
            continue
        p = r["parameters"]
        params = (f"{p['total']:,} ({p['self_supervised']:,} consistency projection)"
                  if p["self_supervised"] else f"{p['total']:,}")
        lines.append(f"| LightZero | `{name}`: {r['description']} | {r['window_env_steps']} | "
                     f"{r['window_s']:.1f} | {r['env_steps_per_s']:.2f} | "
                     f"{r['updates_per_env_step']:.3f} | {params} | "
                     f"{r['load_before'][0]} -> {r['load_after'][0]} | "
                     f"warm-up {r['warmup_env_steps']} env steps; start-up + eval "
                     f"{r['startup_and_eval_s']:.0f} s |")
    split = [(n, r) for n, r in lz.items() if "window_train_s" in r]
    if split:
        lines += ["", "LightZero's window split: " + "; ".join(
            f"`{n}` collect {r['window_collect_s']:.1f} s, learner.train "
            f"{r['window_train_s']:.1f} s, other (buffer sampling and targets, logging) "
            f"{r['window_other_s']:.1f} s" for n, r in split) + "."]
    js = record.get("jwm_split")
    if js:
        lines += ["", f"jwm's split (from `puct` and `puct_1update`): self-play (8 envs, "
                  f"search included) {js['self_play_ms_per_env_step']:.2f} ms per env step, "
                  f"{js['update_ms']:.1f} ms per update of 256 (sampling and targets "
                  f"included); {js['ms_per_env_step']:.2f} ms per env step in all."]
    if split:
        lines += ["LightZero per unit: " + "; ".join(
            f"`{n}` collect {1e3 * r['window_collect_s'] / r['window_env_steps']:.2f} ms per "
            f"env step, {1e3 * (r['window_train_s'] + r['window_other_s']) / r['updates']:.1f}"
            f" ms per update (learner.train "
            f"{1e3 * r['window_train_s'] / r['updates']:.1f})" for n, r in split) + "."]
    lines += ["", "## Wall time to a return of 475", ""]
    wt = record["wall_time"]
    if not wt.get("available"):
        lines.append(f"Not computed: {wt['reason']} ({wt['path']}). Rerun this script once "
                     "it exists.")
    else:
        seeds = ", ".join("never" if r is None else f"{r:,}"
                          for r in wt["seeds_first_reach_475_at_env_steps"])
        lines += [f"jwm's experiment `{wt['path']}` ({wt['seeds']} seeds of the recipe: "
                  f"{wt['experiment_search']}, {wt['experiment_simulations']} simulations; "
                  f"{wt['experiment_env_steps']:,} env steps in "
                  f"{wt['experiment_wall_time_s']:.0f} s, all seeds in one program, "
                  "compilation and evaluations included): the seed-mean evaluation return "
                  + ("first reaches 475 at "
                     f"**{wt['mean_reaches_475_at_env_steps']:,} env steps**"
                     if wt["mean_reaches_475_at_env_steps"] is not None else
                     f"**never reaches 475** (best {wt['best_mean_eval_return']:.0f}, final "
                     f"{wt['final_mean_eval_return']:.0f})")
                  + f"; each seed's first evaluation at >= 475: {seeds}.", "",
                  "| env steps | jwm, that experiment (s, pro rata) | jwm, 1 seed at this "
                  "run's recipe throughput (s) | "
                  + " | ".join(f"LightZero `{n}` (s)" for n in
                               (wt["references"][0]["lightzero_s"] if wt["references"]
                                else {})) + " |",
                  "|---|---:|---:|" + "---:|" * len(wt["references"][0]["lightzero_s"])]
        for ref in wt["references"]:
            lines.append(f"| {ref['env_steps']:,}: {ref['label']} | "
                         f"{ref.get('jwm_experiment_s', float('nan')):.0f} | "
                         f"{ref.get('jwm_recipe_training_s', float('nan')):.0f} | "
                         + " | ".join(f"{s:.0f} ({s / 3600:.2f} h)"
                                      for s in ref["lightzero_s"].values()) + " |")
        lines += ["", "LightZero's columns are the time it takes, at its measured rate, to "
                  "collect the row's env steps: a lower bound on its time to 475 "
                  "only if it needs at least as many env steps as jwm. LightZero's own sample "
                  "efficiency on CartPole-v1 is not measured here (a run to 475 does not fit "
                  "this CPU's time). jwm's experiment ran on the same loaded machine."]
    lines += ["", "## What is matched and what is not", ""] + _differences(record)
    lines += ["", "Command: `" + record["command"] + "`", ""]
    return "\n".join(lines)


def _differences(record: dict) -> list:
    jwm_params = {n: r["parameters"] for n, r in record["jwm"].items()}
    lz = {n: r for n, r in record["lightzero"].items() if "parameters" in r}
    lz_params = next((r["parameters"] for r in lz.values()), None)
    eff = next((r.get("effective_config") for r in lz.values()), None)
    lines = [
        "- **Matched**: search rule PUCT (jwm `search=\"puct\"`; LightZero's plain MuZero is "
        "PUCT; jwm's default Gumbel search is reported as well), simulations, batch 256, "
        "unroll 5, n-step / td_steps 5, 8 self-play envs, 0.25 updates of batch 256 per env "
        "step, reanalyse fraction (0, and 0.25 in its own pair), reward and value supports "
        "of 41 atoms on MuZero's h(x) scale (LightZero `support_scale` 300 -> 20), target "
        "network copied every 100 updates, CartPole-v1 (500-step limit) on both sides"
        + (f" (LightZero's gymnasium spec: {eff['gymnasium_max_episode_steps']} steps)"
           if eff else "") + ".",
        "- **Network (not exactly matchable)**: jwm: representation 4->128->64, dynamics "
        "(64+2)->128->64, reward (64+2)->128->41, value 64->128->41, policy 64->128->2; each "
        "hidden layer Dense + LayerNorm + SiLU; hidden states min-max scaled. LightZero "
        "`MuZeroModelMLP` with `latent_state_dim` 64 and head hidden widths [128]: its trunks "
        "are as wide as its latent (no separate width in its config), so representation "
        "4->64->64 (+ SimNorm), dynamics two 2-layer 64-wide MLPs with a residual connection, "
        "reward head 64->128->41, prediction two 64-wide common layers then value 64->128->41 "
        "and policy 64->128->2; BatchNorm, ReLU/GELU. Latent 128 (its shipped value) would "
        "make its trunks 128 wide, 4x jwm's dynamics FLOPs. Parameters: jwm "
        + ", ".join(f"`{n}` {p:,}" for n, p in jwm_params.items())
        + (f"; LightZero {lz_params['without_self_supervised']:,} without the consistency "
           f"projection (+{lz_params['self_supervised']:,} with it)"
           if lz_params and lz_params.get("self_supervised") else
           (f"; LightZero {lz_params['total']:,}" if lz_params else "")) + ".",
        "- **Consistency loss**: LightZero's shipped CartPole config turns on EfficientZero's "
        "self-supervised consistency loss (weight 2, projection 64->1024->1024->1024 and "
        "1024->512->1024). jwm's MuZero has none. Both are reported; the like-for-like pair "
        "runs LightZero without it (`self_supervised_learning_loss=False`, "
        "`ssl_loss_weight=0`).",
        "- **Replay**: jwm samples by priority (flashbax sum tree, exponents 1 and 1, "
        "priorities set after every update); LightZero's default samples uniformly "
        "(`use_priority=False`). Each keeps its default; jwm does the extra work.",
        "- **Collect granularity**: jwm steps 8 envs 5 steps then runs 10 updates; LightZero "
        "collects 8 whole episodes, then `int(0.25 * transitions)` updates (measured "
        "updates / env step in the runs table).",
        "- **Envs**: jwm steps gymnax CartPole-v1 inside the compiled program; LightZero steps 8 "
        "gymnasium envs in its process (`env_manager.type='base'`; its shipped 'subprocess' "
        "manager would start 9 worker processes on 2 cores).",
        "- **Evaluation** is outside both timings: jwm's per-iteration evaluation is one "
        "1-step episode; LightZero's `eval_freq` is set beyond the run (its one evaluation "
        "before training, 1 episode, is in its start-up).",
        "- **Threads**: JAX at its default (both cores). LightZero: torch threads as in the "
        "runs table, `OMP_NUM_THREADS` equal, `OMP_WAIT_POLICY=PASSIVE` (without it, with 2 "
        "threads on this loaded machine, a development run made 0.41 env steps/s instead of "
        "~7, shipped losses).",
        "- **Not affecting throughput, kept at each side's default**: optimizer (jwm AdamW "
        "lr 3e-3, weight decay 1e-4, clip 5; LightZero Adam lr 3e-3, L2 1e-4, clip 10), "
        "discount (0.99 / 0.997), action temperature (jwm 1 -> 0.5 -> 0.25 over the run; "
        "LightZero 0.25), Dirichlet alpha (0.25 / 0.3), loss weights. LightZero reanalyses "
        "with its target network, jwm with the current one (same cost).",
    ]
    if eff:
        lines.append("- LightZero's effective config (read back from its policy, first run): "
                     + ", ".join(f"{k}={v}" for k, v in eff.items() if k != "model")
                     + "; model " + ", ".join(f"{k}={v}" for k, v in eff["model"].items())
                     + ".")
    return lines


# ------------------------------------------------------------------------------ main

def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env-steps", type=int, default=3000,
                        help="env steps timed per run (jwm; LightZero without the "
                             "consistency loss)")
    parser.add_argument("--ssl-env-steps", type=int, default=1500,
                        help="env steps of LightZero with its shipped consistency loss")
    parser.add_argument("--reanalyse-env-steps", type=int, default=2000)
    parser.add_argument("--simulations", type=int, default=25)
    parser.add_argument("--eval-every", type=int, default=400,
                        help="jwm env steps per timed iteration (a multiple of 40)")
    parser.add_argument("--lightzero-python", default=LIGHTZERO_PYTHON)
    parser.add_argument("--lightzero-threads", type=int, default=2)
    parser.add_argument("--lightzero-timeout", type=float, default=900.0,
                        help="seconds per LightZero run")
    parser.add_argument("--no-single-thread", action="store_true",
                        help="skip the 1-thread LightZero run")
    parser.add_argument("--no-reanalyse", action="store_true")
    parser.add_argument("--no-lightzero", action="store_true")
    parser.add_argument("--jwm-runs", nargs="+", default=None, metavar="NAME",
                        help="the jwm runs to time (default: all of "
                             + ", ".join(_jwm_variants(25)) + ")")
    parser.add_argument("--experiment", default=EXPERIMENT)
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    parser.add_argument("--name", default="muzero")
    args = parser.parse_args(argv)
    unknown = set(args.jwm_runs or ()) - set(_jwm_variants(args.simulations))
    if unknown:
        parser.error(f"--jwm-runs: unknown run(s) {sorted(unknown)}")
    load_start = _load()
    started = time.perf_counter()

    # jwm: build, compile and warm up every run, then time half of each.
    iterations = max(2, math.ceil(args.env_steps / args.eval_every))
    iterations += iterations % 2
    runs = {}
    for name, (description, overrides) in _jwm_variants(args.simulations).items():
        if (name == "puct_reanalyse" and args.no_reanalyse) or (
                args.jwm_runs is not None and name not in args.jwm_runs):
            continue
        print(f"jwm {name}: compiling", flush=True)
        runs[name] = _JwmRun(name, description, overrides, args.eval_every, iterations)
    for run in runs.values():
        run.time(iterations // 2)
        print(f"jwm {run.name}: {run.slices[-1]['env_steps_per_s']:.1f} env steps/s", flush=True)

    absent = "--no-lightzero was given" if args.no_lightzero else \
        _lightzero_absent(args.lightzero_python)
    lightzero = {}
    if absent:
        print(f"LightZero not run: {absent}", flush=True)
    else:
        for name, (description, settings, steps, threads) in _lightzero_variants(
                args.simulations, args.env_steps, args.ssl_env_steps,
                args.reanalyse_env_steps, args.lightzero_threads, not args.no_single_thread,
                not args.no_reanalyse).items():
            print(f"LightZero {name}: {steps} env steps", flush=True)
            result = _run_lightzero(args.lightzero_python, settings, steps, threads,
                                    args.lightzero_timeout)
            result["description"] = description
            result.setdefault("settings", settings)
            lightzero[name] = result
            print(f"LightZero {name}: "
                  + (f"{result['env_steps_per_s']:.2f} env steps/s" if "env_steps_per_s"
                     in result else result["error"][-300:]), flush=True)

    for run in runs.values():
        run.time(iterations // 2)
        print(f"jwm {run.name}: {run.slices[-1]['env_steps_per_s']:.1f} env steps/s", flush=True)

    jwm_runs = {name: run.summary() for name, run in runs.items()}
    comparisons = _comparisons(jwm_runs, lightzero)
    split = _jwm_split(jwm_runs)
    headline = next((c for c in comparisons if c["jwm"] == "puct"
                     and c["lightzero"].startswith("no_ssl")), None)
    versions = next((r["versions"] for r in lightzero.values() if "versions" in r), {})
    record = {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "device": device_info(), "args": vars(args),
        "command": "python benchmarks/muzero.py " + " ".join(sys.argv[1:] if argv is None
                                                              else argv),
        "load_start": load_start, "load_end": _load(),
        "total_wall_s": time.perf_counter() - started,
        "lightzero_absent": absent, "lightzero_version": versions.get("lightzero"),
        "torch_version": versions.get("torch"),
        "jwm": jwm_runs, "lightzero": lightzero, "comparisons": comparisons,
        "headline": headline, "target_ratio": TARGET_RATIO, "jwm_split": split,
        "wall_time": _wall_time(args.experiment, jwm_runs, lightzero),
    }
    record["command"] = record["command"].strip()
    write_results(args.out, args.name, record, markdown(record))
    return record


if __name__ == "__main__":
    main()

"""iCEM against CEM at equal model calls: MPC return with the true model on gymnax
Pendulum-v1 and brax inverted_pendulum, at 1x, 1/2x and 1/4x CEM's samples per step.

A planner's budget is the number of action sequences it scores per plan step (each one
an H-step model rollout): CEM's is ``population * iterations + 1`` (the final mean is
scored once more), iCEM's is the sum of its shrinking draws, kept elites and final mean
(`jwm.planners.icem.icem_schedule`). At every fraction of CEM's budget, CEM runs with
its population scaled down, and iCEM with the largest first population whose whole
schedule fits in the same number of sequences. iCEM runs with the paper's red noise
(beta 2) and, on Pendulum, also with white noise (beta 0), which separates what the
colored noise does from what the kept elites, shrinking draws and best-sequence
execution do. Seeds are vmapped in one program per
(env, planner, fraction); both planners see the same start states (same keys), so
their returns are also compared seed by seed. Wall times are reported separately for
compiling and running.

    python experiments/icem_vs_cem.py                     # defaults: about 10 min on 2 CPU cores
    python experiments/icem_vs_cem.py --seeds 4 --skip-brax
    python experiments/icem_vs_cem.py --population 200 --fractions 1 0.5 0.25 0.125

Writes experiments/results/icem_vs_cem.json, its Markdown (`markdown`) and .png.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import jax
import numpy as np
from tqdm.auto import tqdm

import jwm
from jwm.planners.icem import icem, icem_schedule

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # results_io, beside this file
from results_io import num, table, write_result  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
ELITE_FRAC = 0.1


PLANNERS = {"cem": "CEM", "icem_beta2": "iCEM, β = 2", "icem_beta0": "iCEM, β = 0"}


def _cell(d) -> str:
    """A planner's mean return and, for iCEM, its paired difference from CEM."""
    if d is None:
        return "–"
    text = num(d["return"]["mean"])
    if "minus_cem_paired" in d:
        mp = d["minus_cem_paired"]
        text += f" ({'+' if mp['mean'] >= 0 else ''}{num(mp['mean'])} ± {num(mp['se'])})"
    return text


def markdown(result: dict) -> str:
    """Per task and fraction of CEM's budget, each planner's mean return over seeds and
    iCEM minus CEM paired by seed (fields ``envs.*.fractions``)."""
    rows = []
    for env in result["envs"].values():
        for i, fr in enumerate(env["fractions"]):
            task = f"{env['env']} (horizon {env['horizon']})" if i == 0 else ""
            cem_seq = (fr.get("cem") or {}).get("sequences_per_step", fr["budget"])
            rows.append([task, f"{num(fr['fraction'], 2)}× ({cem_seq})"]
                        + [_cell(fr.get(p)) for p in PLANNERS])
    return "\n".join([
        "iCEM (`jwm.planners.icem`: coloured noise along the horizon, elites kept and "
        "shifted, a shrinking population) against CEM with the true model, at equal "
        f"sequences scored per step, {result['seeds']} seeds. In brackets: iCEM minus CEM, "
        "paired by seed (± standard error).", "",
        table(["task", "budget (CEM's sequences per step)"] + list(PLANNERS.values()), rows)]) + "\n"


def cem_sequences(population: int, iterations: int) -> int:
    return population * iterations + 1


def icem_sequences(population: int, iterations: int, icem_kwargs: dict) -> int:
    elites = max(1, int(np.ceil(ELITE_FRAC * population - 1e-9)))
    kept = int(round(icem_kwargs["keep_elites_fraction"] * elites))
    return sum(c for _, c in icem_schedule(population, iterations,
                                           icem_kwargs["population_decay"], elites, kept))


def icem_population_for(budget: int, iterations: int, icem_kwargs: dict) -> int:
    """The largest first population whose whole iCEM schedule scores <= ``budget``."""
    best = 1
    for p in range(1, budget + 1):
        if icem_sequences(p, iterations, icem_kwargs) <= budget:
            best = p
    return best


def run_episodes(env, planner, keys, num_steps):
    """Returns, lengths and (compile, run) seconds of vmapped MPC episodes."""
    model = jwm.models.true_model(env)

    def episode(key):
        ep = jwm.agents.mpc_episode(env, model, planner, (), key, num_steps=num_steps)
        return ep.total_return, ep.length, ep.num_nonfinite.sum()

    start = time.perf_counter()
    compiled = jax.jit(jax.vmap(episode)).lower(keys).compile()
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    returns, lengths, nonfinite = jax.block_until_ready(compiled(keys))
    run_s = time.perf_counter() - start
    return (np.asarray(returns, np.float64), np.asarray(lengths), int(np.sum(nonfinite)),
            compile_s, run_s)


def summarise(returns) -> dict:
    r = np.asarray(returns, np.float64)
    return {"mean": float(r.mean()), "std": float(r.std()),
            "se": float(r.std(ddof=1) / np.sqrt(r.size)) if r.size > 1 else 0.0,
            "min": float(r.min()), "max": float(r.max())}


def plot(result: dict, path: str) -> None:
    """Top: return against sequences per step. Bottom: iCEM minus CEM, paired by seed
    (the start states differ far more than the planners, so pairing shrinks the error
    bars)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    envs = list(result["envs"])
    fig, axes = plt.subplots(2, len(envs), figsize=(5 * len(envs), 6.4), squeeze=False,
                             sharex="col")
    for col, env_key in enumerate(envs):
        entry = result["envs"][env_key]
        top, bottom = axes[0, col], axes[1, col]
        for i, name in enumerate(entry["planners"]):
            rows = [r[name] for r in entry["fractions"]]
            x = np.array([r["sequences_per_step"] for r in rows], float)
            x = x * (1 + 0.03 * (i - 1))
            label = "CEM" if name == "cem" else f"iCEM, beta {name[len('icem_beta'):]}"
            top.errorbar(x, [r["return"]["mean"] for r in rows],
                         yerr=[r["return"]["se"] for r in rows], marker="o", capsize=3,
                         label=label, color=f"C{i}")
            if name != "cem":
                bottom.errorbar(x, [r["minus_cem_paired"]["mean"] for r in rows],
                                yerr=[r["minus_cem_paired"]["se"] for r in rows], marker="o",
                                capsize=3, label=label, color=f"C{i}")
        bottom.axhline(0.0, color="k", lw=0.8)
        top.set_xscale("log", base=2)
        top.set_ylabel(f"episode return (mean ± SE, {result['seeds']} seeds)", fontsize=9)
        top.set_title(f"{entry['env']} (true model, H={entry['horizon']}, "
                      f"{entry['iterations']} iterations)", fontsize=10)
        top.legend(fontsize=8)
        bottom.set_xlabel("sequences scored per plan step")
        bottom.set_ylabel("iCEM − CEM, paired by seed", fontsize=9)
        bottom.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=16, help="episodes per setting (vmapped)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fractions", type=float, nargs="+", default=[1.0, 0.5, 0.25],
                        help="fractions of CEM's budget")
    parser.add_argument("--horizon", type=int, default=30, help="Pendulum plan length")
    parser.add_argument("--population", type=int, default=40, help="Pendulum: CEM's at 1x")
    parser.add_argument("--iterations", type=int, default=5, help="both planners")
    parser.add_argument("--steps", type=int, default=200, help="Pendulum episode length")
    parser.add_argument("--brax-horizon", type=int, default=10)
    parser.add_argument("--brax-population", type=int, default=32, help="CEM's at 1x")
    parser.add_argument("--brax-iterations", type=int, default=3)
    parser.add_argument("--brax-steps", type=int, default=200, help="brax time limit")
    parser.add_argument("--brax-backend", default="spring",
                        help="brax pipeline ('spring' is the cheapest on CPU)")
    parser.add_argument("--skip-brax", action="store_true")
    parser.add_argument("--pendulum-betas", type=float, nargs="+", default=[2.0, 0.0],
                        help="iCEM noise exponents run on Pendulum")
    parser.add_argument("--brax-betas", type=float, nargs="+", default=[2.0],
                        help="iCEM noise exponents run on brax")
    parser.add_argument("--keep-elites", type=float, default=0.3)
    parser.add_argument("--decay", type=float, default=1.25)
    parser.add_argument("--out", default=os.path.join(RESULTS, "icem_vs_cem.json"))
    args = parser.parse_args(argv)
    if args.seeds < 2 or min(args.fractions) <= 0:
        parser.error("--seeds must be >= 2 and --fractions > 0")
    icem_kwargs = dict(keep_elites_fraction=args.keep_elites, population_decay=args.decay)

    settings = [("pendulum", "gymnax:Pendulum-v1", {}, args.horizon, args.population,
                 args.iterations, args.steps, args.pendulum_betas)]
    if not args.skip_brax:
        settings.append(("inverted_pendulum", "brax:inverted_pendulum",
                         {"backend": args.brax_backend, "max_episode_steps": args.brax_steps},
                         args.brax_horizon, args.brax_population, args.brax_iterations,
                         args.brax_steps, args.brax_betas))
    keys = jax.random.split(jax.random.key(args.seed), args.seeds)
    result = {"experiment": "iCEM vs CEM at equal model calls, true model",
              "seeds": args.seeds, "elite_frac": ELITE_FRAC, "icem": icem_kwargs,
              "icem_other": {"alpha": 0.1, "return_mode": "best", "reset_std": True},
              "cem_other": {"alpha": 0.0, "return_mode": "mean"},
              "device": f"{jax.devices()[0].platform}: {jax.devices()[0].device_kind}, "
                        f"{os.cpu_count()} cores",
              "jax": jax.__version__, "envs": {}}
    jobs = [(s, f, name) for s in settings for f in args.fractions
            for name in ["cem"] + [f"icem_beta{b:g}" for b in s[-1]]]
    bar = tqdm(jobs, desc="runs")
    start_all = time.perf_counter()
    for (key_name, env_name, env_kwargs, horizon, population, iterations, steps, betas), \
            fraction, name in bar:
        bar.set_postfix_str(f"{key_name} {name} {fraction:g}x")
        env = jwm.envs.make(env_name, **env_kwargs)
        model = jwm.models.true_model(env)
        entry = result["envs"].setdefault(key_name, {
            "env": env_name, "env_kwargs": env_kwargs, "horizon": horizon,
            "iterations": iterations, "episode_steps": steps,
            "cem_budget_1x": cem_sequences(population, iterations),
            "planners": ["cem"] + [f"icem_beta{b:g}" for b in betas], "fractions": []})
        budget = int(round(fraction * cem_sequences(population, iterations)))
        if name == "cem":
            pop = max(1, int(round(fraction * population)))
            planner = jwm.planners.cem(model, env.action_space, horizon=horizon, population=pop,
                                       iterations=iterations, elite_frac=ELITE_FRAC)
            used = cem_sequences(pop, iterations)
            entry["fractions"].append({"fraction": fraction, "budget": budget})
        else:
            pop = icem_population_for(budget, iterations, icem_kwargs)
            beta = float(name[len("icem_beta"):])
            planner = icem(model, env.action_space, horizon=horizon, population=pop,
                           iterations=iterations, elite_frac=ELITE_FRAC, noise_beta=beta,
                           **icem_kwargs)
            used = icem_sequences(pop, iterations, icem_kwargs)
        returns, lengths, nonfinite, compile_s, run_s = run_episodes(env, planner, keys, steps)
        entry["fractions"][-1][name] = {
            "population": pop, "sequences_per_step": used,
            "model_steps_per_plan_step": used * horizon, "returns": returns.tolist(),
            "lengths": lengths.tolist(), "return": summarise(returns),
            "num_nonfinite": nonfinite, "compile_s": compile_s, "run_s": run_s,
            "run_ms_per_env_step_all_seeds": 1e3 * run_s / steps}
        row = entry["fractions"][-1]
        if name != "cem":
            diff = np.asarray(row[name]["returns"]) - np.asarray(row["cem"]["returns"])
            row[name]["minus_cem_paired"] = summarise(diff)
        tqdm.write(f"{env_name:24s} {fraction:>5g}x {name:12s} return "
                   f"{row[name]['return']['mean']:9.2f} ± {row[name]['return']['se']:.2f} "
                   f"(pop {pop}, {used} seq/step; compile {compile_s:.0f} s, run {run_s:.1f} s)"
                   + ("" if name == "cem" else
                      f"  paired vs CEM {row[name]['minus_cem_paired']['mean']:+.2f} ± "
                      f"{row[name]['minus_cem_paired']['se']:.2f}"))
    result["wall_time_s"] = time.perf_counter() - start_all
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    write_result(args.out, result, markdown)
    png = os.path.splitext(args.out)[0] + ".png"
    plot(result, png)
    print(f"wrote {args.out} and {png} ({result['wall_time_s']:.0f} s)")
    return result


if __name__ == "__main__":
    main()

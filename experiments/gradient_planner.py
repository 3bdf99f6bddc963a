"""The gradient planner (Adam through the model) against CEM: an LQR problem with a
known optimum, then MPC on gymnax Pendulum-v1 with the true model, from random starts
and from hanging down, where gradients meet local optima.

1. LQR: a double integrator with quadratic cost. The finite-horizon optimum comes from
   a backward Riccati recursion in NumPy; the planners' first action and planned
   return are compared with it (only starts whose optimal controls stay inside the
   bounds, so that the unconstrained Riccati solution is the constrained one).
2. Pendulum, random starts: episode return over seeds (vmapped, same start states for
   every planner) and the wall time of one jitted plan call.
3. Pendulum, hanging start (theta = pi + small noise, at rest): how often each planner
   swings the pendulum up and holds it (every one of the last 20 steps with
   ``angle**2 + 0.1 * speed**2 < 0.1``, i.e. within about 18 degrees of upright), and
   from which step on it stays there: a planner caught in a local optimum either never
   gets up or needs extra swings.

    python experiments/gradient_planner.py                 # defaults: a few minutes on 2 CPU cores
    python experiments/gradient_planner.py --seeds 8 --hanging-seeds 16

Writes experiments/results/gradient_planner.json, its Markdown (`markdown`) and .png.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

import jwm
from jwm.eval.lqr import DOUBLE_INTEGRATOR, lqr_optimum
from jwm.eval.lqr import lqr_model as linear_quadratic
from jwm.planners.cem_gd import cem_gd
from jwm.planners.gradient import gradient
from jwm.spaces import Box

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # results_io, beside this file
from results_io import num, pct, table, write_result  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def _label(key: str) -> str:
    if key.startswith("gradient_r"):
        return key.replace("gradient_r", "gradient, ") + " restart(s)"
    return {"cem": "CEM", "cem_gd": "CEM-GD (gradient-refined elites)"}.get(key, key)


def markdown(result: dict) -> str:
    """The LQR check (worst first-action error and return gap per planner, ``lqr``),
    then per planner on Pendulum its return from random starts, how often it holds the
    pendulum upright from hanging, and its time per plan (``pendulum``)."""
    by = {}
    for row in result["lqr"]:
        by.setdefault(row["planner"], []).append(row)
    lqr = [f"{pl}: first action within {max(x['first_action_abs_error'] for x in rows):.1e}, "
           f"return gap within {max(abs(x['return_relative_gap']) for x in rows):.1e} (relative)"
           for pl, rows in by.items()]
    rows = []
    hanging = result["pendulum"]["hanging_start"]
    for key, d in result["pendulum"]["random_start"].items():
        h = hanging.get(key, {})
        upright = pct(h.get("swing_up_rate"), 0)
        if h.get("median_steps_to_stay_upright") is not None:
            upright += f", from step {num(h['median_steps_to_stay_upright'])} (median)"
        rows.append([_label(key), f"{num(d['return']['mean'])} ± {num(d['return']['se'])}",
                     upright, num(d.get("plan_ms"), 2)])
    return "\n".join([
        "Gradient shooting (`jwm.planners.gradient`: Adam through `model.step`, projected to "
        "the bounds, vmapped restarts) against a Riccati recursion on linear models "
        f"({len(result['lqr'])} cases, worst case): " + "; ".join(lqr) + ".", "",
        "On Pendulum with the true model:", "",
        table(["planner", "return from random starts (± s.e.)",
               "hanging start: upright at the end", "ms per plan"], rows,
              ["---", "---:", "---", "---:"])]) + "\n"


# LQR: the double integrator of jwm.eval.lqr, as in tests/test_gradient_planner.py.
LQR_STARTS = [(0.3, -0.2), (-0.5, 0.4), (0.4, 0.3), (-0.2, -0.5), (0.6, -0.6), (0.8, 0.0)]
LQR_HORIZONS = [8, 20]
SPACE = Box(-1.0, 1.0, (1,))


def lqr_model():
    return linear_quadratic(**DOUBLE_INTEGRATOR)


def riccati(horizon, x0):
    """Optimal controls ``[H]`` and optimal return from ``x0`` (no terminal cost)."""
    actions, best = lqr_optimum(**DOUBLE_INTEGRATOR, horizon=horizon, x0=x0)
    return actions[:, 0], best


def lqr_planners(horizon, args):
    model = lqr_model()
    return {
        "gradient": gradient(model, SPACE, horizon=horizon, iterations=args.lqr_iterations,
                             learning_rate=0.05, restarts=4),
        "cem": jwm.planners.cem(model, SPACE, horizon=horizon, population=400, iterations=12),
        "cem_gd": cem_gd(model, SPACE, horizon=horizon, population=64, iterations=4,
                         num_elites=4, refine_steps=20, refine_lr=0.05),
    }


def lqr_check(args) -> list[dict]:
    rows = []
    for horizon in LQR_HORIZONS:
        for name, planner in lqr_planners(horizon, args).items():
            plan = jax.jit(planner.plan)
            for x0 in LQR_STARTS:
                us, best = riccati(horizon, x0)
                if np.abs(us).max() >= 1.0:
                    continue  # the bounds bind: Riccati is not the constrained optimum
                action, _, info = plan(planner.init(None), (), jnp.asarray(x0, jnp.float32),
                                       jax.random.key(args.seed))
                rows.append({"planner": name, "horizon": horizon, "x0": list(x0),
                             "first_action": float(action[0]), "riccati_first_action": us[0],
                             "first_action_abs_error": abs(float(action[0]) - us[0]),
                             "return": float(info.predicted_return), "riccati_return": best,
                             "return_relative_gap": (best - float(info.predicted_return))
                             / abs(best)})
    return rows


def hanging(env):
    """``env`` whose episodes start hanging down at rest, with a little noise."""

    def reset(key):
        state, _ = env.reset(key)
        k_angle, k_speed = jax.random.split(key)
        state = state.replace(
            theta=jnp.pi + 0.1 * jax.random.uniform(k_angle, minval=-1.0, maxval=1.0),
            theta_dot=0.1 * jax.random.uniform(k_speed, minval=-1.0, maxval=1.0))
        return state, env.observe(state)

    return dataclasses.replace(env, reset=reset)


def pendulum_planners(model, space, args) -> dict:
    h = args.horizon
    planners = {"cem": jwm.planners.cem(model, space, horizon=h, population=args.cem_population,
                                        iterations=args.cem_iterations)}
    for restarts in args.restarts:
        planners[f"gradient_r{restarts}"] = gradient(
            model, space, horizon=h, iterations=args.iterations, restarts=restarts,
            learning_rate=args.learning_rate)
    planners["cem_gd"] = cem_gd(model, space, horizon=h, population=args.cem_gd_population,
                                iterations=args.cem_iterations, refine_steps=args.refine_steps,
                                refine_lr=args.learning_rate)
    return planners


def episodes(env, model, planner, keys, steps):
    def one(key):
        ep = jwm.agents.mpc_episode(env, model, planner, (), key, num_steps=steps)
        return ep.total_return, ep.rewards, ep.num_nonfinite.sum()

    start = time.perf_counter()
    returns, rewards, nonfinite = jax.block_until_ready(jax.jit(jax.vmap(one))(keys))
    return (np.asarray(returns, np.float64), np.asarray(rewards), int(np.sum(nonfinite)),
            time.perf_counter() - start)


def plan_time_ms(env, model, planner, key, repeats: int) -> float:
    """Median wall time of one jitted plan call from a reset state (compiled first)."""
    state, _ = env.reset(key)
    latent = model.encode((), state)
    plan = jax.jit(planner.plan)
    plan_state = planner.init(None)
    jax.block_until_ready(plan(plan_state, (), latent, key))
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(plan(plan_state, (), latent, jax.random.fold_in(key, i)))
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def summarise(returns) -> dict:
    r = np.asarray(returns, np.float64)
    return {"mean": float(r.mean()), "std": float(r.std()),
            "se": float(r.std(ddof=1) / np.sqrt(r.size)), "min": float(r.min()),
            "max": float(r.max())}


def plot(result: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    lqr = result["lqr"]
    names = sorted({r["planner"] for r in lqr})
    for i, name in enumerate(names):
        gaps = [max(r["return_relative_gap"], 1e-7) for r in lqr if r["planner"] == name]
        errs = [max(r["first_action_abs_error"], 1e-7) for r in lqr if r["planner"] == name]
        axes[0].scatter(np.full(len(gaps), i - 0.1), gaps, color="C0",
                        label="relative return gap" if i == 0 else None)
        axes[0].scatter(np.full(len(errs), i + 0.1), errs, color="C3", marker="x",
                        label="|first action - optimal|" if i == 0 else None)
    axes[0].set_yscale("log")
    axes[0].set_xticks(range(len(names)), names)
    axes[0].set_title("LQR vs Riccati optimum (horizons 8, 20; floored at 1e-7)",
                      fontsize=10)
    axes[0].legend(fontsize=8)
    for ax, part, title in ((axes[1], "random_start", "Pendulum-v1, random starts"),
                            (axes[2], "hanging_start", "Pendulum-v1, hanging start")):
        rows = result["pendulum"][part]
        labels = list(rows)
        for i, name in enumerate(labels):
            r = rows[name]["returns"]
            ax.scatter(np.full(len(r), i), r, alpha=0.5, color="C0", s=12)
            ax.hlines(np.mean(r), i - 0.3, i + 0.3, color="C3")
            settle = rows[name]["median_steps_to_stay_upright"]
            extra = (f"{rows[name]['plan_ms']:.1f} ms/plan" if part == "random_start"
                     else f"{100 * rows[name]['swing_up_rate']:.0f}% up"
                     + ("" if settle is None else f", step {settle:.0f}"))
            ax.annotate(extra, (i, max(r)),
                        textcoords="offset points", xytext=(0, 6), ha="center", fontsize=8)
        low, high = ax.get_ylim()
        ax.set_ylim(low, high + 0.1 * (high - low))  # room for the annotations
        ax.set_xticks(range(len(labels)), labels, rotation=20, fontsize=8)
        ax.set_ylabel("episode return")
        ax.set_title(f"{title} ({len(rows[labels[0]]['returns'])} seeds; red: mean)",
                     fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=16, help="random-start episodes")
    parser.add_argument("--hanging-seeds", type=int, default=32, help="hanging-start episodes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=200, help="episode length")
    parser.add_argument("--horizon", type=int, default=30)
    parser.add_argument("--iterations", type=int, default=20, help="Adam steps per plan call")
    parser.add_argument("--learning-rate", type=float, default=0.1,
                        help="Adam step, in half-ranges of the action box")
    parser.add_argument("--restarts", type=int, nargs="+", default=[1, 8, 32],
                        help="gradient planners to run, by number of restarts")
    parser.add_argument("--cem-population", type=int, default=500)
    parser.add_argument("--cem-iterations", type=int, default=5)
    parser.add_argument("--cem-gd-population", type=int, default=100)
    parser.add_argument("--refine-steps", type=int, default=5, help="CEM-GD Adam steps")
    parser.add_argument("--lqr-iterations", type=int, default=300)
    parser.add_argument("--timing-repeats", type=int, default=30)
    parser.add_argument("--out", default=os.path.join(RESULTS, "gradient_planner.json"))
    args = parser.parse_args(argv)
    if args.seeds < 2 or args.hanging_seeds < 2:
        parser.error("--seeds and --hanging-seeds must be >= 2")

    start_all = time.perf_counter()
    result = {"experiment": "gradient planner vs CEM, true model",
              "config": {k: v for k, v in vars(args).items() if k != "out"},
              "device": f"{jax.devices()[0].platform}: {jax.devices()[0].device_kind}, "
                        f"{os.cpu_count()} cores", "jax": jax.__version__}
    with tqdm(total=1, desc="LQR check") as bar:
        result["lqr"] = lqr_check(args)
        bar.update(1)
    for name in sorted({r["planner"] for r in result["lqr"]}):
        rows = [r for r in result["lqr"] if r["planner"] == name]
        tqdm.write(f"LQR {name:9s} max |first action error| "
                   f"{max(r['first_action_abs_error'] for r in rows):.2e}, max relative return "
                   f"gap {max(r['return_relative_gap'] for r in rows):.2e} over {len(rows)} cases")

    env = jwm.envs.make("gymnax:Pendulum-v1")
    model = jwm.models.true_model(env)
    planners = pendulum_planners(model, env.action_space, args)
    result["pendulum"] = {"random_start": {}, "hanging_start": {}}
    parts = [("random_start", env, args.seeds), ("hanging_start", hanging(env),
                                                args.hanging_seeds)]
    jobs = [(i, part, e, n, name) for i, (part, e, n) in enumerate(parts) for name in planners]
    for i, part, part_env, n, name in tqdm(jobs, desc="Pendulum episodes"):
        # The same start states for every planner within a part.
        keys = jax.random.split(jax.random.fold_in(jax.random.key(args.seed), i), n)
        returns, rewards, nonfinite, wall = episodes(part_env, model, planners[name], keys,
                                                     args.steps)
        row = {"returns": returns.tolist(), "return": summarise(returns),
               "num_nonfinite": nonfinite, "episodes_wall_s_with_compile": wall}
        # Upright and still for the last 20 steps: cost = angle^2 + 0.1 speed^2 + ... < 0.1.
        near = -rewards < 0.1
        upright = near[:, -20:].all(axis=1)
        row["swing_up_rate"] = float(upright.mean())
        # From which step on it stays upright to the end (swung-up episodes only).
        held = np.flip(np.cumprod(np.flip(near, axis=1), axis=1), axis=1).astype(bool)
        settle = np.argmax(held, axis=1)[upright]
        row["steps_to_stay_upright"] = settle.tolist()
        row["median_steps_to_stay_upright"] = (float(np.median(settle)) if settle.size
                                               else None)
        if part == "random_start":
            row["plan_ms"] = plan_time_ms(env, model, planners[name], keys[0],
                                          args.timing_repeats)
        result["pendulum"][part][name] = row
        tqdm.write(f"{part:13s} {name:12s} return {row['return']['mean']:8.1f} ± "
                   f"{row['return']['se']:5.1f}  upright at the end "
                   f"{100 * row['swing_up_rate']:5.1f}% (median step "
                   f"{row['median_steps_to_stay_upright']})"
                   + (f"  plan {row['plan_ms']:.2f} ms/step" if "plan_ms" in row else ""))
    result["wall_time_s"] = time.perf_counter() - start_all
    write_result(args.out, result, markdown)
    png = os.path.splitext(args.out)[0] + ".png"
    plot(result, png)
    print(f"wrote {args.out} and {png} ({result['wall_time_s']:.0f} s)")
    return result


if __name__ == "__main__":
    main()

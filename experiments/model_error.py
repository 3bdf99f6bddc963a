"""Model error vs horizon: how open-loop prediction error compounds (simulation lemma).

Per seed: collect training episodes (uniformly random actions, plus episodes that hold
each random action for several steps, which swing the system further from rest),
train a deterministic MLP and a probabilistic ensemble on them with
`jwm.models.fit`, and measure on held-out episodes the open-loop ``k``-step error of
each model for ``k = 1..H`` with `jwm.eval.multistep_error`: the state error (Euclidean
distance between the predicted and real observation ``k`` steps after the start) and
the return error (``|predicted - real|`` undiscounted ``k``-step return). The ensemble
is evaluated with two propagations of the same weights: TS-inf (20 particles, the
prediction is their mean) and expectation (every step moves to the mean of the members'
means). A no-change baseline (predict ``o_{t+k} = o_t``) puts the state errors in scale.
`jwm.eval.fit_growth` fits a power law and an exponential to each mean curve.

Writes ``experiments/results/model_error_<env>.json``, its Markdown (`markdown`) and a
PNG beside it.

    python experiments/model_error.py                       # Pendulum, 5 seeds
    python experiments/model_error.py --seeds 5 --horizon 50 --epochs 100
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

import jwm
from jwm.device import device_name
from jwm.eval import fit_growth, multistep_error

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # results_io, beside this file
from results_io import mean, num, ratio, table, write_result  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
MODELS = ("mlp", "ensemble_ts_inf", "ensemble_expectation")
LABELS = {"mlp": "deterministic MLP", "ensemble_ts_inf": "PE ensemble, TS-inf (20 particles)",
          "ensemble_expectation": "PE ensemble, expectation",
          "no_change": "no-change baseline (o_t)"}


def held_random_planner(action_space, hold: int) -> jwm.Planner:
    """Uniformly random actions, each held for ``hold`` steps (wider state coverage)."""

    def init(key):
        return action_space.sample(key), jnp.zeros((), jnp.int32)

    def plan(state, params, latent, key):
        del params, latent
        action, count = state
        fresh = action_space.sample(key)
        action = jnp.where(count % hold == 0, fresh, action)
        return action, (action, count + 1), ()

    return jwm.Planner(init=init, plan=plan)


def collect(env, key, random_episodes: int, held_episodes: int, hold: int, steps: int):
    """``[random_episodes + held_episodes]`` stacked `Episode`s."""
    truth = jwm.models.true_model(env)  # the planners ignore the model
    run = lambda planner, k: jwm.agents.mpc_episode(env, truth, planner, (), k, num_steps=steps)
    k_rand, k_held = jax.random.split(key)
    parts = []
    if random_episodes:
        planner = jwm.agents.random_planner(env.action_space)
        parts.append(jax.vmap(lambda k: run(planner, k))(jax.random.split(k_rand, random_episodes)))
    if held_episodes:
        planner = held_random_planner(env.action_space, hold)
        parts.append(jax.vmap(lambda k: run(planner, k))(jax.random.split(k_held, held_episodes)))
    return jax.tree.map(lambda *xs: jnp.concatenate(xs), *parts)


def build(env, args):
    obs_space, act_space = env.observation_space, env.action_space
    mlp = jwm.models.mlp_model(obs_space, act_space, hidden_sizes=(args.width,) * 3)
    ens = dict(ensemble_size=args.ensemble_size, hidden_sizes=(args.width,) * 3)
    ts_inf = jwm.models.ensemble_model(obs_space, act_space, propagation="ts_inf",
                                       particles=args.particles, **ens)
    # Same weights; every particle is identical under "expectation", so one suffices.
    expectation = jwm.models.ensemble_model(obs_space, act_space, propagation="expectation",
                                            particles=1, **ens)
    return mlp, ts_inf, expectation


def make_seed_run(env, args):
    mlp, ts_inf, expectation = build(env, args)
    steps = args.steps or env.max_episode_steps
    fit_options = dict(epochs=args.epochs, batch_size=args.batch_size)
    half = args.test_episodes // 2

    def hold_still():
        return jwm.WorldModel(init=lambda k: (), encode=lambda p, o: o,
                              step=lambda p, x, a, k: (x, jnp.zeros(()), jnp.ones(())))

    def run(key):
        k_train, k_test, k_mlp, k_ens, k_fit1, k_fit2, k_eval = jax.random.split(key, 7)
        train = collect(env, k_train, args.train_episodes, args.policy_episodes, args.hold, steps)
        test = collect(env, k_test, args.test_episodes - half, half, args.hold, steps)
        data = jwm.agents.episode_transitions(train)
        data = jax.tree.map(lambda x: x.reshape((-1,) + x.shape[2:]), data)
        p_mlp, info_mlp = jwm.models.fit(mlp, mlp.init(k_mlp), data, k_fit1, **fit_options)
        p_ens, info_ens = jwm.models.fit(ts_inf, ts_inf.init(k_ens), data, k_fit2, **fit_options)
        evaluate = lambda model, params, **kw: multistep_error(
            model, params, test.observations, test.actions, test.rewards,
            next_observations=test.next_observations, active=test.active,
            horizon=args.horizon, key=k_eval, **kw)
        curves = {"mlp": evaluate(mlp, p_mlp), "ensemble_ts_inf": evaluate(ts_inf, p_ens),
                  "ensemble_expectation": evaluate(expectation, p_ens),
                  "no_change": evaluate(hold_still(), (), decode=_identity)}
        curves = {k: (v.state_error, v.return_error) for k, v in curves.items()}
        val = {"mlp": info_mlp.best_val_error.mean(), "ensemble": info_ens.best_val_error.mean()}
        return curves, val, data.valid.sum()

    return jax.jit(run)


def _identity(x):
    return x


def derive(record: dict) -> dict:
    """Adds ``fits`` (power law and exponential, mean curve and per seed) and
    ``summary`` (k=1 and k=H means, local log-log slopes) computed from ``curves``."""
    k = np.asarray(record["k"], np.float64)
    h = len(k)
    thirds = sorted({1, max(1, h // 6), max(1, h // 2), h})
    fits, summary = {}, {}
    for m, by_metric in record["curves"].items():
        summary[m] = {}
        if m in MODELS:
            fits[m] = {}
        for metric, curves in by_metric.items():
            curves = np.asarray(curves)
            mean = curves.mean(0)
            if m in MODELS:
                fits[m][metric] = fit_growth(k, mean).as_dict()
                fits[m][metric + "_per_seed"] = [fit_growth(k, c).as_dict() for c in curves]
            # d log err / d log k between successive checkpoints: 1 is linear growth,
            # a rising slope is faster than any single power law.
            slopes = {f"{a}-{b}": float(np.log(mean[b - 1] / mean[a - 1]) / np.log(b / a))
                      for a, b in zip(thirds[:-1], thirds[1:])}
            summary[m][metric] = {"k1_mean": float(mean[0]), "kH_mean": float(mean[-1]),
                                  "ratio_kH_over_k1": float(mean[-1] / mean[0]),
                                  "local_loglog_slope": slopes}
    record["fits"], record["summary"] = fits, summary
    return record


def _row(key: str, s: dict, fit) -> list:
    st, ret = s["state_error"], s.get("return_error")
    return [LABELS.get(key, key),
            f"{num(st['k1_mean'], 4)} → {num(st['kH_mean'], 3)} ({ratio(st['ratio_kH_over_k1'], 0)})",
            (f"{num(ret['k1_mean'], 3)} → {num(ret['kH_mean'], 2)} "
             f"({ratio(ret['ratio_kH_over_k1'], 0)})" if ret else "–"),
            (f"∝ k^{num(fit['power_b'], 2)} (R² {num(fit['power_r2'], 2)}); exponential "
             f"R² {num(fit['exp_r2'], 2)}" if fit else "–"),
            ", ".join(f"{rng}: {num(v, 2)}"
                      for rng, v in st.get("local_loglog_slope", {}).items())]


def markdown(record: dict) -> str:
    """Per model, the state and return error at k = 1 and k = H (``summary``), the fits
    of the state error's growth (``fits``), and where the ensemble falls behind the MLP
    (``curves``)."""
    c = record["config"]
    rows = [_row(key, s, (record["fits"].get(key) or {}).get("state_error"))
            for key, s in record["summary"].items()]
    out = ["A model's small one-step error compounds over an open-loop rollout; "
           "`jwm.eval.multistep_error` measures it. From every start in held-out "
           f"{record['env']} trajectories, the model is stepped through the real actions for "
           f"k = 1..{c['horizon']} steps and compared with the real observation and the real "
           f"k-step return. The models were trained on {num(c['train_transitions'])} "
           f"transitions ({len(c['mlp_hidden'])} × {c['mlp_hidden'][0]} units; the ensemble "
           f"has {c['ensemble_size']} members and {c['particles']} particles), "
           f"{record['seeds']} seeds.", "",
           table(["model", "state error k=1 → k=H", "return error k=1 → k=H",
                  "fit of the state error", "local log-log slope of the state error"], rows,
                 ["---"] * 5)]
    mlp, ens = ([mean(col) for col in zip(*record["curves"][m]["state_error"])]
                for m in ("mlp", "ensemble_ts_inf"))
    cross = next((k for k, a, b in zip(record["k"], mlp, ens) if b > a), None)
    if cross is not None and ens[0] < mlp[0]:
        out += ["", "The ensemble is better at one step but falls behind the MLP from "
                f"k = {cross} on."]
    return "\n".join(out) + "\n"


def plot(record: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    h = record["config"]["horizon"]
    k = np.arange(1, h + 1)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    styles = {"mlp": ("C0", "-", 1.8), "ensemble_ts_inf": ("C1", "-", 2.6),
              "ensemble_expectation": ("C2", (0, (4, 2)), 1.6), "no_change": ("0.5", "--", 1.4)}
    titles = (r"state error $\|\hat o_{t+k} - o_{t+k}\|_2$",
              r"return error $|\hat R_k - R_k|$, $R_k = r_t + \dots + r_{t+k-1}$")
    for ax, metric, title in ((axes[0], "state_error", titles[0]),
                              (axes[1], "return_error", titles[1])):
        for name, (color, ls, lw) in styles.items():
            if metric not in record["curves"][name]:
                continue  # the no-change baseline predicts no rewards
            curves = np.asarray(record["curves"][name][metric])  # [seeds, H]
            mean = curves.mean(0)
            label = LABELS[name]
            if name != "no_change":
                g = record["fits"][name][metric]
                label += (f"\n  fits: $\\propto k^{{{g['power_b']:.2f}}}$ (R²={g['power_r2']:.2f}), "
                          f"$\\propto e^{{{g['exp_c']:.3f}k}}$ (R²={g['exp_r2']:.2f})")
            ax.plot(k, mean, color=color, ls=ls, lw=lw, label=label)
            if curves.shape[0] > 1:
                ax.fill_between(k, curves.min(0), curves.max(0), color=color, alpha=0.18, lw=0)
        ax.set_yscale("log")
        plain = matplotlib.ticker.FuncFormatter(lambda y, _: f"{y:g}")
        ax.yaxis.set_major_formatter(plain)
        ax.set_xlabel("prediction horizon k (open loop, real actions)")
        ax.set_title(title, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    cfg = record["config"]
    fig.suptitle(f"Open-loop model error vs horizon on {record['env']} — mean over "
                 f"{record['seeds']} seed{'s' if record['seeds'] > 1 else ''} (band: min–max); trained on "
                 f"{cfg['train_transitions']} transitions, {cfg['epochs']} epochs",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="gymnax:Pendulum-v1")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0, help="base PRNG seed")
    parser.add_argument("--horizon", type=int, default=30)
    parser.add_argument("--train-episodes", type=int, default=16,
                        help="training episodes of uniformly random actions")
    parser.add_argument("--policy-episodes", type=int, default=8,
                        help="extra training episodes holding each random action --hold steps")
    parser.add_argument("--hold", type=int, default=10)
    parser.add_argument("--test-episodes", type=int, default=8,
                        help="held-out episodes (half random, half held-random)")
    parser.add_argument("--steps", type=int, default=None, help="steps per episode "
                        "(default the env's time limit)")
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--width", type=int, default=200)
    parser.add_argument("--ensemble-size", type=int, default=5)
    parser.add_argument("--particles", type=int, default=20)
    parser.add_argument("--plot-only", action="store_true",
                        help="redraw the PNG from an existing JSON, run nothing")
    args = parser.parse_args(argv)
    os.makedirs(RESULTS, exist_ok=True)
    env_tag = args.env.split(":")[-1].lower().replace("-", "_")
    path = os.path.join(RESULTS, f"model_error_{env_tag}.json")
    if args.plot_only:
        with open(path) as f:
            record = derive(json.load(f))
        write_result(path, record, markdown)
        plot(record, path[:-5] + ".png")
        report(record)
        return

    env = jwm.envs.make(args.env)
    run = make_seed_run(env, args)
    start = time.perf_counter()
    per_seed, vals, n_train = [], [], None
    for i in range(args.seeds):
        t0 = time.perf_counter()
        curves, val, n_train = jax.block_until_ready(run(jax.random.key(args.seed + i)))
        per_seed.append(jax.tree.map(np.asarray, curves))
        vals.append({k: float(v) for k, v in val.items()})
        print(f"seed {i}: {time.perf_counter() - t0:.1f} s  " + "  ".join(
            f"{m}: 1-step {c[0][0]:.4f} / {args.horizon}-step {c[0][-1]:.3f}"
            for m, c in curves.items()), flush=True)
    wall = time.perf_counter() - start

    names = list(MODELS) + ["no_change"]
    record_curves = {m: {"state_error": [s[m][0].tolist() for s in per_seed],
                         "return_error": [s[m][1].tolist() for s in per_seed]}
                     for m in names}
    del record_curves["no_change"]["return_error"]  # it predicts no rewards at all
    config = {k_: v for k_, v in vars(args).items() if k_ not in ("env", "seeds", "plot_only")}
    config.update(steps=args.steps or env.max_episode_steps, train_transitions=int(n_train),
                  mlp_hidden=[args.width] * 3, ensemble_hidden=[args.width] * 3,
                  state_metric="euclidean", return_metric="abs undiscounted k-step return",
                  fit_space="log err (R² of log err)")
    record = {
        "env": args.env, "algorithm": "model_error", "config": config,
        "seeds": args.seeds, "seed_values": list(range(args.seed, args.seed + args.seeds)),
        "k": list(range(1, args.horizon + 1)), "curves": record_curves,
        "holdout_val_mse_normalised": vals,
        "wall_time_s": wall, "device": device_name(), "jax": jax.__version__,
    }
    derive(record)
    write_result(path, record, markdown)
    plot(record, path[:-5] + ".png")
    print(f"wrote {path} ({wall:.1f} s)")
    report(record)


def report(record: dict) -> None:
    fits, summary, h = record["fits"], record["summary"], record["config"]["horizon"]
    for m in MODELS:
        for metric in ("state_error", "return_error"):
            g = fits[m][metric]
            sm = summary[m][metric]
            print(f"{m:22s} {metric:12s} k=1 {sm['k1_mean']:.4f} k={h} {sm['kH_mean']:.3f}  "
                  "log-log slopes " + " ".join(
                      f"{r}: {v:.2f}" for r, v in sm["local_loglog_slope"].items()) + "  "
                  f"power b={g['power_b']:.2f} (R² {g['power_r2']:.3f})  "
                  f"exp c={g['exp_c']:.3f} (R² {g['exp_r2']:.3f})  -> {g['better']}")


if __name__ == "__main__":
    main()

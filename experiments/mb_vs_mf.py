"""Model-based vs model-free: env steps to reach a return threshold, from the results files.

Reads ``experiments/results/{ppo,dreamer,svg,pets,muzero}_<EnvName>*.json`` where
present and computes, for each algorithm and env, the env steps at which the seed-mean
evaluation return first reaches the threshold (and from which it stays there), how many
seeds reach it on their own, the median seed's first reaching step, and the seed-mean
return at a common budget of env steps (the curves compared at equal env steps: the
last evaluation at or before it). Writes
``mb_vs_mf.json``, a Markdown table ``mb_vs_mf.md`` and ``mb_vs_mf.png`` (one panel per
env, seed-mean curves against env steps on a log axis). Missing files are rows marked
"not run".

    python experiments/mb_vs_mf.py                 # tabulate what exists
    python experiments/mb_vs_mf.py --run-missing   # first run PPO where its file is missing
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys

import numpy as np

from jwm.atomic import write_json
from jwm.curves import steps_to_threshold

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # results_io, beside this file
from results_io import write_result  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
# Thresholds of the comparison, and the budget Dreamer aims to reach them in.
ENVS = {
    "CartPole-v1": {"threshold": 450.0, "target": "Dreamer aims for it within 100k env steps"},
    "Pendulum-v1": {"threshold": -250.0, "target": "Dreamer aims for it within 20k env steps"},
    # MinAtar Breakout: 1 point per brick; PPO needs millions of steps for tens of points,
    # so the comparison is at MuZero's budget of env steps.
    "Breakout-MinAtar": {"threshold": 10.0, "equal_steps": 100_160,  # MuZero's, prefill included
                         "target": "MuZero beside PPO at equal env steps"},
}
# File prefix -> (display name, kind), in table order.
ALGORITHMS = {
    "ppo": ("PPO", "model-free"),
    "dreamer": ("Dreamer", "model-based"),
    "svg": ("SVG", "model-based"),
    "pets": ("PETS", "model-based"),
    "muzero": ("MuZero", "model-based"),
}
# What an evaluation point means, where it is not a separate evaluation of a policy.
NOTES = {
    "ppo": "greedy policy (mode), mean of 64 evaluation episodes per point",
    "ppo_sampled": "actions drawn from the policy, same evaluation episodes",
    "pets": "return of each training episode acted by CEM-MPC (the first with random actions)",
    "dreamer": "deterministic actor (mode) on the RSSM's filtered latent, mean of 8 fresh "
               "episodes per point; env steps include the random prefill",
    "svg": "deterministic policy, mean of 5 fresh episodes after each round; with the true "
           "model the env steps only count rounds (nothing is learned from them)",
    "muzero": "greedy action of the search (Gumbel MuZero, as in training) in the learned "
              "model, mean of the evaluation episodes per point",
}


def _steps_grid(env_steps) -> np.ndarray:
    """``env_steps`` as one [P] grid; a [seeds, P] table is accepted when its rows agree."""
    steps = np.asarray(env_steps, np.float64)
    if steps.ndim == 2 and steps.shape[0] > 0 and np.all(steps == steps[:1]):
        steps = steps[0]
    if steps.ndim != 1:
        raise ValueError(f"env_steps must be one grid shared by the seeds, got shape {steps.shape}")
    return steps


def _at_steps(steps: np.ndarray, mean: np.ndarray, budget) -> float | None:
    """The seed-mean return of the last evaluation at or before ``budget`` env steps;
    None without a budget, or if the run has no point that early or stops short of it
    by more than 5% (it would not be a comparison at equal env steps)."""
    if budget is None or steps[0] > budget or steps[-1] < 0.95 * budget:
        return None
    value = mean[np.flatnonzero(steps <= budget)[-1]]
    return float(value) if np.isfinite(value) else None


def _row(env: str, key: str, label: str, path: str, record: dict, returns, threshold: float,
         equal_steps=None) -> dict:
    steps = _steps_grid(record["env_steps"])
    r = np.asarray(returns, np.float64)
    result = steps_to_threshold(steps, r, threshold)
    mean = r.mean(0)
    return {
        "env": env, "algorithm": key, "name": label, "kind": ALGORITHMS[key.split("_")[0]][1],
        "status": "measured", "file": os.path.basename(path),
        "record_algorithm": record.get("algorithm"), "note": NOTES.get(key),
        **result,
        "env_steps_run": float(steps[-1]),
        "equal_steps": equal_steps, "mean_at_equal_steps": _at_steps(steps, mean, equal_steps),
        "wall_time_s": record.get("wall_time_s"), "device": record.get("device"),
        "mean_curve": {"env_steps": steps.tolist(),
                       "mean_return": [float(x) if np.isfinite(x) else None for x in mean]},
    }


def _not_run(env: str, key: str, threshold: float, status: str = "not run", path=None) -> dict:
    name, kind = ALGORITHMS[key]
    return {"env": env, "algorithm": key, "name": name, "kind": kind, "status": status,
            "file": os.path.basename(path) if path else None, "threshold": threshold}


def _env_id(name) -> str:
    return str(name).split(":")[-1]


def compare(results_dir: str = RESULTS, envs=None) -> dict:
    """The comparison of every ``{algorithm}_{env}*.json`` in ``results_dir``.

    ``envs``: ``{env id: {"threshold": float, ...}}`` (default `ENVS`). Every
    (env, algorithm) pair gets at least one row; a pair without a file is "not run", a
    file that cannot be used says why in its ``status``.
    """
    envs = ENVS if envs is None else envs
    rows = []
    for env, spec in envs.items():
        threshold = float(spec["threshold"])
        equal_steps = spec.get("equal_steps")
        for key, (name, _) in ALGORITHMS.items():
            paths = sorted(glob.glob(os.path.join(results_dir, f"{key}_{glob.escape(env)}*.json")))
            found = False
            for path in paths:
                try:
                    with open(path) as f:
                        record = json.load(f)
                    if _env_id(record.get("env")) != env:
                        continue  # e.g. pets_CartPole-v1-swingup.json for another env
                    # A suffix after the env names a variant: svg_Pendulum-v1_mlp.json.
                    variant = os.path.basename(path)[len(f"{key}_{env}"):-len(".json")].lstrip("_")
                    label = f"{name} ({variant})" if variant else name
                    rows.append(_row(env, key, label, path, record, record["eval_returns"],
                                     threshold, equal_steps))
                    if "eval_returns_sampled" in record:
                        rows.append(_row(env, f"{key}_sampled", f"{name} (sampled actions)", path,
                                         record, record["eval_returns_sampled"], threshold,
                                         equal_steps))
                except (OSError, ValueError, KeyError, TypeError) as e:
                    rows.append(_not_run(env, key, threshold, f"unusable: {type(e).__name__}: {e}", path))
                found = True
            if not found:
                rows.append(_not_run(env, key, threshold))
    return {"envs": {env: dict(spec) for env, spec in envs.items()}, "rows": rows}


def _fmt_steps(x) -> str:
    if x is None:
        return "never"
    return f"{x / 1000:.1f}k".replace(".0k", "k") if x >= 1000 else f"{x:g}"


def _fmt(x, spec=".1f") -> str:
    return "–" if x is None else format(x, spec)


def markdown(comparison: dict) -> str:
    """The comparison as Markdown: per env, its threshold, then one table row per run."""
    lines = []
    for env, spec in comparison["envs"].items():
        budget = spec.get("equal_steps")
        at = [f"seed-mean at {_fmt_steps(budget)}"] if budget else []
        header = (["algorithm", "kind", "seeds", "env steps run", "seed-mean first ≥ threshold",
                   "stays ≥ from", "seeds reaching", "median seed first", "best seed-mean",
                   "final seed-mean"] + at + ["wall time (s)", "file"])
        lines += [f"**{env}**, threshold {spec['threshold']:g}"
                  + (f" ({spec['target']})" if spec.get("target") else "") + ":", "",
                  "| " + " | ".join(header) + " |",
                  "|---|---|" + "---:|" * (len(header) - 3) + "---|"]
        for r in (r for r in comparison["rows"] if r["env"] == env):
            if r["status"] != "measured":
                lines.append(f"| {r['name']} | {r['kind']} | {r['status']} |"
                             + " |" * (len(header) - 4)
                             + f" {'`' + r['file'] + '`' if r['file'] else ''} |")
                continue
            cells = [r["name"], r["kind"], str(r["seeds"]), _fmt_steps(r["env_steps_run"]),
                     _fmt_steps(r["mean_steps"]), _fmt_steps(r["mean_sustained_steps"]),
                     f"{r['seeds_reaching']}/{r['seeds']}", _fmt_steps(r["median_seed_steps"]),
                     _fmt(r["best_mean"]), _fmt(r["final_mean"])]
            cells += [_fmt(r.get("mean_at_equal_steps"))] if budget else []
            cells += [_fmt(r["wall_time_s"]), f"`{r['file']}`"]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    # One note per algorithm, not per variant file (SVG's ensemble, mlp and true rows).
    notes = {ALGORITHMS[r["algorithm"].split("_")[0]][0]
             + (" (sampled actions)" if r["algorithm"].endswith("_sampled") else ""): r["note"]
             for r in comparison["rows"] if r.get("note")}
    if notes:
        lines += ["What an evaluation point is:"] + [f"- {k}: {v}." for k, v in notes.items()]
        lines.append("")
    lines.append("\"never\": not reached within the run. \"median seed first\": the median over all "
                 "seeds of each seed's first step at or above the threshold, a seed that never "
                 "reaches it counting as never. \"seed-mean at N\": the last evaluation at or "
                 "before N env steps (\"–\" if the run stops short of N). Wall time: the "
                 "whole run, all seeds together, compilation included, on the device named "
                 "in the JSON.")
    return "\n".join(lines) + "\n"


def fewer_steps_than_ppo(comparison: dict, env: str):
    """PPO's row on ``env`` and, for each model-based row in file order, how many times
    fewer env steps than PPO it needs to first reach the threshold (rows that never
    reach it are left out; without a PPO row that reaches it, ``(None, [])``)."""
    reached = {r["name"]: r for r in comparison["rows"]
               if r["env"] == env and r.get("mean_steps")}
    ppo = reached.get("PPO")
    if not ppo:
        return None, []
    return ppo, [(name, ppo["mean_steps"] / r["mean_steps"]) for name, r in reached.items()
                 if r["kind"] == "model-based"]


def plot(comparison: dict, path: str) -> None:
    """One panel per env: each measured row's seed-mean curve against env steps (log
    axis; the evaluation at step 0 cannot be drawn on it), the threshold dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    envs = list(comparison["envs"])
    fig, axes = plt.subplots(1, len(envs), figsize=(6.0 * len(envs), 4.2), squeeze=False)
    for ax, env in zip(axes[0], envs):
        rows = [r for r in comparison["rows"] if r["env"] == env]
        for i, r in enumerate(r for r in rows if r["status"] == "measured"):
            steps = np.asarray(r["mean_curve"]["env_steps"], np.float64)
            mean = np.asarray([np.nan if v is None else v for v in r["mean_curve"]["mean_return"]])
            keep = steps > 0
            ax.plot(steps[keep], mean[keep], color=f"C{i}", lw=2,
                    ls="--" if r["algorithm"].endswith("_sampled") else "-",
                    marker="o" if keep.sum() <= 20 else None, ms=4,
                    label=f"{r['name']} ({r['seeds']} seeds)")
        ax.axhline(comparison["envs"][env]["threshold"], color="k", ls=":", lw=1,
                   label=f"threshold {comparison['envs'][env]['threshold']:g}")
        missing = sorted({r["name"] for r in rows if r["status"] != "measured"})
        ax.set_xscale("log")
        ax.set_xlabel("env steps")
        ax.set_ylabel("seed-mean evaluation return")
        ax.set_title(env + (f"\nnot run: {', '.join(missing)}" if missing else ""), fontsize=10)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write(comparison: dict, results_dir: str = RESULTS) -> dict:
    """Writes ``mb_vs_mf.json``, ``.md`` and ``.png`` into ``results_dir``; returns their paths."""
    paths = {ext: os.path.join(results_dir, f"mb_vs_mf.{ext}") for ext in ("json", "md", "png")}
    write_result(paths["json"], comparison, markdown)
    plot(comparison, paths["png"])
    return paths


def _run_missing_ppo(results_dir: str, seeds: int) -> None:
    """Runs rejax PPO (`jwm.baselines.run_ppo`, its budget for the env) for each env
    whose PPO file is missing."""
    from jwm import baselines

    for env in ENVS:
        path = os.path.join(results_dir, f"ppo_{env}.json")
        if not os.path.exists(path):
            write_json(path, baselines.run_ppo(env, seeds=seeds))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results-dir", default=RESULTS)
    parser.add_argument("--run-missing", action="store_true",
                        help="run PPO (jwm.baselines.run_ppo) first for envs without "
                             "ppo_<env>.json")
    parser.add_argument("--seeds", type=int, default=5, help="seeds for --run-missing")
    args = parser.parse_args(argv)
    if args.run_missing:
        _run_missing_ppo(args.results_dir, args.seeds)
    comparison = compare(args.results_dir)
    write(comparison, args.results_dir)
    print(markdown(comparison))
    return comparison


if __name__ == "__main__":
    main()

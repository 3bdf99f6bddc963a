"""Plots of score rows: learning curves per task (mean over seeds and its 95%
bootstrap band) and rliable's performance profiles of the normalised scores."""

from __future__ import annotations

import os

import numpy as np

from jwm.scores.curves import curves
from jwm.scores.table import REPS, Task, interval, normalised_scores, seeded_bootstrap

__all__ = ["plot_curves", "plot_profiles"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_curves(rows, tasks: list[Task], path: str, *, reps: int = 200) -> None:
    """One panel per task: every agent's seed-mean evaluation return against env
    steps with its 95% bootstrap band; imported runs (other projects) dashed."""
    plt = _pyplot()
    all_curves = curves(rows)
    sources = {(r["agent"], r["env"]): r.get("source", "jwm") for r in rows}
    shown = [t for t in tasks if any(env == t.env for _, env in all_curves)]
    if not shown:
        raise ValueError("plot_curves: no score rows for any of the tasks")
    cols = min(3, len(shown))
    rows_n = -(-len(shown) // cols)
    fig, axes = plt.subplots(rows_n, cols, figsize=(4.6 * cols, 3.4 * rows_n), squeeze=False)
    agents = sorted({a for a, _ in all_curves if a != "random"})
    colour = {a: f"C{i % 10}" for i, a in enumerate(agents)}
    for ax, task in zip(axes.flat, shown):
        for (agent, env), curve in all_curves.items():
            if env != task.env:
                continue
            if agent == "random":
                ax.axhline(np.nanmean(curve.returns), color="grey", ls=":", lw=1,
                           label="random")
                continue
            bands = np.array([interval(curve.returns[:, p], reps=reps)
                              for p in range(curve.env_steps.size)])
            style = "--" if sources[(agent, env)] != "jwm" else "-"
            ax.plot(curve.env_steps, bands[:, 0], style, color=colour[agent], lw=1.8,
                    label=f"{agent} ({len(curve.seeds)})")
            ax.fill_between(curve.env_steps, bands[:, 1], bands[:, 2], color=colour[agent],
                            alpha=0.2, lw=0)
        if task.reference is not None:
            ax.axhline(task.reference, color="k", ls="--", lw=0.8, label="reference")
        ax.set_title(task.env, fontsize=9)
        ax.set_xlabel("env steps")
        ax.set_ylabel("eval return")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(shown):]:
        ax.axis("off")
    fig.tight_layout()
    _save(fig, path)


def plot_profiles(rows, tasks: list[Task], path: str, *, reps: int = REPS) -> None:
    """rliable's performance profiles: the fraction of (seed, task) runs of each
    agent whose normalised score exceeds tau, with 95% bootstrap bands."""
    from rliable import library as rly
    from rliable import plot_utils

    plt = _pyplot()
    scores = {agent: entry["scores"] for agent, entry in normalised_scores(rows, tasks).items()}
    if not scores:
        raise ValueError("plot_profiles: no agent has normalised scores (a reference and "
                         "the random rows are needed per task)")
    top = max(1.0, max(float(np.max(s)) for s in scores.values()))
    taus = np.linspace(min(0.0, min(float(np.min(s)) for s in scores.values())), top, 101)
    with seeded_bootstrap(0):
        profiles, bands = rly.create_performance_profile(scores, taus, reps=reps)
    from matplotlib.lines import Line2D

    agents = sorted(scores)
    colors = {a: f"C{i % 10}" for i, a in enumerate(agents)}
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    plot_utils.plot_performance_profiles(profiles, taus, performance_profile_cis=bands,
                                         colors=colors, xlabel=r"normalised score $\tau$",
                                         ax=ax)
    # One entry per agent: rliable draws each agent's line and its band as two artists.
    ax.legend([Line2D([0], [0], color=colors[a], lw=2) for a in agents], agents, fontsize=8)
    fig.tight_layout()
    _save(fig, path)


def _save(fig, path: str) -> None:
    import matplotlib.pyplot as plt

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp.png"
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)

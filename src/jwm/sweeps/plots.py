"""A sweep's plots: learning curves per configuration, and the final return against
the swept values (a sensitivity plot for one varying name, a heat-map for two)."""

from __future__ import annotations

import os

import numpy as np

__all__ = ["plot_sweep", "varying_names"]


def varying_names(configs: list[dict]) -> list[str]:
    """The names whose values differ between configurations, in key order."""
    return [k for k in configs[0]
            if len({repr(c[k]) for c in configs}) > 1]


def _label(config: dict, names: list[str]) -> str:
    return ", ".join(f"{k}={config[k]:g}" if isinstance(config[k], float) else f"{k}={config[k]}"
                     for k in names) or "run"


def plot_sweep(result, directory: str, name: str) -> dict:
    """Writes ``<name>_curves.png`` and, for one varying name, ``<name>_sensitivity.png``
    or, for two forming a full grid, ``<name>_heatmap.png``; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = varying_names(result.configs)
    ran = [(c, m) for c, m in zip(result.configs, result.metrics) if m is not None]
    paths = {"curves": os.path.join(directory, f"{name}_curves.png")}
    fig, ax = plt.subplots(figsize=(7, 4.5))
    colours = plt.cm.viridis(np.linspace(0, 0.9, max(len(ran), 1)))
    for (config, metrics), colour in zip(ran, colours):
        steps = metrics["env_steps"].mean(0)
        returns = metrics["eval_return"]
        mean = returns.mean(0)
        ax.plot(steps, mean, color=colour, label=_label(config, names))
        if result.seeds > 1:
            ax.fill_between(steps, returns.min(0), returns.max(0), color=colour, alpha=0.15)
    ax.set_xlabel("env steps")
    ax.set_ylabel("evaluation return")
    ax.set_title(f"mean over {result.seeds} seed(s); band: min to max")
    if len(ran) <= 12:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(paths["curves"], dpi=110)
    plt.close(fig)

    summary = {s["config"]: s for s in result.summary()}
    if len(names) == 1:
        paths["sensitivity"] = _sensitivity(plt, result, names[0], summary,
                                            os.path.join(directory, f"{name}_sensitivity.png"))
    elif len(names) == 2:
        path = os.path.join(directory, f"{name}_heatmap.png")
        if _heatmap(plt, result, names, summary, path):
            paths["heatmap"] = path
    return paths


def _sensitivity(plt, result, key, summary, path):
    points = sorted((c[key], s["final_return_mean"], *s["final_return_ci95"])
                    for i, c in enumerate(result.configs) if (s := summary.get(i)))
    x, mean, low, high = (np.array(v, float) for v in zip(*points))
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.errorbar(x, mean, yerr=[mean - low, high - mean], marker="o", capsize=3)
    if (x > 0).all() and x.max() / x.min() >= 10:
        ax.set_xscale("log")
    ax.set_xlabel(key)
    ax.set_ylabel("final evaluation return")
    ax.set_title(f"mean and 95% bootstrap interval over {result.seeds} seed(s)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _heatmap(plt, result, names, summary, path) -> bool:
    rows = sorted({c[names[0]] for c in result.configs})
    cols = sorted({c[names[1]] for c in result.configs})
    grid = np.full((len(rows), len(cols)), np.nan)
    for i, c in enumerate(result.configs):
        if i in summary:
            grid[rows.index(c[names[0]]), cols.index(c[names[1]])] = \
                summary[i]["final_return_mean"]
    if np.isnan(grid).all():
        return False
    fig, ax = plt.subplots(figsize=(1.2 * len(cols) + 2.5, 0.8 * len(rows) + 2))
    image = ax.imshow(grid, cmap="viridis", aspect="auto")
    for (r, c), value in np.ndenumerate(grid):
        if np.isfinite(value):
            ax.text(c, r, f"{value:.4g}", ha="center", va="center", color="w", fontsize=8)
    ax.set_xticks(range(len(cols)), [f"{v:g}" if isinstance(v, float) else str(v) for v in cols])
    ax.set_yticks(range(len(rows)), [f"{v:g}" if isinstance(v, float) else str(v) for v in rows])
    ax.set_xlabel(names[1])
    ax.set_ylabel(names[0])
    ax.set_title(f"final evaluation return, mean over {result.seeds} seed(s)")
    fig.colorbar(image, ax=ax)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True

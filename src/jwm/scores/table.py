"""The table of a set of score files: per task and agent the return at fixed budgets
and the env steps to a threshold, with 95% bootstrap intervals over seeds; across
tasks, normalised scores (random = 0, a stated reference = 1) aggregated with the
interquartile mean.

Intervals and aggregates are rliable's (stratified percentile bootstrap, IQM), the
field's reference implementation of Agarwal et al. (2021), so that jwm's numbers are
computed as the papers they are compared with compute theirs.
"""

from __future__ import annotations

import contextlib
import math
import warnings

import numpy as np

from jwm.curves import steps_to_threshold
from jwm.scores.curves import Curve, curves, return_at

__all__ = ["Task", "aggregate", "budget_reached", "interval", "markdown", "normalised_scores",
           "task_rows", "versus"]

BASELINES = ("ppo", "sac")  # the model-free agents the others are read beside
REPS = 2000  # bootstrap resamples; rliable's own examples use 2,000 to 50,000


class Task:
    """What a task's numbers are read against.

    Args:
      env: the env's name.
      budgets: env steps at which the table reads the return (the last one is the
        budget of the normalised scores).
      threshold: the return whose first crossing is reported (None: none).
      reference: the return that normalises to 1 (random actions are 0).
      reference_source: where ``reference`` comes from (stated in the table).
    """

    def __init__(self, env: str, budgets, threshold=None, reference=None,
                 reference_source: str = ""):
        budgets = [int(b) for b in budgets]
        if not budgets or any(b < 1 for b in budgets) or budgets != sorted(set(budgets)):
            raise ValueError(f"Task {env!r}: budgets must be increasing positive env-step "
                             f"counts, got {budgets!r}")
        self.env, self.budgets, self.threshold = env, budgets, threshold
        self.reference, self.reference_source = reference, reference_source

    def __repr__(self):
        return f"Task({self.env!r}, budgets={self.budgets})"


@contextlib.contextmanager
def seeded_bootstrap(seed: int = 0):
    """Makes rliable's bootstrap repeatable: arch, which draws its resamples, ignores
    the ``random_state`` rliable passes it and uses NumPy's global generator, so that
    generator is seeded here and restored afterwards. arch's FutureWarning about that
    argument is hidden."""
    saved = np.random.get_state()
    np.random.seed(seed)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="random_state is deprecated",
                                    category=FutureWarning)
            yield
    finally:
        np.random.set_state(saved)


def interval(values, *, reps: int = REPS, seed: int = 0) -> tuple[float, float, float]:
    """``(mean, low, high)``: the mean of ``values`` [S] and its 95% percentile
    bootstrap interval over them (rliable); NaN values are left out, and with fewer
    than two the interval is the value itself."""
    from rliable import library as rly

    values = np.asarray(values, np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return (math.nan, math.nan, math.nan)
    if values.size == 1:
        return (float(values[0]),) * 3
    with seeded_bootstrap(seed):
        point, bounds = rly.get_interval_estimates(
            {"x": values[:, None]}, lambda x: np.array([np.mean(x)]), reps=reps,
            random_state=np.random.RandomState(seed))
    return float(point["x"][0]), float(bounds["x"][0, 0]), float(bounds["x"][1, 0])


def _random_returns(all_curves: dict) -> dict:
    """``{env: mean return of random actions}`` from the rows of agent ``random``."""
    return {env: float(np.nanmean(curve.returns[:, 0]))
            for (agent, env), curve in all_curves.items() if agent == "random"}


def task_rows(rows, tasks: list[Task], *, reps: int = REPS) -> list[dict]:
    """One dict per (task, agent): ``seeds``, ``returns`` at each budget as
    ``{budget: (mean, low, high)}``, ``final`` (the last evaluation, at
    ``last_env_steps``), ``threshold`` and ``steps_to_threshold`` (the
    seed-mean curve's first crossing, None if never) with ``seeds_reaching`` and,
    when every seed reaches it, ``seed_steps_interval`` (the mean of the seeds' own
    first crossings with its 95% bootstrap interval), and
    ``wall_time_s`` (the run's, its seeds vmapped together: the mean of the seeds'
    last wall times)."""
    all_curves = curves(rows)
    out = []
    for task in tasks:
        for (agent, env), curve in all_curves.items():
            if env != task.env or agent == "random":
                continue
            entry = {"env": env, "agent": agent, "seeds": len(curve.seeds),
                     "last_env_steps": int(curve.env_steps[-1]),
                     "returns": {b: interval(return_at(curve, b), reps=reps)
                                 for b in task.budgets},
                     "final": interval(curve.returns[:, -1], reps=reps),
                     "threshold": task.threshold,
                     "wall_time_s": float(np.nanmean(curve.wall_time_s))
                     if np.isfinite(curve.wall_time_s).any() else None}
            if task.threshold is not None:
                reach = _reach(curve, task.threshold)
                seed_steps = reach.get("seed_steps") or []
                every = bool(seed_steps) and all(x is not None for x in seed_steps)
                entry.update(steps_to_threshold=reach["mean_steps"],
                             seeds_reaching=reach["seeds_reaching"],
                             seed_steps_interval=interval(seed_steps, reps=reps) if every else None)
            out.append(entry)
    return out


def _reach(curve: Curve, threshold: float) -> dict:
    finite = np.isfinite(curve.returns).all(0)  # points every seed has reached
    if not finite.any():
        return {"mean_steps": None, "seeds_reaching": 0}
    return steps_to_threshold(curve.env_steps[finite], curve.returns[:, finite], threshold)


def budget_reached(curve: Curve, task: Task) -> int:
    """The largest of the task's budgets that the run reached or, for a run that
    ended before the first (an agent whose episodes end early consumes fewer env
    steps than it planned), the env steps of its last evaluation: a run is read
    where it is, not left out."""
    reached = [b for b in task.budgets if b <= curve.env_steps[-1]]
    return reached[-1] if reached else int(curve.env_steps[-1])


def normalised_scores(rows, tasks: list[Task], *, at: dict | None = None,
                      agents=None) -> dict[str, dict]:
    """``{agent: {"tasks": [env], "budgets": [env steps], "scores": [S, T]}}``: each
    agent's return normalised so that random actions (the rows of agent ``random``)
    are 0 and the task's reference is 1.

    Each agent is read at ``at[agent][env]`` env steps where given, else at the
    largest budget of the task its run reached (`budget_reached`); a task it did
    not reach is left out. S is the fewest seeds among its tasks (rliable takes a
    full matrix). ``agents`` limits the agents read.
    """
    all_curves = curves(rows)
    random = _random_returns(all_curves)
    per_agent: dict = {}
    for task in tasks:
        if task.reference is None or task.env not in random:
            continue
        span = task.reference - random[task.env]
        if not span:
            raise ValueError(f"normalised_scores: {task.env}: the reference equals the "
                             f"random return {random[task.env]}")
        for (agent, env), curve in all_curves.items():
            if env != task.env or agent == "random" or (agents and agent not in agents):
                continue
            budget = (at or {}).get(agent, {}).get(env) if at else budget_reached(curve, task)
            if budget is None:
                continue
            values = return_at(curve, budget)
            if np.isfinite(values).all():
                per_agent.setdefault(agent, []).append((env, budget, (values - random[env]) / span))
    out = {}
    for agent, columns in per_agent.items():
        runs = min(len(c) for _, _, c in columns)
        out[agent] = {"tasks": [env for env, _, _ in columns],
                      "budgets": [b for _, b, _ in columns],
                      "scores": np.stack([c[:runs] for _, _, c in columns], axis=1)}
    return out


def versus(rows, tasks: list[Task], baseline: str) -> dict[str, dict]:
    """``{agent: {"agent": scores, "baseline": scores}}``: every other agent's
    normalised scores beside ``baseline``'s read at the same env steps on the same
    tasks (the tasks ``baseline`` ran that far)."""
    own = normalised_scores(rows, tasks)
    out = {}
    for agent, entry in own.items():
        if agent == baseline:
            continue
        at = {baseline: dict(zip(entry["tasks"], entry["budgets"]))}
        theirs = normalised_scores(rows, tasks, at=at, agents={baseline}).get(baseline)
        if not theirs:
            continue
        keep = [i for i, env in enumerate(entry["tasks"]) if env in theirs["tasks"]]
        mine = {"tasks": [entry["tasks"][i] for i in keep],
                "budgets": [entry["budgets"][i] for i in keep],
                "scores": entry["scores"][:, keep]}
        out[agent] = {"agent": mine, "baseline": theirs}
    return out


def aggregate(scores: dict[str, dict], *, reps: int = REPS, seed: int = 0) -> dict[str, dict]:
    """``{name: {"iqm": (point, low, high), "median": ..., "mean": ..., "tasks",
    "runs"}}`` of ``{name: {"tasks", "scores" [S, T]}}``: rliable's interquartile mean, median and mean of each agent's
    normalised scores with 95% stratified-bootstrap intervals."""
    from rliable import library as rly
    from rliable import metrics

    def three(x):
        return np.array([metrics.aggregate_iqm(x), metrics.aggregate_median(x),
                         metrics.aggregate_mean(x)])

    matrices = {agent: entry["scores"] for agent, entry in scores.items()}
    if not matrices:
        return {}
    with seeded_bootstrap(seed):
        points, bounds = rly.get_interval_estimates(matrices, three, reps=reps,
                                                    random_state=np.random.RandomState(seed))
    return {agent: {name: (float(points[agent][i]), float(bounds[agent][0, i]),
                           float(bounds[agent][1, i]))
                    for i, name in enumerate(("iqm", "median", "mean"))}
            | {"tasks": scores[agent]["tasks"], "runs": int(matrices[agent].shape[0])}
            for agent in matrices}


def _number(x: float) -> str:
    if x is None or not math.isfinite(x):
        return "–"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.1f}" if abs(x) >= 1 else f"{x:.2f}"


def _steps(n: int) -> str:
    return f"{n / 1000:.3g}k" if n >= 1000 else str(n)


def markdown(rows, tasks: list[Task], *, reps: int = REPS) -> str:
    """The table as Markdown: one section per task (return at each budget, mean and
    95% interval over seeds; env steps to the threshold), then the aggregate."""
    lines = []
    entries = task_rows(rows, tasks, reps=reps)
    random = _random_returns(curves(rows))
    for task in tasks:
        mine = [e for e in entries if e["env"] == task.env]
        if not mine:
            continue
        notes = []
        if task.env in random:
            notes.append(f"random actions {_number(random[task.env])}")
        if task.reference is not None:
            notes.append(f"reference {_number(task.reference)}"
                         + (f" ({task.reference_source})" if task.reference_source else ""))
        lines += [f"### {task.env}", ""] + (["; ".join(notes) + ".", ""] if notes else [])
        head = (["agent", "seeds"] + [f"return @ {_steps(b)}" for b in task.budgets]
                + ["final return (env steps)"])
        if task.threshold is not None:
            head.append(f"steps to {_number(task.threshold)} (seed mean; each seed's)")
        head.append("wall s (all seeds)")
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for e in sorted(mine, key=lambda e: e["agent"]):
            cells = [e["agent"], str(e["seeds"])]
            for mean, low, high in [e["returns"][b] for b in task.budgets] + [e["final"]]:
                cells.append("–" if not math.isfinite(mean) else
                             f"{_number(mean)} [{_number(low)}, {_number(high)}]")
            cells[-1] += f" ({_steps(e['last_env_steps'])})"
            if task.threshold is not None:
                steps, spread = e["steps_to_threshold"], e["seed_steps_interval"]
                text = "never" if steps is None else _steps(steps)
                if spread is not None:
                    text += (f"; seeds {_steps(round(spread[0]))} [{_steps(round(spread[1]))}, "
                             f"{_steps(round(spread[2]))}]")
                cells.append(f"{text} ({e['seeds_reaching']}/{e['seeds']} seeds)")
            cells.append(_number(e["wall_time_s"]))
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    summary = aggregate(normalised_scores(rows, tasks), reps=reps)
    if summary:
        lines += ["### Normalised score (random = 0, reference = 1)", "",
                  "Each agent at the largest budget of each task that its run reached, or "
                  "at its run's end where that came first (env steps in brackets); IQM, median and mean over its (seed, task) "
                  "runs with 95% stratified-bootstrap intervals (rliable).", "",
                  "| agent | tasks (env steps) | runs | IQM | median | mean |",
                  "|---|---|---|---|---|---|"]
        scored = normalised_scores(rows, tasks)
        for agent, s in sorted(summary.items()):
            where = ", ".join(f"{t.split(':')[-1]} ({_steps(b)})"
                              for t, b in zip(s["tasks"], scored[agent]["budgets"]))
            cells = [agent, where, str(s["runs"])]
            cells += [f"{s[k][0]:.2f} [{s[k][1]:.2f}, {s[k][2]:.2f}]"
                      for k in ("iqm", "median", "mean")]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
        for baseline in BASELINES:
            pairs = {a: p for a, p in versus(rows, tasks, baseline).items()
                     if a not in BASELINES}
            if not pairs:
                continue
            lines += [f"### Beside {baseline.upper()} at equal env steps", "",
                      f"IQM of each agent's normalised scores and of {baseline.upper()}'s "
                      "read at the same env steps of the same tasks.", "",
                      f"| agent | tasks | IQM | {baseline.upper()} IQM |", "|---|---|---|---|"]
            for agent, pair in sorted(pairs.items()):
                both = aggregate(pair, reps=reps)
                a, b = both["agent"]["iqm"], both["baseline"]["iqm"]
                lines.append(f"| {agent} | {', '.join(t.split(':')[-1] for t in pair['agent']['tasks'])}"
                             f" | {a[0]:.2f} [{a[1]:.2f}, {a[2]:.2f}] | {b[0]:.2f} [{b[1]:.2f}, "
                             f"{b[2]:.2f}] |")
            lines.append("")
    return "\n".join(lines)

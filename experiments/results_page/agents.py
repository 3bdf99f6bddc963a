"""The per-agent sections (PETS, SVG, Dreamer, MuZero, AlphaZero, PPO): each committed
run's learning curve tabled by `jwm.scores.markdown` from its score file (one row per
file, at the env steps where the runs end), plus what the score rows do not hold: each
record's target and baselines, the random prefill, and AlphaZero's matches."""

from __future__ import annotations

import os

from results_io import ksteps, num, pct, table

from jwm import scores as jwm_scores

from .records import ROOT, SCORES, load
from .scores import score_path

# Facts about how a file was written that its fields do not say.
NOTES = {
    "alphazero_tic_tac_toe_no_opening": "its `wall_time_s` is that of the invocation that "
                                        "resumed the finished run to play the matches",
    "alphazero_connect_four_match512": "its `wall_time_s` is that of the invocation that "
                                       "resumed the finished run to play the matches",
}


def _rows(files: list, root: str) -> list:
    """The score rows of the records' score files, each file its own row of the table
    (``agent`` set to the file's stem, ``cell``)."""
    from jwm.scores import read_scores

    paths = [os.path.join(root, score_path(p)) for p in files]
    return [dict(r, agent=r["cell"]) for r in read_scores(*[p for p in paths if os.path.exists(p)])]


def tasks(records: dict) -> list:
    """One `jwm.scores.Task` per env, in file order: budgets at the env steps where its
    runs end, threshold from the first record on it with a target."""
    from jwm.scores import Task

    by_env: dict = {}
    for r in records.values():
        budgets, threshold = by_env.setdefault(r["env"], (set(), []))
        last = r["env_steps"][-1]
        budgets.add(last[-1] if isinstance(last, list) else last)
        target = r.get("target") or r.get("threshold") or {}
        threshold.append(target.get("return", target.get("threshold")))
    return [Task(env, sorted(b), next((t for t in ts if t is not None), None))
            for env, (b, ts) in by_env.items()]


def target_fact(stem: str, r: dict):
    """The record's target and when its seed-mean met it (``target``, or PPO's
    ``threshold``), or None."""
    t = r.get("target") or r.get("threshold")
    if not t:
        return None
    value = t.get("return", t.get("threshold"))
    first = t.get("mean_reaches_at_env_steps", t.get("mean_steps"))
    held = t.get("mean_stays_from_env_steps", t.get("mean_sustained_steps"))
    within = f" within {ksteps(t['env_steps'])} env steps" if t.get("env_steps") else ""
    met = ("never reached" if first is None else f"first at {ksteps(first)}, held from "
           f"{ksteps(held)}")
    return (f"`{stem}`: seed-mean ≥ {num(value, 0)}{within}: {met}; "
            f"{t.get('seeds_reaching')}/{r['seeds']} seeds reach it on their own.")


def baseline_fact(stem: str, r: dict):
    """The baselines a record measured beside it (mean return), or None."""
    b = r.get("baselines") or {}
    if not b:
        return None
    return f"`{stem}`, baselines on the same starts: " + ", ".join(
        f"{name} {num(d['mean'])}" for name, d in b.items()) + "."


def prefill_fact(stem: str, r: dict):
    """How many of a record's first env steps act randomly (``loop.prefill``; PETS's
    default is its first episode), or None."""
    loop = r["config"].get("loop") or {}
    if r.get("agent", stem.split("_")[0]) == "pets":
        episode = loop.get("steps_per_episode") or r["env_steps"][0]
        episodes = (loop.get("prefill") or episode) // episode
        return (f"`{stem}`: its first {episodes} evaluation point(s) are episodes of random "
                "actions (the prefill); every later one is an episode planned on the model "
                "fitted to all earlier data.")
    if loop.get("prefill"):
        return f"`{stem}`: its env steps include {num(loop['prefill'])} random prefill steps."
    return None


def _wdl(m: dict) -> str:
    return f"{m['wins']} / {m['draws']} / {m['losses']}"


def win_rate(m: dict) -> tuple:
    """A match's share of wins and the ends of its ``win_interval``, formatted."""
    n = m["wins"] + m["draws"] + m["losses"]
    return pct(m["wins"] / n), pct(m["win_interval"][0], 0), pct(m["win_interval"][1], 0)


def matches_table(records: dict) -> str:
    """AlphaZero's matches after training (``matches``): per file, agent simulations
    and seed, wins / draws / losses against the reference player, the win rate's
    interval and the losses moving first."""
    rows = []
    for stem, r in records.items():
        m = r.get("matches")
        for sims, per_seed in sorted((m or {}).get("by_simulations", {}).items(),
                                     key=lambda kv: int(kv[0])):
            for s in per_seed:
                rate, lo, hi = win_rate(s)
                rows.append([f"`{stem}`", m["reference"], sims, s["seed"], _wdl(s),
                             f"{rate} ({lo}–{hi})", s["losses_moving_first"]])
    if not rows:
        return ""
    return ("Matches after training, half of them moving first:\n\n"
            + table(["file", "against", "agent simulations", "seed", "W / D / L",
                     "wins (`win_interval`)", "losses moving first"], rows,
                    ["---", "---", "---:", "---:", "---", "---", "---:"]))


def render_agent(files: list, root: str = ROOT) -> str:
    """A per-agent section's body: the table of its score files, then the facts."""
    records = {os.path.basename(p)[:-len(".json")]: load(p, root) for p in files}
    records = {k: r for k, r in records.items() if isinstance(r, dict)}
    out = [f"Learning curves from the score files in `{SCORES}/` (one per committed "
           "record, named by it): the seed-mean evaluation return with its 95% bootstrap "
           "interval at the env steps where the runs end, and the env steps until the "
           "seed-mean first reaches the threshold.", "",
           # An env without a random row or a reference has an empty notes line.
           jwm_scores.markdown(_rows(files, root), tasks(records)).strip()]
    out += ["", "Score files: " + ", ".join(f"[`{score_path(p)}`](../{score_path(p)})"
                                            for p in files)]
    facts = [f for stem, r in records.items()
             for f in (target_fact(stem, r), baseline_fact(stem, r), prefill_fact(stem, r))
             if f]
    facts += [f"`{stem}`: {note}." for stem, note in NOTES.items() if stem in records]
    if facts:
        out += [""] + [f"- {f}" for f in facts]
    matches = matches_table(records)
    if matches:
        out += ["", "The evaluation return of a board game is the mean outcome (1 win, 0 draw, "
                "−1 loss) against a uniformly random player, or against UCT with "
                "`loop.eval_opponent_simulations` simulations where the config sets it.", "",
                matches]
    return "\n".join(out)


def plot_agent(files: list, path: str, root: str = ROOT) -> None:
    """The section's learning curves (`jwm.scores.plot_curves`), one line per file."""
    from jwm.scores import plot_curves

    records = {p: load(p, root) for p in files}
    plot_curves(_rows(files, root), tasks({p: r for p, r in records.items() if r}), path)

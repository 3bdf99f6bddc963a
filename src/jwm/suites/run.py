"""`run_suite`: every cell of a suite file's tier, cell by cell, each resumable from
its checkpoints; a finished cell is never run again. Then the table and plots from
the score files."""

from __future__ import annotations

import json
import os
import sys
import time

from jwm.baselines import BASELINES
from jwm.suites.cell import cell_record, run_cell, run_random, total_wall
from jwm.suites.claims import claim
from jwm.suites.spec import Suite, load_suite, tier_cells

__all__ = ["SuiteRun", "run_suite", "write_table"]


class SuiteRun(dict):
    """What `run_suite` did: ``cells`` (each cell's record), ``skipped`` (cells that
    do not fit their env, with the reason), ``busy`` (cells another process was
    running), ``failed`` (``{cell: error}``: the cells that raised, run again next
    time), ``interrupted`` and the folders."""


def _fits(cell) -> str | None:
    """None if the agent takes the cell's env, else why not: the TypeError of the
    agent's own check of the spaces, run by building it (no compilation). A
    ValueError (settings the agent refuses) is raised: a cell that cannot run as
    written is an error, before any cell runs."""
    from jwm.suites.cell import cell_config

    try:
        config = cell_config(cell)
        if cell.agent in BASELINES:
            return None
        from jwm.recipes import RECIPES

        RECIPES[cell.agent].agent(config)
    except TypeError as e:  # the agent's check of the env's spaces
        return str(e).split("\n")[0]
    return None


def run_suite(path: str, tier: str, *, out: str, checkpoint_dir: str | None = None,
              only: str | None = None, devices=None, checkpoint_every: int = 10,
              progress: bool = True, table: bool = True) -> SuiteRun:
    """Runs tier ``tier`` of the suite file at ``path``.

    Score files and cell records go to ``<out>/scores``, checkpoints to
    ``checkpoint_dir`` (default ``<out>/checkpoints``), and, with ``table``, the table
    (``table.md``) and plots (``curves.png``, ``profiles.png``) to ``out``. Cells
    whose env the agent does not take are skipped and listed. Random actions are
    scored once per env (the zero of the normalised scores).

    Several processes may run one tier into one ``out`` at once (on one host, or on
    hosts sharing the folder): each claims a cell before running it and passes over
    the cells others hold.

    Args:
      only: run just the cells whose id contains this text.
      devices: None (the first device), or the devices each cell's seeds are sharded
        over (e.g. ``jax.devices()``; with ``jax.distributed``, every host's).
    """
    suite = load_suite(path)
    cells = tier_cells(suite, tier)
    if only:
        cells = [c for c in cells if only in c.id]
    scores_dir = os.path.join(out, "scores")
    checkpoint_dir = checkpoint_dir or os.path.join(out, "checkpoints")
    skipped = {}
    runnable = []
    for cell in cells:
        reason = None if cell_record(scores_dir, cell) else _fits(cell)
        if reason:
            skipped[cell.id] = reason
        else:
            runnable.append(cell)
    records, interrupted = [], False
    for env in sorted({c.env for c in runnable if c.env.split(":")[0] != "pgx"}):
        run_random(env, seeds=max(c.seeds for c in runnable if c.env == env),
                   seed=suite.seed + 1, suite=suite.name, scores_dir=scores_dir)
    busy = []
    for number, cell in enumerate(runnable, 1):
        start = time.perf_counter()
        with claim(os.path.join(scores_dir, cell.id + ".claim")) as mine:
            if not mine:  # another process runs it
                _say(progress, f"[{number}/{len(runnable)}] {cell.id}: run by another process")
                busy.append(cell.id)
                continue
            _say(progress, f"[{number}/{len(runnable)}] {cell.id}")
            try:
                record = run_cell(cell, suite=suite.name, scores_dir=scores_dir,
                                  checkpoint_dir=checkpoint_dir, devices=devices,
                                  checkpoint_every=checkpoint_every, progress=progress)
            except Exception as e:  # one failed cell stops neither the others nor the table
                import traceback

                traceback.print_exc()
                record = {"cell": cell._asdict(), "status": "failed",
                          "error": f"{type(e).__name__}: {e}"}
        records.append(record)
        _say(progress, f"[{number}/{len(runnable)}] {cell.id}: "
                       + ("finished before" if record.get("skipped") else
                          f"{record['status']} in {time.perf_counter() - start:.0f} s"))
        if record["status"] == "interrupted":
            interrupted = True
            break
    failed = {r["cell"]["id"]: r["error"] for r in records if r["status"] == "failed"}
    result = SuiteRun(suite=suite.name, tier=tier, cells=records, skipped=skipped, busy=busy,
                      failed=failed,
                      interrupted=interrupted, scores=scores_dir, out=out)
    if table and not interrupted:
        result["table"] = write_table(suite, scores_dir, out, skipped=skipped, tier=tier)
    return result


def _say(show: bool, text: str) -> None:
    if show:
        print(f"jwm suite: {text}", file=sys.stderr, flush=True)


def _finished_rows(suite: Suite, scores_dir: str) -> tuple[list, dict]:
    """The score rows of the finished cells (those with a record), of random actions
    and of other projects' runs imported into the folder (`jwm.scores.import_dreamerv3`,
    ...), and ``{cell: (env steps so far, wall seconds so far, iterations)}`` of the
    cells still running."""
    from jwm.scores import read_scores

    rows, unfinished = [], {}
    for name in sorted(os.listdir(scores_dir)) if os.path.isdir(scores_dir) else []:
        if not name.endswith(".jsonl"):
            continue
        stem = name[:-len(".jsonl")]
        found = read_scores(os.path.join(scores_dir, name))
        imported = any(r.get("source", "jwm") != "jwm" for r in found)
        if (stem.startswith("random-") or imported
                or os.path.exists(os.path.join(scores_dir, stem + ".json"))):
            rows += found
        elif found:
            last = max(found, key=lambda r: r["env_steps"])
            iterations = len(found) // max(1, len({r["seed"] for r in found}))
            unfinished[stem] = (last["env_steps"], last["wall_time_s"], iterations)
    return rows, unfinished


def _cost_lines(unfinished: dict, cells: dict) -> list:
    """The running cells' progress and, from their pace so far, their cost."""
    lines = ["### Cells not finished", "",
             "Not in the table above until they finish. The cost is extrapolated from the "
             "pace so far (seconds per iteration, compilation included).", "",
             "| cell | env steps so far | iterations | seconds so far | estimated seconds |",
             "|---|---|---|---|---|"]
    for cell_id, (steps, wall, done) in sorted(unfinished.items()):
        cell = cells.get(cell_id)
        total = None if cell is None else _iterations(cell)
        estimate = wall * total / done if total and wall and done else None
        lines.append(f"| {cell_id} | {steps:,} | {done} of {'?' if total is None else total} | "
                     f"{'?' if wall is None else f'{wall:,.0f}'} | "
                     f"{'?' if estimate is None else f'{estimate:,.0f}'} |")
    return lines + [""]


def _iterations(cell) -> int | None:
    """The iterations of a recipe's cell (None for a baseline: one program)."""
    from jwm.recipes import RECIPES
    from jwm.suites.cell import cell_config

    if cell.agent not in RECIPES:
        return None
    return RECIPES[cell.agent].agent(cell_config(cell)).iterations


def estimated_costs(suite: Suite, tier: str, scores_dir: str) -> list[tuple]:
    """``(cell, seconds or None, from cell)`` for every cell of ``tier``: its cost on
    the device that wrote ``scores_dir``, extrapolated from a finished cell there of
    the same agent and env (seconds per iteration, times the iterations, times the
    seeds: vmapped seeds share a CPU's cores, so their time grows about linearly)."""
    measured = {}
    for name in sorted(os.listdir(scores_dir)) if os.path.isdir(scores_dir) else []:
        if name.endswith(".json"):
            with open(os.path.join(scores_dir, name)) as f:
                record = json.load(f)
            if record.get("status") == "done":
                cell = record["cell"]
                record["wall"] = total_wall(os.path.join(scores_dir, cell["id"] + ".jsonl"),
                                             record.get("wall_time_s_this_session"))
                measured.setdefault((cell["agent"], cell["env"]), []).append(record)
    out = []
    for cell in tier_cells(suite, tier):
        records = measured.get((cell.agent, cell.env))
        if not records:
            out.append((cell, None, None))
            continue
        record = max(records, key=lambda r: r["cell"]["steps"])
        done = record["iterations"]
        mine = _iterations(cell)
        scale = (mine / done) if mine and done else cell.steps / record["cell"]["steps"]
        seconds = record["wall"] * scale * cell.seeds / record["cell"]["seeds"]
        out.append((cell, seconds, record["cell"]["id"]))
    return out


def _other_tier_lines(suite: Suite, tier: str, scores_dir: str) -> list:
    lines = []
    for other in suite.tiers:
        if other in (tier, "smoke"):
            continue
        costs = estimated_costs(suite, other, scores_dir)
        lines += [f"### Cells of the {other} tier, and their cost here", "",
                  f"Seconds on this tier's device, extrapolated from the finished cell of the "
                  f"same agent and env here (per iteration, times the {other} cell's iterations "
                  "and seeds); none where no such cell has finished.", "",
                  "| cell | estimated seconds | from |", "|---|---|---|"]
        lines += [f"| {cell.id} | {'?' if sec is None else f'{sec:,.0f}'} | {src or '–'} |"
                  for cell, sec, src in costs]
        lines.append("")
    return lines


def write_table(suite: Suite, scores_dir: str, out: str, *, skipped: dict | None = None,
                reps: int | None = None, tier: str | None = None) -> str:
    """``<out>/table.md`` and its plots from the score files in ``scores_dir`` (the
    finished cells; those of ``tier`` still running are listed with their cost so
    far); returns the table's path."""
    from jwm.atomic import write_text
    from jwm.scores import markdown, plot_curves, plot_profiles
    from jwm.scores.table import REPS, normalised_scores

    rows, unfinished = _finished_rows(suite, scores_dir)
    reps = reps or REPS
    text = [f"## Suite {suite.name}", "",
            f"Generated from the score files in `{os.path.relpath(scores_dir, out)}/` by "
            f"`jwm suite {os.path.basename(suite.path)} --table-only`. Returns are the mean "
            "over seeds with 95% bootstrap intervals (rliable); [a, b] is the interval.", "",
            markdown(rows, suite.tasks, reps=reps)]
    if unfinished:
        cells = {c.id: c for c in tier_cells(suite, tier)} if tier else {}
        text += _cost_lines(unfinished, cells)
    if tier:
        text += _other_tier_lines(suite, tier, scores_dir)
    if skipped:
        text += ["### Cells not run", "", "| cell | why |", "|---|---|"]
        text += [f"| {cell} | {reason} |" for cell, reason in sorted(skipped.items())]
        text.append("")
    if any(any(r["env"] == t.env for r in rows) for t in suite.tasks):
        plot_curves(rows, suite.tasks, os.path.join(out, "curves.png"))
        text += ["![learning curves](curves.png)", ""]
    if normalised_scores(rows, suite.tasks):
        plot_profiles(rows, suite.tasks, os.path.join(out, "profiles.png"), reps=reps)
        text += ["Performance profiles (rliable) of the normalised scores above, each agent "
                 "at its own budgets:", "", "![performance profiles](profiles.png)", ""]
    path = os.path.join(out, "table.md")
    write_text(path, "\n".join(text))
    return path

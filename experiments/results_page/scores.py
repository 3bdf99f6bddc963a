"""The committed per-agent records (``experiments/results/<agent>_<env>*.json``, the
results schema of docs/design.md: ``eval_returns [seed][point]`` at ``env_steps``) as
score files (`jwm.scores`, one row per seed and evaluation), one
``experiments/results/scores/<stem>.jsonl`` per record, so that their tables and plots
are drawn by `jwm.scores` as a suite's are."""

from __future__ import annotations

import glob
import json
import os

from .records import EXP, ROOT, SCORES, load

# The file prefixes of the per-agent records.
AGENTS = ("pets", "svg", "dreamer", "muzero", "alphazero", "ppo")


def agent_of(record: dict) -> str:
    """The record's ``agent``, or the first word of its ``algorithm`` lower-cased
    (records written before ``agent`` was)."""
    return record.get("agent") or record["algorithm"].split()[0].lower()


def score_rows(record: dict, stem: str) -> list:
    """One `jwm.scores.score_row` per seed (its index in ``eval_returns``) and point:
    ``env_steps`` (one list, or one per seed), the return, and the run's total
    ``wall_time_s`` on each seed's last point only (the seeds ran as one program)."""
    from jwm.scores import config_hash, score_row

    steps, digest = record["env_steps"], config_hash(record["config"])
    rows = []
    for seed, returns in enumerate(record["eval_returns"]):
        seed_steps = steps[seed] if isinstance(steps[0], list) else steps
        for p, (n, ret) in enumerate(zip(seed_steps, returns)):
            rows.append(score_row(
                agent=agent_of(record), env=record["env"], seed=seed, env_steps=n,
                eval_return=ret,
                wall_time_s=record.get("wall_time_s") if p == len(returns) - 1 else None,
                device=record.get("device"), jwm=record.get("jwm"), jax=record.get("jax"),
                config_hash=digest, suite=None, cell=stem, source="jwm"))
    return rows


def agent_records(root: str = ROOT) -> list:
    """The per-agent record files (repo-relative), sorted."""
    return sorted(os.path.relpath(p, root).replace(os.sep, "/")
                  for prefix in AGENTS for p in glob.glob(os.path.join(root, EXP, f"{prefix}_*.json")))


def score_path(record_path: str) -> str:
    """Where a record's score file goes: ``experiments/results/scores/<stem>.jsonl``."""
    return f"{SCORES}/{os.path.basename(record_path)[:-len('.json')]}.jsonl"


def score_text(record_path: str, root: str = ROOT):
    """The score file that the record at ``record_path`` converts to, as text (None for
    an unreadable record)."""
    record = load(record_path, root)
    if not isinstance(record, dict):
        return None
    stem = os.path.basename(record_path)[:-len(".json")]
    return "".join(json.dumps(r) + "\n" for r in score_rows(record, stem))


def stale_scores(root: str = ROOT) -> list:
    """The score files that differ from what their records convert to now (or are
    missing)."""
    out = []
    for path in agent_records(root):
        text = score_text(path, root)
        target = os.path.join(root, score_path(path))
        current = open(target).read() if os.path.exists(target) else None
        if text is not None and text != current:
            out.append(score_path(path))
    return out


def write_all_scores(root: str = ROOT) -> list:
    """Writes every stale score file (`jwm.scores.write_scores`); returns them."""
    from jwm.scores import write_scores

    written = stale_scores(root)
    for path in written:
        record_path = f"{EXP}/{os.path.basename(path)[:-len('.jsonl')]}.json"
        record = load(record_path, root)
        write_scores(os.path.join(root, path),
                     score_rows(record, os.path.basename(record_path)[:-len(".json")]))
    return written

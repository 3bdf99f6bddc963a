"""The suites' tables: ``experiments/results/suites/<suite>/<tier>/table.md``, written by
``jwm suite experiments/suites/<suite>.toml --tier <tier> --out <that folder>`` from the
score files in its ``scores/``. A tier with score files but no table yet gets its table
from them (`jwm.suites.run.write_table`)."""

from __future__ import annotations

import glob
import os

from .records import ROOT, SUITES, read_text


def suite_runs(root: str = ROOT) -> list:
    """``(suite, tier)`` of every suite folder with a table or score files, sorted."""
    found = {tuple(os.path.relpath(p, os.path.join(root, SUITES)).split(os.sep)[:2])
             for pattern in ("*/*/table.md", "*/*/scores")
             for p in glob.glob(os.path.join(root, SUITES, pattern))}
    return sorted(found)


def command(suite: str, tier: str) -> str:
    return (f"jwm suite experiments/suites/{suite}.toml --tier {tier} "
            f"--out {SUITES}/{suite}/{tier}")


def write_missing_tables(root: str = ROOT) -> list:
    """Writes the table of every tier that has score files but no ``table.md``;
    returns the tables written."""
    from jwm.suites import load_suite, write_table

    written = []
    for suite, tier in suite_runs(root):
        out = os.path.join(root, SUITES, suite, tier)
        if not os.path.exists(os.path.join(out, "table.md")):
            spec = load_suite(os.path.join(root, "experiments", "suites", f"{suite}.toml"))
            written.append(write_table(spec, os.path.join(out, "scores"), out))
    return written


def render_suite(suite: str, tier: str, root: str = ROOT) -> str:
    """The tier's ``table.md`` under the page's heading: its own first heading left
    out, its plots linked from ``docs/``."""
    folder = f"{SUITES}/{suite}/{tier}"
    text = read_text(f"{folder}/table.md", root)
    if text is None:
        return (f"_No `{folder}/table.md` yet: `python experiments/summarise.py` writes it "
                "from the score files._")
    lines = text.splitlines()
    if lines and lines[0].startswith("## "):
        lines = lines[1:]
    body = "\n".join(lines).strip()
    for png in ("curves.png", "profiles.png"):
        body = body.replace(f"]({png})", f"](../{folder}/{png})")
    return (f"From [`{folder}/table.md`](../{folder}/table.md), drawn from the score files "
            f"in `{folder}/scores/`:\n\n" + body)

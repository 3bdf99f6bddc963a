"""Writing an experiment's result: ``<name>.json`` and, beside it, ``<name>.md``, the
Markdown that the script's own ``markdown(record)`` draws from that JSON, so that each
table is defined once, next to the code that measures it, and the results page
(``experiments/summarise.py``) includes the Markdown as it is.

The Markdown can be drawn again from the committed JSON without running anything:

    python experiments/results_io.py                  # every script's results
    python experiments/results_io.py model_error ...  # those scripts' results

``SCRIPTS`` names, for each study script, the result files its ``markdown`` draws;
``num``, ``pct``, ``ratio``, ``ksteps`` and ``table`` are the number and table formats
that the scripts' Markdown and the results page share.
"""

from __future__ import annotations

import fnmatch
import importlib
import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")

# Study script -> the globs (in experiments/results/) of the JSON files it writes, each
# drawn as Markdown by the script's `markdown(record)`.
SCRIPTS = {
    "true_model_mpc": ("true_model_mpc_*.json",),
    "mcts_true_model": ("mcts_*.json",),
    "icem_vs_cem": ("icem_vs_cem.json",),
    "gradient_planner": ("gradient_planner.json",),
    "planning_approaches": ("planning_approaches.json",),
    "model_error": ("model_error_*.json",),
    "video_planning": ("video_planning_*.json",),
    "video_sampling": ("video_sampling_*.json",),
    "frame_model": ("frame_model_*.json",),
    "mb_vs_mf": ("mb_vs_mf.json",),
    "reproduce": ("reproduce.json",),
    "sweep_pets": ("sweep_pets_summary.json",),
}


MINUS = "\u2212"


def num(x, digits: int = 1) -> str:
    """``x`` with thousands separators and a real minus sign ("–" for None)."""
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        s = f"{abs(x):,}"
    else:
        if math.isnan(x):
            return "nan"
        s = f"{abs(x):,.{digits}f}"
    return (MINUS + s) if x < 0 and s.strip("0.,") else s


def pct(x, digits: int = 1) -> str:
    return "–" if x is None else num(100 * x, digits) + "%"


def ratio(x, digits: int = 2) -> str:
    return "–" if x is None else num(x, digits) + "×"


def ksteps(n) -> str:
    """Env steps as 16.8k / 1,024k / 400 ("never" for None)."""
    if n is None:
        return "never"
    n = float(n)
    if abs(n) < 1000:
        return num(int(round(n)))
    k = n / 1000
    if k >= 1000 or k == int(k):
        return num(int(round(k))) + "k"
    return num(k, 1) + "k"


def table(header, rows, align=None) -> str:
    """A Markdown table; the first column left-aligned and the others right, unless
    ``align`` gives each column's rule."""
    align = align or ["---"] + ["---:"] * (len(header) - 1)
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def mean(xs):
    """The mean of the values that are not None (None if there are none)."""
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None


def markdown_path(json_path: str) -> str:
    """Where the Markdown of the result at ``json_path`` goes: beside it, ``.md``."""
    return os.path.splitext(json_path)[0] + ".md"


def write_markdown(json_path: str, record: dict, markdown) -> str:
    """Writes ``markdown(record)`` beside ``json_path`` atomically; returns its path."""
    from jwm.atomic import write_text

    path = markdown_path(json_path)
    write_text(path, markdown(record))
    return path


def write_result(json_path: str, record: dict, markdown) -> str:
    """Writes ``record`` to ``json_path`` and its Markdown beside it, each atomically (a
    reader sees the old file or the new one whole); returns the Markdown's path."""
    from jwm.atomic import write_json

    write_json(json_path, record)
    return write_markdown(json_path, record, markdown)


def result_files(script: str, folder: str = RESULTS) -> list:
    """The JSON files in ``folder`` that ``script`` writes (`SCRIPTS`), sorted."""
    names = sorted(os.listdir(folder))
    return [os.path.join(folder, n) for n in names
            if any(fnmatch.fnmatch(n, g) for g in SCRIPTS[script])]


def rewrite(script: str, folder: str = RESULTS) -> list:
    """Draws the Markdown of every result of ``script`` again from its JSON with the
    script's ``markdown``; returns the Markdown files written."""
    if HERE not in sys.path:
        sys.path.insert(0, HERE)  # the scripts import each other as files beside them
    markdown = importlib.import_module(script).markdown
    written = []
    for path in result_files(script, folder):
        with open(path) as f:
            written.append(write_markdown(path, json.load(f), markdown))
    return written


def main(argv=None) -> int:
    scripts = list(sys.argv[1:] if argv is None else argv) or list(SCRIPTS)
    unknown = sorted(set(scripts) - set(SCRIPTS))
    if unknown:
        print(f"unknown scripts {unknown}; known: {sorted(SCRIPTS)}", file=sys.stderr)
        return 2
    for script in scripts:
        for path in rewrite(script):
            print(f"wrote {os.path.relpath(path, os.path.dirname(HERE))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

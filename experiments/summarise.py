"""Writes ``docs/results.md`` and the README's headline results from the committed
result files: the suites' tables, the per-agent score files, and the Markdown that each
study script and benchmark writes beside its JSON.

    python experiments/summarise.py          # (re)write docs/results.md and the README block
    python experiments/summarise.py --check  # exit 1 and print a diff if either is stale

Each table is defined once, beside the code that measures it, and the page includes
it as written: a study's ``markdown(record)`` (``experiments/results_io.py`` writes it
beside the JSON, and draws it again from the JSON with ``python
experiments/results_io.py``), a benchmark's ``markdown(result)`` (``python
benchmarks/run_all.py --full --markdown-only``), a suite's ``table.md``. The committed
per-agent records (``<agent>_<env>*.json``) are converted to score files in
``experiments/results/scores/`` and tabled by `jwm.scores`. Writing also converts stale
score files, writes the table of a suite tier that has score files but no table, and
draws the per-agent plots; ``--check`` fails when any of these is stale too.

The sections are in the package ``results_page`` beside this file. A JSON file that no
section claims still appears, under "Other results", with its top-level scalar fields.
In README.md only the lines between ``results_page.headline.BEGIN`` and ``END`` are
rewritten.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys

# The package sits beside this script, which is run as a file rather than imported.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from results_page.agents import plot_agent  # noqa: E402
from results_page.headline import BEGIN, END, README, build_headline, splice  # noqa: E402
from results_page.page import build_page, collect, slug  # noqa: E402
from results_page.records import ROOT  # noqa: E402
from results_page.scores import stale_scores, write_all_scores  # noqa: E402
from results_page.suites import suite_runs, write_missing_tables  # noqa: E402

PAGE = os.path.join(ROOT, "docs", "results.md")
__all__ = ["BEGIN", "END", "PAGE", "README", "ROOT", "build_headline", "build_page", "check",
           "main", "render", "slug", "splice", "write"]


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def _diff(old: str, new: str, name: str) -> str:
    return "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                        f"{name} (committed)", f"{name} (from the JSON now)"))


def render(root: str = ROOT) -> tuple:
    """(the page, the README block), both from one reading of the result files."""
    collected = collect(root)
    return build_page(root, collected), build_headline(collected[1])


def _inputs_stale(root: str = ROOT) -> str:
    """What the page is drawn from that ``write`` would rewrite first: stale score
    files and suite tiers without their table (one line each)."""
    lines = [f"{p} differs from its record: run python experiments/summarise.py\n"
             for p in stale_scores(root)]
    lines += [f"experiments/results/suites/{s}/{t}/table.md is missing: run python "
              "experiments/summarise.py\n" for s, t in suite_runs(root)
              if not os.path.exists(os.path.join(root, "experiments", "results", "suites", s, t,
                                                 "table.md"))]
    return "".join(lines)


def check(path: str = PAGE, readme: str = README) -> tuple:
    """(ok, unified diff of the committed page and README against what would be written
    now, after the lines of `_inputs_stale`). A README without the marker lines is
    stale too."""
    stale = _inputs_stale()
    page, block = render()
    old_page, old_readme = _read(path), _read(readme)
    diff = stale + _diff(old_page, page, "docs/results.md")
    try:
        new_readme = splice(old_readme, block)
    except ValueError as e:
        return False, diff + f"{e}\n"
    diff += _diff(old_readme, new_readme, "README.md")
    return not stale and old_page == page and old_readme == new_readme, diff


def write(path: str = PAGE, readme: str = README) -> list:
    """Rewrites the stale score files, the missing suite tables, the per-agent plots,
    then the page and the README block; returns the files that changed (the plots
    left out)."""
    changed = [os.path.join(ROOT, p) for p in write_all_scores()] + write_missing_tables()
    sections, _ = collected = collect()
    for section, files in sections:
        if section.plot:
            plot_agent(files, os.path.join(ROOT, section.plot))
    page, block = build_page(ROOT, collected), build_headline(collected[1])
    if _read(path) != page:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(page)
        changed.append(path)
    # Read just before writing: the rest of README.md is edited by hand.
    old = _read(readme)
    new = splice(old, block)
    if new != old:
        with open(readme, "w") as f:
            f.write(new)
        changed.append(readme)
    return changed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 and print a diff if docs/results.md or the README block "
                             "is stale")
    args = parser.parse_args(argv)
    if args.check:
        ok, diff = check()
        if not ok:
            sys.stdout.write(diff)
            print("docs/results.md or README.md's headline results are stale: run "
                  "python experiments/summarise.py", file=sys.stderr)
        return 0 if ok else 1
    try:
        changed = write()
    except ValueError as e:  # README.md without its markers: the page is written regardless
        print(e, file=sys.stderr)
        return 1
    for path in changed:
        print(f"wrote {os.path.relpath(path, ROOT)}")
    if not changed:
        print("docs/results.md and README.md's headline results are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())

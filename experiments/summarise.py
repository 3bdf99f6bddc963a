"""Writes ``docs/results.md`` and the README's headline results from the JSON that the
experiments and benchmarks write.

    python experiments/summarise.py          # (re)write docs/results.md and the README block
    python experiments/summarise.py --check  # exit 1 and print a diff if either is stale

Every number on the page and in the README block is formatted from a field of a JSON
file in ``experiments/results/`` or ``benchmarks/results/`` (plus
``benchmarks/results/loaded/``, which the page labels), so neither can drift from the
measurements: re-run a script, then this one. The prose around the tables only names
what is measured and how; where a sentence needs a number, it is read from the JSON too.

The sections and their renderers are in the package ``results_page`` beside this file:
``results_page.registry`` maps glob patterns to a section (title, command, renderer),
in page order. A JSON file that no pattern matches still appears, under "Other
results", with its top-level scalar fields. In README.md only the lines between
``results_page.headline.BEGIN`` and ``END`` are rewritten.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys

# The package sits beside this script, which is run as a file rather than imported.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from results_page.formatting import slug  # noqa: E402  (re-exported for the tests)
from results_page.headline import BEGIN, END, README, build_headline, splice  # noqa: E402
from results_page.page import build_page, collect  # noqa: E402
from results_page.records import ROOT  # noqa: E402

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


def check(path: str = PAGE, readme: str = README) -> tuple:
    """(ok, unified diff of the committed page and README against what would be written
    now). A README without the marker lines is stale too."""
    page, block = render()
    old_page, old_readme = _read(path), _read(readme)
    diff = _diff(old_page, page, "docs/results.md")
    try:
        new_readme = splice(old_readme, block)
    except ValueError as e:
        return False, diff + f"{e}\n"
    diff += _diff(old_readme, new_readme, "README.md")
    return old_page == page and old_readme == new_readme, diff


def write(path: str = PAGE, readme: str = README) -> list:
    """Rewrites the page and the README block; returns the files that changed."""
    page, block = render()
    changed = []
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

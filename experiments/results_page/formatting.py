"""Markdown formatting of the numbers read from the result JSON: a real minus sign,
thousands separators, percentages, ratios, env-step counts and tables."""

from __future__ import annotations

import math
import os

MINUS = "\u2212"


def num(x, digits: int = 1) -> str:
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
    """Env steps as 16.8k / 1,024k / 400."""
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
    align = align or ["---"] + ["---:"] * (len(header) - 1)
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def slug(title: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to '-'."""
    s = "".join(c for c in title.lower() if c.isalnum() or c in " -_")
    return s.replace(" ", "-")


def code(path: str) -> str:
    return f"`{os.path.basename(path)}`"


"""The page's sections in order: for each, its title, the command that writes its
files, the globs of the result files it shows (first section wins) and the function
that draws its body from them. The suites' sections are found at run time, one per
tier folder; a JSON file that no glob claims goes to "Other results"."""

from __future__ import annotations

import os
from typing import Callable, NamedTuple

from results_io import SCRIPTS, markdown_path, num, table

from .agents import render_agent
from .records import BENCH, EXP, ROOT, SCORES, load, read_text


class Section(NamedTuple):
    title: str
    command: str
    files: tuple
    body: Callable[[list, str], str]
    plot: str = ""  # where the section's learning curves are drawn, if it draws them


def render_pieces(files: list, root: str = ROOT) -> str:
    """Each file's own Markdown beside it, as its script or benchmark wrote it (the
    ``markdown(record)`` defined next to the code that measured it), each labelled
    with its path where the section has several."""
    out = []
    for p in files:
        md = markdown_path(p)
        text = read_text(md, root)
        if text is None:
            text = (f"_`{md}` is missing: `python experiments/results_io.py` (studies) or "
                    "`python benchmarks/run_all.py --full --markdown-only` (benchmarks) "
                    "draws it from the JSON._\n")
        loaded = "Measured while the machine was loaded: " if "/loaded/" in p else ""
        if len(files) > 1 or loaded:
            out.append(f"{loaded}[`{os.path.basename(md)}`](../{md}):\n")
        out.append(text)
    return "\n".join(out)


def render_generic(files: list, root: str = ROOT) -> str:
    """Any result file without a section: its top-level scalar fields."""
    out = []
    for p in files:
        r = load(p, root)
        if not isinstance(r, dict):
            out += [f"**`{os.path.basename(p)}`**: not readable.", ""]
            continue
        rows = [[k, num(v, 4) if isinstance(v, float) else str(v)] for k, v in r.items()
                if isinstance(v, (int, float, str, bool)) or v is None]
        out += [f"**`{os.path.basename(p)}`**:", "", table(["field", "value"], rows, ["---", "---"]), ""]
    return "\n".join(out).strip()


def _agent(title: str, agent: str, extra: str = "") -> Section:
    return Section(title, f"jwm suite experiments/suites/agents.toml --tier {agent} "
                          f"--out experiments/results/suites/agents/{agent}" + extra,
                   (f"{EXP}/{agent}_*.json",), render_agent, f"{SCORES}/{agent}.png")


def _study(title: str, script: str, command: str = "") -> Section:
    return Section(title, command or f"python experiments/{script}.py",
                   tuple(f"{EXP}/{g}" for g in SCRIPTS[script]), render_pieces)


def _bench(title: str, command: str, *names: str) -> Section:
    return Section(title, command, tuple(f"{BENCH}/{n}" for n in names), render_pieces)


SECTIONS = [
    _agent("PETS", "pets"),
    _agent("SVG", "svg"),
    _agent("Dreamer", "dreamer", "; jwm suite experiments/suites/agents_seed3.toml --tier "
                                 "dreamer --out experiments/results/suites/agents_seed3/dreamer"),
    _agent("MuZero", "muzero"),
    _agent("AlphaZero", "alphazero"),
    _agent("PPO", "ppo"),
    _study("Model-based vs model-free", "mb_vs_mf"),
    _study("True-model MPC", "true_model_mpc"),
    _study("MCTS with the true model", "mcts_true_model"),
    _study("iCEM against CEM", "icem_vs_cem"),
    _study("Gradient shooting", "gradient_planner"),
    _study("Planning approaches compared", "planning_approaches"),
    _study("Video planning", "video_planning"),
    _study("Video sampling", "video_sampling"),
    _study("Frame model", "frame_model"),
    _study("Model error against horizon", "model_error"),
    _study("Reproducing the committed runs", "reproduce"),
    _study("A PETS sweep", "sweep_pets"),
    _bench("Sweep throughput", "python benchmarks/sweep.py --full", "sweep.json"),
    _bench("Whole agents against their peers", "python benchmarks/agents.py", "agents.json"),
    _bench("Planner speed", "python benchmarks/planners.py", "planners.json",
           "loaded/planners.json"),
    _bench("PETS planning speed", "python benchmarks/pets.py", "pets.json"),
    _bench("Tree search speed", "python benchmarks/mcts.py", "mcts.json"),
    _bench("Driver overhead", "python benchmarks/driver.py --iterations 12", "driver*.json"),
    _bench("Imagination", "python benchmarks/imagination.py", "imagination.json"),
    _bench("Dreamer update, part by part", "python benchmarks/dreamer_parts.py --baseline 6253716",
           "dreamer_parts.json"),
    _bench("MuZero training speed", "python benchmarks/muzero.py", "muzero.json"),
]
OTHER = Section("Other results", "see each file's script", (), render_generic)


def title(name: str) -> str:
    """The title of the section whose first glob names ``name`` (a result file's or a
    benchmark's name): its heading and, through ``slug``, its anchor on the page."""
    return next(s.title for s in SECTIONS if any(os.path.basename(g).startswith(name)
                                                for g in s.files))

"""The page's sections in order: for each, the globs of the result files it renders,
its title, the command that writes those files, and its renderer. A file that no glob
claims goes to "Other results", which lists its top-level scalar fields."""

from __future__ import annotations

from typing import Callable, NamedTuple

from .agents import (render_dreamer, render_mb_vs_mf, render_pets, render_reproduce, render_svg,
                     render_sweep_pets)
from .benchmarks import (render_bench_agents, render_bench_driver, render_bench_dreamer_parts,
                         render_bench_imagination, render_bench_mcts, render_bench_muzero,
                         render_bench_pets, render_bench_planners, render_bench_sweep)
from .formatting import code, num, table
from .planners_models import (render_mcts_true_model, render_model_error,
                              render_planning_approaches, render_planners, render_true_model_mpc)
from .records import BENCH, EXP, Ctx
from .search_agents import render_alphazero, render_muzero
from .video import render_frame_model, render_video


def render_generic(ctx: Ctx) -> str:
    """Any result file without a renderer: its top-level scalar fields."""
    out = []
    for p in ctx.files:
        r = ctx.records.get(p)
        if not isinstance(r, dict):
            out += [f"**{code(p)}**: not readable.", ""]
            continue
        rows = [[k, num(v, 4) if isinstance(v, float) else str(v)] for k, v in r.items()
                if isinstance(v, (int, float, str, bool)) or v is None]
        out += [f"**{code(p)}**:", "", table(["field", "value"], rows, ["---", "---"]), ""]
    return "\n".join(out).strip()


class Section(NamedTuple):
    title: str
    command: str
    render: Callable[[Ctx], str]
    pngs: tuple = ()


# The invocations behind result files that the section's main command does not write.
VARIANTS = {
    "pets_MountainCarContinuous-v0.json":
        "python experiments/pets.py --env gymnax:MountainCarContinuous-v0 --seeds 3",
    "svg_Pendulum-v1_mlp.json": "python experiments/svg.py --model mlp --seeds 3",
    "svg_Pendulum-v1_true.json": "python experiments/svg.py --model true",
    "dreamer_CartPole-v1_seed3.json":
        "python experiments/dreamer.py --env gymnax:CartPole-v1 --seeds 3 --seed 3",
    "muzero_CartPole-v1_lrdecay.json":
        "python experiments/muzero.py --env gymnax:CartPole-v1 --seeds 3 --set "
        "search.num_simulations=32 --set optimizer.final_learning_rate=3e-4 --set "
        "loop.eval_episodes=16 --tag _lrdecay",
    "muzero_Breakout-MinAtar.json": "python experiments/muzero.py --env gymnax:Breakout-MinAtar "
                                    "--seeds 2",
    "alphazero_connect_four.json": "python experiments/alphazero.py --env pgx:connect_four "
                                   "--seeds 1 --match-simulations 32 128",
    "alphazero_connect_four_1h.json":
        "python experiments/alphazero.py --env pgx:connect_four --seeds 1 --steps 2870080 "
        "--match-simulations 128 --tag _1h --set loop.eval_opponent_simulations=50",
    "ppo_CartPole-v1.json": "python experiments/ppo.py --env CartPole-v1 --seeds 5",
    "ppo_Pendulum-v1.json": "python experiments/ppo.py --env Pendulum-v1 --seeds 5",
    "ppo_Breakout-MinAtar.json": "python experiments/ppo.py --env Breakout-MinAtar --seeds 3",
}


SECTIONS: dict = {
    (f"{EXP}/true_model_mpc_*.json",): Section(
        "True-model MPC", "python experiments/true_model_mpc.py", render_true_model_mpc,
        (f"{EXP}/true_model_mpc_*.png",)),
    (f"{EXP}/pets_*.json",): Section("PETS", "python experiments/pets.py", render_pets),
    (f"{EXP}/svg_*.json",): Section("SVG", "python experiments/svg.py", render_svg),
    (f"{EXP}/dreamer_*.json",): Section(
        "Dreamer", "python experiments/dreamer.py --env gymnax:CartPole-v1|gymnax:Pendulum-v1 "
        "--seeds 3", render_dreamer),
    (f"{EXP}/muzero_*.json",): Section(
        "MuZero", "python experiments/muzero.py --env gymnax:CartPole-v1 --seeds 3", render_muzero),
    (f"{EXP}/alphazero_*.json",): Section(
        "AlphaZero", "python experiments/alphazero.py --env pgx:tic_tac_toe --seeds 2",
        render_alphazero),
    (f"{EXP}/mb_vs_mf.json", f"{EXP}/ppo_*.json"): Section(
        "Model-based vs model-free", "python experiments/mb_vs_mf.py", render_mb_vs_mf),
    (f"{EXP}/icem_vs_cem.json", f"{EXP}/gradient_planner.json"): Section(
        "Planners beyond CEM", "python experiments/icem_vs_cem.py; "
        "python experiments/gradient_planner.py", render_planners),
    (f"{EXP}/planning_approaches.json",): Section(
        "Planning approaches compared", "python experiments/planning_approaches.py",
        render_planning_approaches, (f"{EXP}/planning_approaches.png",)),
    (f"{EXP}/video_planning_*.json", f"{EXP}/video_sampling_*.json"): Section(
        "Video planning", "python experiments/video_planning.py; "
        "python experiments/video_sampling.py", render_video),
    (f"{EXP}/frame_model_*.json",): Section(
        "Frame model", "python experiments/frame_model.py", render_frame_model),
    (f"{EXP}/model_error_*.json",): Section(
        "Model error against horizon", "python experiments/model_error.py", render_model_error),
    (f"{EXP}/mcts_*.json",): Section(
        "MCTS with the true model", "python experiments/mcts_true_model.py",
        render_mcts_true_model),
    (f"{EXP}/reproduce.json",): Section(
        "Reproducing the committed runs", "python experiments/reproduce.py", render_reproduce),
    (f"{EXP}/sweep_pets*.json",): Section(
        "A PETS sweep", "python experiments/sweep_pets.py", render_sweep_pets,
        (f"{EXP}/sweep_pets_*.png",)),
    (f"{BENCH}/sweep.json",): Section(
        "Sweep throughput", "python benchmarks/sweep.py --full", render_bench_sweep),
    (f"{BENCH}/agents.json",): Section(
        "Whole agents against their peers", "python benchmarks/agents.py", render_bench_agents),
    (f"{BENCH}/planners.json", f"{BENCH}/loaded/planners.json"): Section(
        "Planner speed", "python benchmarks/planners.py", render_bench_planners),
    (f"{BENCH}/pets.json",): Section(
        "PETS planning speed", "python benchmarks/pets.py", render_bench_pets),
    (f"{BENCH}/mcts.json",): Section(
        "Tree search speed", "python benchmarks/mcts.py", render_bench_mcts),
    (f"{BENCH}/driver*.json",): Section(
        "Driver overhead", "python benchmarks/driver.py --iterations 12", render_bench_driver),
    (f"{BENCH}/imagination.json",): Section(
        "Imagination", "python benchmarks/imagination.py", render_bench_imagination),
    (f"{BENCH}/dreamer_parts.json",): Section(
        "Dreamer update, part by part", "python benchmarks/dreamer_parts.py --baseline 6253716",
        render_bench_dreamer_parts),
    (f"{BENCH}/muzero.json",): Section(
        "MuZero training speed", "python benchmarks/muzero.py", render_bench_muzero),
}
OTHER = Section("Other results", "see each file's script", render_generic)


def title_of(render) -> str:
    """The title of the section that ``render`` draws: its heading and, through ``slug``,
    its anchor on the page."""
    return next(s.title for s in SECTIONS.values() if s.render is render)

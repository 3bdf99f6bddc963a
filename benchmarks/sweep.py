"""Benchmark: runs per hour of a sweep in one program (`jwm.sweep`'s batched agent)
against the same runs one after another, and its scaling over host devices.

For PETS (Pendulum) and Dreamer (CartPole) at small sizes, R runs that differ in their
learning rate (traced) run as one vmapped program; "one after another" is one run's
compiled program executed once and multiplied by R (a Python loop over concrete
learning rates would also recompile for each; its compile time is reported apart).
Both are timed after compilation, in the same process; the Markdown adds the ratio with
compilation counted (R compiles one after another against one). Device scaling shards the
largest batch over 1, 2 and 4 devices: on a CPU these are XLA's forced host devices
(``--host-devices``), which share the same cores (each runs its shard on its own
thread), so the scaling shows the overhead of sharding there, and a gain only where
one program leaves a core idle; on a GPU machine run it as it is.

    python benchmarks/sweep.py                        # quick: R = 1, 8, 64
    python benchmarks/sweep.py --full                 # R = 1, 8, 64, 256
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def _parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="R up to 256")
    parser.add_argument("--runs", type=int, nargs="+", default=None,
                        help="the run counts R (default 1 8 64, with --full 1 8 64 256)")
    parser.add_argument("--agents", nargs="+", default=["pets", "dreamer"])
    parser.add_argument("--scaling-devices", type=int, nargs="+", default=[1, 2, 4],
                        help="device counts of the scaling rows")
    parser.add_argument("--host-devices", type=int, default=4,
                        help="forced CPU devices (ignored on an accelerator)")
    parser.add_argument("--markdown-only", action="store_true",
                        help="rewrite sweep.md from sweep.json (no timing)")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(
        os.path.abspath(__file__)), "results"))
    return parser.parse_args(argv)


ARGS = _parse(sys.argv[1:] if __name__ == "__main__" else [])
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                           f" --xla_force_host_platform_device_count={ARGS.host_devices}")

import jax  # noqa: E402
import numpy as np  # noqa: E402
from jax.sharding import Mesh  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (device_info, device_text, ratio_with_compilation,  # noqa: E402
                    rewrite_markdown, timed_compile, write_results)

from jwm.recipes import DREAMER, PETS  # noqa: E402
from jwm.sweeps.files import recipe_factory  # noqa: E402
from jwm.sweeps.program import group_agent  # noqa: E402

SMALL = {
    "pets": (PETS, "gymnax:Pendulum-v1", "optimizer.learning_rate",
             {"model": {"hidden_sizes": [32, 32], "ensemble_size": 3, "particles": 3},
              "planner": {"horizon": 8, "population": 32, "iterations": 2},
              "loop": {"total_steps": 150, "steps_per_episode": 50, "fit_epochs": 5}}),
    "dreamer": (DREAMER, "gymnax:CartPole-v1", "optimizer.learning_rate",
                {"model": {"deter": 32, "hidden": 32, "stoch": 4, "classes": 4,
                           "units": 32, "blocks": 2},
                 "learner": {"horizon": 5, "actor_hidden_sizes": [32],
                             "critic_hidden_sizes": [32]},
                 "loop": {"total_steps": 320, "prefill": 64, "eval_every": 128,
                          "batch_size": 4, "seq_len": 16, "eval_episodes": 2}}),
}


def _timed(fn, *args):
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    return time.perf_counter() - start


def _measure(factory, name, values, devices):
    """(compile s, execute s) of the batched run of ``values`` over ``devices``."""
    mesh = Mesh(np.array(devices), ("runs",))
    batched, _ = group_agent(factory, {}, {name: list(values)}, 1, mesh=mesh)
    key = jax.random.key(0)
    compiled, compile_s = timed_compile(jax.jit(batched.run), key)
    return compile_s, min(_timed(compiled, key) for _ in range(2))


def bench_agent(agent_name, run_counts):
    recipe, env, name, small = SMALL[agent_name]
    factory = recipe_factory(recipe, env, small)
    alone = factory(**{name: 1e-3})
    key = jax.random.key(0)
    compiled_alone, alone_compile = timed_compile(jax.jit(alone.run), key)
    alone_s = min(_timed(compiled_alone, key) for _ in range(2))
    rows = []
    for runs in run_counts:
        values = np.geomspace(3e-4, 3e-3, runs) if runs > 1 else [1e-3]
        compile_s, batched_s = _measure(factory, name, values, jax.devices()[:1])
        rows.append({"runs": runs, "one_program_s": batched_s, "compile_s": compile_s,
                     "one_after_another_s": alone_s * runs,
                     "runs_per_hour_one_program": 3600 * runs / batched_s,
                     "runs_per_hour_one_after_another": 3600 / alone_s,
                     "speedup": alone_s * runs / batched_s})
        print(agent_name, rows[-1], flush=True)
    scaling = []
    biggest = max(run_counts)
    for n in ARGS.scaling_devices:
        if n > len(jax.devices()) or biggest % n:
            continue
        values = np.geomspace(3e-4, 3e-3, biggest)
        compile_s, seconds = _measure(factory, name, values, jax.devices()[:n])
        scaling.append({"devices": n, "runs": biggest, "seconds": seconds,
                        "runs_per_hour": 3600 * biggest / seconds, "compile_s": compile_s})
        print(agent_name, scaling[-1], flush=True)
    return {"agent": agent_name, "env": env, "traced": name, "settings": small,
            "alone_s": alone_s, "alone_compile_s": alone_compile, "batch": rows,
            "device_scaling": scaling}


def markdown(result):
    """The tables; the with-compilation columns are derived here from the timings, so
    the file can be rewritten from the JSON alone (``--markdown-only``)."""
    lines = [f"# Sweep throughput ({device_text(result['device'])}, "
             f"jax {result['device']['jax_version']})",
             "",
             "Execution: every run's program compiled beforehand. With compilation: a Python "
             "loop over concrete values builds and compiles each run's program anew (a "
             "closed-over float is a constant), where the sweep compiles one.", ""]
    for entry in result["agents"]:
        lines += [f"## {entry['agent']} on {entry['env']} (traced: {entry['traced']})", "",
                  f"One run alone: {entry['alone_s']:.3f} s to execute, "
                  f"{entry['alone_compile_s']:.1f} s to compile.", "",
                  "| runs | one program (s) | one after another (s) | runs/h one program | "
                  "runs/h one after another | ratio (execution) | compile (s) | "
                  "ratio with compilation |",
                  "|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in entry["batch"]:
            with_compile = ratio_with_compilation(entry, r)
            lines.append(f"| {r['runs']} | {r['one_program_s']:.2f} | "
                         f"{r['one_after_another_s']:.2f} | "
                         f"{r['runs_per_hour_one_program']:,.0f} | "
                         f"{r['runs_per_hour_one_after_another']:,.0f} | "
                         f"{r['speedup']:.2f}× | {r['compile_s']:.1f} | {with_compile:.1f}× |")
        lines += ["", "| devices | runs | seconds | runs/h |", "|---:|---:|---:|---:|"]
        for r in entry["device_scaling"]:
            lines.append(f"| {r['devices']} | {r['runs']} | {r['seconds']:.2f} | "
                         f"{r['runs_per_hour']:,.0f} |")
        lines.append("")
    if result["device"]["platform"] == "cpu":
        lines.append(f"On a CPU the devices are XLA's forced host devices sharing the same "
                     f"{result['device']['cpu_count']} cores: each device runs its shard on "
                     "its own thread, so the device rows show sharding's overhead, and a "
                     "gain only where one program alone leaves a core idle.")
    return "\n".join(lines) + "\n"


def main():
    if ARGS.markdown_only:
        rewrite_markdown(ARGS.out, "sweep", markdown)
        return
    run_counts = ARGS.runs or ([1, 8, 64, 256] if ARGS.full else [1, 8, 64])
    result = {"device": device_info(), "run_counts": run_counts,
              "load_start": os.getloadavg()}
    result["agents"] = [bench_agent(a, run_counts) for a in ARGS.agents]
    result["load_end"] = os.getloadavg()
    write_results(ARGS.out, "sweep", result, markdown(result))


if __name__ == "__main__":
    main()

"""Benchmark: what `jwm.train` costs over `agent.run`, for the same run.

`agent.run(key)` is the whole run as one XLA program. `jwm.train` drives the same
jitted `step` from the host: one dispatch per iteration, the metrics copied to the
host, a JSON line, a progress bar, and an orbax checkpoint every 10 iterations
(asynchronous; `train` returns only once the last one is on disk). Both are timed
after compilation, interleaved round-robin, on the same agent and key; the two give
bit-identical results (tests/test_training.py).

Agents are their recipes' default sizes (`jwm.recipes`): PETS on Pendulum-v1 (5 x 3 x
64 ensemble, CEM 200 x 25 x 5, 100 fit epochs) and Dreamer on CartPole-v1 (RSSM 128 /
16 x 4, actor-critic 64 x 64, a 16 x 32 batch every 8 env steps). Their iterations are
shortened so that ten of them fit a benchmark on a CPU: PETS episodes from 200 to
``--pets-steps`` env steps, Dreamer iterations from 2,000 to ``--dreamer-eval-every``
env steps. A shorter iteration makes the driver's per-iteration cost a larger share,
so the ratio bounds the one of the full-length runs from above.
Checkpoint size is one step's folder on disk; save time is a synchronous save (the
part `train` waits for: the copy to host memory) and the whole write.

    python benchmarks/driver.py [--iterations 10] [--repeats 1] [--pets-steps 50]
                                [--dreamer-eval-every 200]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

import jax
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (check_target, device_info, device_text, time_interleaved,  # noqa: E402
                    rewrite_markdown, write_results)

from jwm.recipes import DREAMER, PETS  # noqa: E402
from jwm.training import train  # noqa: E402
from jwm.training.checkpoints import RunDirectory  # noqa: E402

TARGET = 1.05  # train / run wall time


def _agents(iterations: int, pets_steps: int, dreamer_eval_every: int) -> dict:
    pets = PETS.config("gymnax:Pendulum-v1", {"loop": {"total_steps": iterations * pets_steps,
                                                       "steps_per_episode": pets_steps}})
    # Dreamer's run counts its 1,000-step prefill.
    dreamer = DREAMER.config("gymnax:CartPole-v1", {"loop": {
        "eval_every": dreamer_eval_every,
        "total_steps": 1_000 + dreamer_eval_every * iterations}})
    return {"PETS, Pendulum-v1": PETS.agent(pets), "Dreamer, CartPole-v1": DREAMER.agent(dreamer)}


def _dir_bytes(path: str) -> int:
    return sum(os.path.getsize(os.path.join(root, name))
               for root, _, names in os.walk(path) for name in names)


def measure(agent, iterations: int, repeats: int) -> dict:
    key = jax.random.key(0)
    run = jax.jit(agent.run).lower(key).compile()
    # Compiles the driver's init and step (jax caches them for the timed calls).
    train(agent, key, iterations=1, progress=False)
    scratch = tempfile.mkdtemp(prefix="jwm-driver-bench-")

    def one_program():
        return jax.block_until_ready(run(key))

    def driver():
        directory = tempfile.mkdtemp(dir=scratch)
        result = train(agent, key, iterations=iterations, checkpoint_dir=directory,
                       checkpoint_every=10, progress=False)
        shutil.rmtree(directory)
        return result

    stats, _ = time_interleaved({"agent.run": one_program, "jwm.train": driver},
                                repeats=repeats, rounds=repeats, warmup=0)
    # One checkpoint: synchronous save of the final state, its size on disk.
    state = jax.jit(agent.init)(key)
    history = jax.eval_shape(agent.step, state)[1]
    history = jax.tree.map(lambda a: np.zeros((iterations,) + a.shape, a.dtype), history)
    directory = RunDirectory(os.path.join(scratch, "one"), {"benchmark": True}, keep=1)
    t0 = time.perf_counter()
    directory.save(iterations, state, history)
    copied = time.perf_counter() - t0
    directory.wait()
    written = time.perf_counter() - t0
    size = _dir_bytes(os.path.join(scratch, "one", str(iterations)))
    directory.close()
    shutil.rmtree(scratch)
    ratio = stats["jwm.train"]["median_ms"] / stats["agent.run"]["median_ms"]
    return {"iterations": iterations, "times_ms": stats, "train_over_run": ratio,
            "target": check_target(ratio, "<=", TARGET),
            "checkpoint_bytes": size, "save_blocking_ms": 1e3 * copied,
            "save_total_ms": 1e3 * written,
            "config": {k: v for k, v in agent.config.items() if k != "recipe"}}


def markdown(record: dict) -> str:
    """The table of a result: each agent's wall time under `agent.run` and under
    `jwm.train` (medians of ``repeats``), their ratio against the target, and the
    checkpoint's size and save times."""
    results, target = record["results"], record["target_train_over_run"]
    repeats = {r["times_ms"]["jwm.train"]["repeats"] for r in results.values()}
    lines = ["# `jwm.train` against `agent.run`, same run", "",
             f"Checkpoints every 10 iterations; times after compilation, median of "
             f"{', '.join(map(str, sorted(repeats)))}, interleaved. Target: train / run <= "
             f"{target}.", "",
             "| agent | iterations | agent.run (s) | jwm.train (s) | train / run | met | "
             "checkpoint size | save: blocking / total (ms) |",
             "|---|---:|---:|---:|---:|:---:|---:|---:|"]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['iterations']} | {r['times_ms']['agent.run']['median_ms'] / 1e3:.2f} "
            f"| {r['times_ms']['jwm.train']['median_ms'] / 1e3:.2f} | {r['train_over_run']:.3f} "
            f"| {'yes' if r['target']['pass'] else 'no'} | {r['checkpoint_bytes'] / 2**20:.2f} MiB "
            f"| {r['save_blocking_ms']:.0f} / {r['save_total_ms']:.0f} |")
    info = record["device"]
    lines += ["", f"Device: {device_text(info)}; jax {info['jax_version']}; "
              f"orbax-checkpoint {info['orbax-checkpoint_version']}."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--pets-steps", type=int, default=50)
    parser.add_argument("--dreamer-eval-every", type=int, default=200)
    parser.add_argument("--only", default=None, help="'PETS' or 'Dreamer'")
    parser.add_argument("--markdown-only", action="store_true",
                        help="rewrite driver.md from driver.json (no timing)")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = parser.parse_args(argv)
    if args.markdown_only:
        return rewrite_markdown(args.out, "driver", markdown)
    results = {}
    for name, agent in _agents(args.iterations, args.pets_steps,
                               args.dreamer_eval_every).items():
        if args.only and not name.startswith(args.only):
            continue
        print(f"{name}: {args.iterations} iterations x {args.repeats} repeats", flush=True)
        results[name] = measure(agent, args.iterations, args.repeats)
    record = {"device": device_info("orbax-checkpoint"), "results": results,
              "target_train_over_run": TARGET}
    write_results(args.out, "driver", record, markdown(record))
    return record


if __name__ == "__main__":
    main()

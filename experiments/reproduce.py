"""Re-runs the first iterations of one committed learning experiment per agent, at the
committed settings (its recipe config, seeds and base seed), and compares the
evaluation returns with the committed ones bit for bit: the check that a change left
every agent's numbers as they were. Writes ``experiments/results/reproduce.json`` and
its Markdown (`markdown`).

A run is ``init`` plus N steps of one program, so its first iterations equal the
committed run's first iterations when the code computes what it computed then (same
device, jax and jaxlib).

    python experiments/reproduce.py                       # all five agents, ~15 min on 2 cores
    python experiments/reproduce.py muzero_CartPole-v1    # one of them
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import jax
import numpy as np

from jwm.device import device_name
from jwm.recipes import RECIPES, run_recipe

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # results_io, beside this file
from results_io import num, table, write_result  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
# Committed file -> (recipe, iterations re-run): cheap prefixes of each agent's run.
CASES = {
    "pets_Pendulum-v1": ("pets", 3),
    "svg_Pendulum-v1_true": ("svg", 15),
    "dreamer_Pendulum-v1": ("dreamer", 2),
    "muzero_CartPole-v1": ("muzero", 1),
    "alphazero_tic_tac_toe": ("alphazero", 2),
}


def reproduce(name: str) -> dict:
    kind, iterations = CASES[name]
    with open(os.path.join(RESULTS, name + ".json")) as f:
        committed = json.load(f)
    config = dict(committed["config"])
    env = config.pop("env")
    start = time.perf_counter()
    _, _, record = run_recipe(RECIPES[kind], env, seeds=committed["seeds"],
                              seed=committed.get("seed", 0), overrides=config,
                              iterations=iterations, progress=False)
    new = np.asarray(record["eval_returns"], np.float64)
    old = np.asarray(committed["eval_returns"], np.float64)[:, :iterations]
    return {"agent": kind, "iterations": iterations, "seeds": committed["seeds"],
            "eval_returns_identical": bool(np.array_equal(new, old)),
            "env_steps_identical": record["env_steps"] == committed["env_steps"][:iterations],
            "max_abs_difference": float(np.max(np.abs(new - old))),
            "eval_returns": new.tolist(), "committed_jax": committed.get("jax"),
            "wall_time_s": time.perf_counter() - start}


def markdown(record: dict) -> str:
    """Per committed file re-run: its agent, the iterations and seeds re-run, whether the
    evaluation returns are identical and the largest difference (``runs``)."""
    rows = [[f"`{name}.json`", run["agent"], run["iterations"], run["seeds"],
             "yes" if run["eval_returns_identical"] else "no",
             num(run["max_abs_difference"], 3), num(run["wall_time_s"], 0)]
            for name, run in record["runs"].items()]
    return "\n".join([
        "The first iterations of one committed run per agent, run again from its committed "
        f"settings with the current code ({record['device']}, jax {record['jax']}). A run is "
        "`init` plus N steps of one program, so a prefix that the code still computes as it "
        "did repeats the committed evaluation returns exactly; a difference says the "
        "committed file came from code that computed something else.", "",
        table(["committed file", "agent", "iterations", "seeds", "identical",
               "largest difference", "wall time (s)"], rows,
              ["---", "---", "---:", "---:", "---", "---:", "---:"])]) + "\n"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", default=[], choices=[[], *CASES],
                        metavar="NAME", help=f"committed files to reproduce: {list(CASES)}")
    parser.add_argument("--out", default=os.path.join(RESULTS, "reproduce.json"))
    args = parser.parse_args(argv)
    out = {"device": device_name(), "jax": jax.__version__, "runs": {}}
    for name in args.names or list(CASES):
        out["runs"][name] = reproduce(name)
        print(name, {k: v for k, v in out["runs"][name].items() if k != "eval_returns"},
              flush=True)
        write_result(args.out, out, markdown)
    return out


if __name__ == "__main__":
    main()

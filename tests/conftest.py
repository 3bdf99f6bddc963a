import os

# Most of the suite's programs are tiny and run once or twice, so XLA's backend
# optimisation costs more time than it saves: the suite compiles at level 0 (set
# before jax is imported; subprocesses inherit it). Tests that run a program long
# enough for its speed to matter (learning runs, whole MPC episodes) compile it with
# `OPTIMISED`, XLA's default level.
if "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                               + " --xla_backend_optimization_level=0").strip()

import jax  # noqa: E402
import pytest  # noqa: E402

from jwm.agents import mpc_episode  # noqa: E402

OPTIMISED = {"xla_backend_optimization_level": 2}


@pytest.fixture(scope="session")
def run_seeds():
    """``run_seeds(env, model, planner, seeds=4, params=(), **kw)``: jitted, vmapped episodes."""

    def run(env, model, planner, seeds=4, params=(), **kwargs):
        episode = lambda k: mpc_episode(env, model, planner, params, k, **kwargs)
        return jax.jit(jax.vmap(episode), compiler_options=OPTIMISED)(
            jax.random.split(jax.random.key(0), seeds))

    return run

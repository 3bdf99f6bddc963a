import jax
import pytest

from jwm.agents import mpc_episode


@pytest.fixture(scope="session")
def run_seeds():
    """``run_seeds(env, model, planner, seeds=4, params=(), **kw)``: jitted, vmapped episodes."""

    def run(env, model, planner, seeds=4, params=(), **kwargs):
        episode = lambda k: mpc_episode(env, model, planner, params, k, **kwargs)
        return jax.jit(jax.vmap(episode))(jax.random.split(jax.random.key(0), seeds))

    return run

"""One group of a sweep as one `Agent`: every (configuration, seed) run of the group
vmapped in one program, the traced hyperparameters part of the state.

The user's factory is called inside the trace with the traced values as float32
scalars, so that the builders' checks pass them through (`jwm.checks.check_real`) and
the optimisers, planners and losses take them as arrays. The batched agent is an
ordinary `Agent`, so `jwm.train` gives the sweep its progress, checkpoints and
resume.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jwm.agents.contract import Agent

__all__ = ["SweepState", "group_agent", "run_layout"]


class SweepState(NamedTuple):
    """The state of a group's runs.

    Attributes:
      runs: the agents' states, every leaf with a leading ``[R]`` run axis.
      hyperparameters: ``{name: float32 [R]}``, each run's traced values.
      run_keys: ``[R]`` typed keys each run was initialised with.
    """

    runs: Any
    hyperparameters: dict
    run_keys: jax.Array


def run_layout(num_configs: int, seeds: int, multiple: int = 1) -> tuple[np.ndarray, np.ndarray, int]:
    """``(config_index [Rp], seed_index [Rp], R)``: run ``r < R`` is configuration
    ``r // seeds`` with seed ``r % seeds``; the ``Rp - R`` padding runs (``Rp`` the
    next multiple of ``multiple``, e.g. the device count) repeat the last run and
    are dropped from the results."""
    real = num_configs * seeds
    padded = -(-real // multiple) * multiple
    runs = np.minimum(np.arange(padded), real - 1)
    return runs // seeds, runs % seeds, real


def group_agent(factory: Callable[..., Agent], static: dict, values: dict, seeds: int,
                multiple: int = 1, name: str = "sweep") -> tuple[Agent, Agent]:
    """``(batched agent, the agent of the group's first configuration)``.

    Args:
      factory: ``factory(**config) -> Agent``.
      static: the group's fixed values.
      values: ``{name: [value per configuration]}`` of its traced values.
      seeds: runs per configuration; seed ``s`` starts from ``jax.random.split(key,
        seeds)[s]``, as ``jwm.train(agent, key, seeds=seeds)`` does, so that a run of
        the sweep is the same run as its configuration trained alone.
      multiple: the run count is padded to a multiple of it.

    The batched agent's ``init(key)`` and ``step(state)`` act on a `SweepState`;
    its metrics carry the run axis first (``[Rp, ...]``).
    """
    num_configs = len(next(iter(values.values()))) if values else 1
    config_index, seed_index, _ = run_layout(num_configs, seeds, multiple)
    first = factory(**static, **{k: v[0] for k, v in values.items()})
    table = {k: np.asarray(v, np.float32)[config_index] for k, v in values.items()}

    def build(hyperparameters):
        agent = factory(**static, **hyperparameters)
        if agent.iterations != first.iterations:
            raise ValueError(f"sweep: the traced values changed the number of iterations "
                             f"({agent.iterations} != {first.iterations}); mark the "
                             f"hyperparameter static")
        return agent

    def init(key):
        run_keys = jax.random.split(key, seeds)[seed_index]
        hyperparameters = {k: jnp.asarray(v) for k, v in table.items()}
        runs = jax.vmap(lambda h, k: build(h).init(k))(hyperparameters, run_keys)
        return SweepState(runs=runs, hyperparameters=hyperparameters, run_keys=run_keys)

    def step(state: SweepState):
        runs, metrics = jax.vmap(lambda h, s: build(h).step(s))(state.hyperparameters,
                                                                 state.runs)
        return state._replace(runs=runs), metrics

    batched = Agent(name=f"{name}:{first.name}", init=init, step=step,
                    iterations=first.iterations, policy=None,
                    policy_params=lambda state: None,
                    config={"static": static, "values": values, "seeds": seeds,
                            "runs": len(config_index), "agent": first.config})
    return batched, first

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
                mesh=None, name: str = "sweep") -> tuple[Agent, Agent]:
    """``(batched agent, the agent of the group's first configuration)``.

    Args:
      factory: ``factory(**config) -> Agent``.
      static: the group's fixed values.
      values: ``{name: [value per configuration]}`` of its traced values.
      seeds: runs per configuration; seed ``s`` starts from ``jax.random.split(key,
        seeds)[s]``, as ``jwm.train(agent, key, seeds=seeds)`` does, so that a run of
        the sweep is the same run as its configuration trained alone.
      mesh: a one-axis ``jax.sharding.Mesh`` (axis ``"runs"``) or None. The run count
        is padded to a multiple of its size, and each device runs its own runs with
        ``jax.shard_map``: exactly the single-device program on fewer runs, so a run's
        numbers do not depend on how the runs are sharded (the SPMD partitioner may
        reorder a reduction of a jit over sharded inputs).

    The batched agent's ``init(key)`` and ``step(state)`` act on a `SweepState`;
    its metrics carry the run axis first (``[Rp, ...]``).
    """
    num_configs = len(next(iter(values.values()))) if values else 1
    multiple = 1 if mesh is None else mesh.size
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

    def per_device(fn):
        if mesh is None:
            return fn
        from jax.sharding import PartitionSpec

        runs = PartitionSpec("runs")
        # No collectives: the runs are independent, so the per-device values need no
        # varying-axis bookkeeping (which the agents' scans would otherwise need).
        return jax.shard_map(fn, mesh=mesh, in_specs=runs, out_specs=runs, check_vma=False)

    init_runs = per_device(jax.vmap(lambda h, k: build(h).init(k)))
    step_runs = per_device(jax.vmap(lambda h, s: build(h).step(s)))

    def init(key):
        run_keys = jax.random.split(key, seeds)[seed_index]
        hyperparameters = {k: jnp.asarray(v) for k, v in table.items()}
        runs = init_runs(hyperparameters, run_keys)
        return SweepState(runs=runs, hyperparameters=hyperparameters, run_keys=run_keys)

    def step(state: SweepState):
        runs, metrics = step_runs(state.hyperparameters, state.runs)
        return state._replace(runs=runs), metrics

    batched = Agent(name=f"{name}:{first.name}", init=init, step=step,
                    iterations=first.iterations, policy=None,
                    policy_params=lambda state: None,
                    config={"static": static, "values": values, "seeds": seeds,
                            "runs": len(config_index), "agent": first.config})
    return batched, first

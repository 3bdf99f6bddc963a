"""`sweep`: every configuration × seed of an agent, one vmapped program per group of
configurations that share their shapes, sharded over devices (and hosts), through
`jwm.train` (progress, checkpoints, resume)."""

from __future__ import annotations

import os
import time
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from jwm.agents.contract import Agent
from jwm.checks import check_fields, check_int
from jwm.keys import as_typed_key
from jwm.sweeps.configs import check_configs, group_configs
from jwm.sweeps.program import group_agent, run_layout
from jwm.sweeps.results import SweepResult
from jwm.training.pytrees import flat_metrics

__all__ = ["sweep", "sweep_devices"]


def sweep_devices(devices=None) -> list:
    """The devices a sweep shards its runs over: all of them (every process's, with
    ``jax.distributed``) when None, the first ``n`` for an int, or a given list.

    Raises:
      ValueError: more devices than exist, or fewer than one.
    """
    available = jax.devices()
    if devices is None:
        return list(available)
    if isinstance(devices, (int, np.integer)) and not isinstance(devices, bool):
        if not 1 <= devices <= len(available):
            raise ValueError(f"sweep: devices={devices}, but {len(available)} device(s) exist "
                             f"({available[0].platform}); on CPU, XLA_FLAGS="
                             f"--xla_force_host_platform_device_count=N makes N")
        return list(available[:devices])
    devices = list(devices)
    if not devices or any(d not in available for d in devices):
        raise ValueError(f"sweep: devices must be None, an int or a list of jax.devices(), "
                         f"got {devices!r}")
    return devices


def sweep(factory: Callable[..., Agent], configs, *, seeds: int = 1, key=0, static=(),
          devices=None, checkpoint_dir: str | os.PathLike | None = None,
          checkpoint_every: int = 10, progress: bool = True) -> SweepResult:
    """Trains ``factory(**config)`` for every configuration and seed.

    Configurations are grouped (`jwm.sweeps.group_configs`): a name whose values are
    floats that differ is traced, unless listed in ``static``; each group of
    configurations that agree on the rest is one program, ``jax.vmap``-ed over its
    (configuration × seed) runs and compiled once, the run axis sharded over
    ``devices`` (padded to a multiple of their number; the padding runs are dropped).
    Seed ``s`` of every configuration starts from ``jax.random.split(key, seeds)[s]``:
    a run equals its configuration trained alone with ``jwm.train(factory(**config),
    key, seeds=seeds)``.

    Args:
      factory: ``factory(**config) -> Agent``, called once per configuration with
        concrete values (every check runs before anything compiles) and inside the
        trace with the traced values as float32 scalars.
      configs: a list of dicts with the same keys (e.g. `jwm.sweeps.grid`).
      seeds: runs per configuration.
      key: a PRNG key (typed or legacy) or an int seed.
      static: names never traced (floats that fix a shape, e.g. a batch fraction).
      devices: None (all, over every process), an int (the first n) or a list.
      checkpoint_dir: each group checkpoints into ``<dir>/group-<i>``; a killed
        sweep run again with the same arguments resumes where it stopped.
      checkpoint_every: iterations between checkpoints.
      progress: one progress bar for the whole sweep.

    Returns:
      a `SweepResult`.

    Raises:
      ValueError, TypeError: bad configurations (see `jwm.sweeps.check_configs`), a
        hyperparameter the factory does not take or refuses (named), one that cannot
        be traced, or more devices than exist; all before compiling.
    """
    start = time.perf_counter()
    configs = check_configs(configs)
    seeds = check_int("sweep", "seeds", seeds)
    checkpoint_every = check_int("sweep", "checkpoint_every", checkpoint_every)
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        key = jax.random.key(int(key))
    key = as_typed_key(key, where="sweep")
    if not callable(factory):
        raise TypeError(f"sweep: factory must be callable, got {factory!r}")
    devices = sweep_devices(devices)
    groups = group_configs(configs, static)
    iterations = [_check_group(factory, configs, group) for group in groups]

    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    mesh = Mesh(np.array(devices), ("runs",))
    sharding = NamedSharding(mesh, PartitionSpec("runs"))
    bar = _progress_bar(progress, sum(iterations), len(configs) * seeds, len(devices))
    per_config: list = [None] * len(configs)
    interrupted = False
    try:
        done = 0
        for g, group in enumerate(groups):
            batched, _ = group_agent(factory, group.static, group.values, seeds, mesh=mesh)
            training = _train_group(batched, key, g, len(groups), done, bar, sharding,
                                    checkpoint_dir, checkpoint_every)
            done += iterations[g]
            interrupted = training.interrupted
            config_index, seed_index, real = run_layout(len(group.indices), seeds,
                                                        len(devices))
            flat = flat_metrics(training.metrics)          # [iterations, Rp, ...]
            for local, index in enumerate(group.indices):
                rows = np.arange(real)[config_index[:real] == local]
                per_config[index] = {k: np.moveaxis(v[:, rows], 0, 1) for k, v in flat.items()}
            if interrupted:
                break
    finally:
        bar.close()
    return SweepResult(configs=configs, seeds=seeds, metrics=per_config,
                       traced=groups[0].traced, num_groups=len(groups),
                       devices=[str(d) for d in devices], processes=jax.process_count(),
                       interrupted=interrupted, wall_time_s=time.perf_counter() - start)


def _check_group(factory, configs, group) -> int:
    """Builds every configuration of ``group`` concretely (their checks run now) and
    once with each traced name traced; returns the group's iterations."""
    agents = [_build(factory, configs[i], i) for i in group.indices]
    if len({a.iterations for a in agents}) != 1:
        raise ValueError(f"sweep: the configurations {group.indices} differ in their number "
                         f"of iterations ({sorted({a.iterations for a in agents})}); a value "
                         f"that changes it must be static")
    first = configs[group.indices[0]]
    for name in group.traced:
        def build(value, name=name):
            factory(**{**first, name: value})
            return jnp.zeros(())
        try:
            jax.eval_shape(build, jnp.float32(first[name]))
        except (TypeError, jax.errors.ConcretizationTypeError) as e:
            raise ValueError(f"sweep: hyperparameter {name!r} cannot be traced ({e}); list "
                             f"it in static=[...] to compile one program per value") from None
    return agents[0].iterations


def _build(factory, config, index) -> Agent:
    try:
        agent = factory(**config)
    except TypeError as e:
        if "unexpected keyword argument" in str(e) or "missing" in str(e):
            raise ValueError(f"sweep: configuration {index} {config}: {e}") from None
        raise
    check_fields("sweep", "the factory's result", agent,
                 ("init", "step", "iterations", "config", "with_config"), what="an Agent")
    return agent


def _train_group(batched, key, g, num_groups, offset, bar, sharding, checkpoint_dir,
                 checkpoint_every):
    from jwm.training.driver import train

    def log(iteration, flat):
        bar.n = offset + iteration
        returns = flat.get("eval_return")
        text = f"group {g + 1}/{num_groups}, env steps {np.mean(flat['env_steps']):,.0f}"
        if returns is not None:
            text += f", return {np.nanmean(returns):.1f}"
        bar.set_postfix_str(text)
        bar.refresh()

    directory = None if checkpoint_dir is None else os.path.join(checkpoint_dir, f"group-{g}")
    return train(batched, key, checkpoint_dir=directory, checkpoint_every=checkpoint_every,
                 progress=False, log=log, sharding=sharding)


def _progress_bar(show: bool, total: int, runs: int, num_devices: int):
    import sys

    from tqdm.auto import tqdm

    bar = tqdm(total=total, unit="it", file=sys.stderr, dynamic_ncols=True,
               disable=not show or jax.process_index() != 0,
               desc=f"sweep ({runs} runs, {num_devices} device{'s' if num_devices > 1 else ''})")
    bar.set_postfix_str("compiling")
    return bar

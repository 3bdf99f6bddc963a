"""`train`: drive an `Agent`'s step from the host, with a progress bar, a JSON-lines
metrics log, orbax checkpoints, exact resume, and Ctrl-C that keeps what was done."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import warnings
from typing import Any, Callable, NamedTuple

import jax
import numpy as np

from jwm.agents.contract import strong_types
from jwm.checks import check_int
from jwm.keys import as_typed_key
from jwm.training.checkpoints import RunDirectory
from jwm.training.pytrees import describe_shapes, flat_metrics, to_json

__all__ = ["Training", "train"]


class Training(NamedTuple):
    """What `train` returns.

    Attributes:
      state: the final `AgentState` (leading ``[seeds]`` axis when ``seeds > 1``).
      metrics: every iteration's metrics stacked as ``jax.vmap(agent.run)`` stacks
        them: ``[iterations, ...]``, or ``[seeds, iterations, ...]`` when ``seeds > 1``
        (numpy arrays).
      iterations: iterations done (fewer than asked when interrupted).
      interrupted: Ctrl-C (SIGINT) stopped the run after a finished iteration; it was
        checkpointed and can be resumed.
      resumed_from: the checkpoint's iteration the run resumed from, or None.
      wall_time_s: seconds this call took, compilation included.
    """

    state: Any
    metrics: Any
    iterations: int
    interrupted: bool
    resumed_from: int | None
    wall_time_s: float


class _Interrupts:
    """SIGINT sets a flag that the loop reads between iterations (a compiled step
    cannot be stopped midway); a second SIGINT interrupts at once."""

    def __init__(self):
        self.requested = False
        self._previous = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\njwm.train: interrupted; stopping after this iteration (Ctrl-C again to "
              "abort at once)", file=sys.stderr, flush=True)

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False


def _progress_bar(show: bool, total: int, initial: int, desc: str):
    from tqdm.auto import tqdm

    bar = tqdm(total=total, initial=initial, unit="it", file=sys.stderr, disable=not show,
               desc=desc, dynamic_ncols=True)
    bar.set_postfix_str("compiling")
    return bar


def _postfix(flat: dict, env_steps_rate: float) -> str:
    parts = [f"env steps {np.mean(flat['env_steps']):,.0f}"]
    if "eval_return" in flat:
        parts.append(f"return {np.nanmean(flat['eval_return']):.1f}")
    parts.append(f"{env_steps_rate:,.0f} steps/s")
    bad = int(np.sum(flat.get("num_nonfinite", 0)))
    if bad:
        parts.append(f"NON-FINITE {bad}")
    return ", ".join(parts)


def train(agent, key, *, iterations: int | None = None, seeds: int = 1,
          checkpoint_dir: str | os.PathLike | None = None, checkpoint_every: int = 10,
          keep: int = 3, progress: bool = True,
          log: Callable[[int, dict], None] | None = None,
          config: dict | None = None, sharding=None) -> Training:
    """Trains ``agent`` by calling its jitted step from the host.

    The step (vmapped over seeds when ``seeds > 1``) compiles once. After each
    iteration the metrics go to the progress bar (env steps, latest evaluation
    return, env steps per second, non-finite planner returns if any), to
    ``<checkpoint_dir>/metrics.jsonl`` as one JSON line, and to ``log``. Every
    ``checkpoint_every`` iterations, at the end and on Ctrl-C the state is saved with
    orbax (atomic, asynchronous: training goes on while it is written).

    With ``checkpoint_dir`` holding checkpoints of the same run (same agent, config,
    seeds, key and state shapes), training resumes from the latest readable one and
    ends bit-identical to an uninterrupted run; ``iterations`` larger than a finished
    run's continues it. Results equal ``agent.run(key, iterations)`` (seeds: the
    vmapped run over ``jax.random.split(key, seeds)``).

    Args:
      agent: an `Agent`.
      key: typed or legacy PRNG key of the run.
      iterations: iterations to reach (default ``agent.iterations``).
      seeds: independent runs vmapped in one program, keys split from ``key``.
      checkpoint_dir: where checkpoints and the metrics log go (None: neither).
      checkpoint_every: iterations between checkpoints.
      keep: checkpoints kept on disk.
      progress: show a progress bar on stderr.
      log: ``log(iteration, metrics)`` after every iteration, ``metrics`` a flat dict
        ``{"field/subfield": np.ndarray}`` (per-seed leading axis when ``seeds > 1``);
        e.g. `jwm.training.tensorboard(logdir)`.
      config: more settings that identify the run (e.g. the recipe it was built from).
      sharding: a ``jax.sharding.NamedSharding`` of the leading axis of every state
        and metrics leaf (a batch of runs, as `jwm.sweep` builds), or None. ``init``
        and ``step`` are then jitted with it as their in/out shardings, checkpoints
        restore into it, and with several processes (``jax.distributed``) each one
        computes its shard; the metrics are gathered to every process, and only
        process 0 writes the metrics log.

    Returns:
      a `Training`.

    Raises:
      ValueError: a bad argument; ``checkpoint_dir`` not writable, or holding another
        run (nothing is overwritten).
    """
    start_time = time.perf_counter()
    key = as_typed_key(key, where="train")
    iterations = check_int("train", "iterations",
                                    agent.iterations if iterations is None else iterations)
    seeds = check_int("train", "seeds", seeds)
    checkpoint_every = check_int("train", "checkpoint_every", checkpoint_every)
    keep = check_int("train", "keep", keep)
    if log is not None and not callable(log):
        raise TypeError(f"train: log must be callable or None, got {type(log).__name__}")
    if config is not None and not isinstance(config, dict):
        raise TypeError(f"train: config must be a dict or None, got {type(config).__name__}")

    init, init_keys, step, abstract_state, abstract_metrics = _compiled(agent, key, seeds,
                                                                       sharding)

    run_dir = None
    if checkpoint_dir is not None:
        identity = {"agent": agent.name, "config": agent.config, "run": config or {},
                    "seeds": seeds, "key": np.asarray(jax.random.key_data(key)).tolist(),
                    "key_impl": str(jax.random.key_impl(key)),
                    "state": describe_shapes(abstract_state)}
        run_dir = RunDirectory(checkpoint_dir, identity, keep=keep)

    bar = _progress_bar(progress, iterations, 0, f"{agent.name}" + (f" ({seeds} seeds)"
                                                                    if seeds > 1 else ""))
    history: list = []
    resumed_from = None
    try:
        restored = (run_dir.restore_latest(abstract_state, abstract_metrics,
                                           jax.random.key_impl(key), sharding=sharding)
                    if run_dir else None)
        if restored is not None:
            resumed_from, state, stacked = restored
            history = [jax.tree.map(lambda x, i=i: np.asarray(x[i]), stacked)
                       for i in range(resumed_from)]
            bar.update(min(resumed_from, iterations))
        else:
            state = init(init_keys)
            if sharding is None:
                # Committed to the device, as a restored state is: the step then runs
                # one compiled program for a fresh run and for a resumed one.
                state = jax.device_put(state, jax.devices()[0])
        done = len(history)
        if run_dir is not None:
            _rewrite_log(run_dir.metrics_path, history)
        if done > iterations:
            raise ValueError(f"train: checkpoint_dir holds this run at iteration {done}, "
                             f"past iterations={iterations}")
        interrupted = False
        rate_start, rate_steps0 = time.perf_counter(), None
        with _Interrupts() as interrupts:
            while done < iterations:
                state, metrics = step(state)
                metrics = _to_host(metrics)
                history.append(metrics)
                done += 1
                flat = flat_metrics(metrics)
                if run_dir is not None:
                    _append_log(run_dir.metrics_path, done, flat)
                if log is not None:
                    log(done, flat)
                steps_now = float(np.sum(flat["env_steps"]))
                if rate_steps0 is None:  # the first iteration includes compilation
                    rate_start, rate_steps0, rate = time.perf_counter(), steps_now, 0.0
                else:
                    rate = (steps_now - rate_steps0) / max(time.perf_counter() - rate_start, 1e-9)
                bar.set_postfix_str(_postfix(flat, rate))
                bar.update(1)
                if int(np.sum(flat.get("num_nonfinite", 0))):
                    warnings.warn(f"train: iteration {done}: the planner discarded "
                                  f"{int(np.sum(flat['num_nonfinite']))} non-finite returns "
                                  "(is the model diverging?)", RuntimeWarning, stacklevel=2)
                if run_dir is not None and (done % checkpoint_every == 0 or done == iterations
                                            or interrupts.requested):
                    run_dir.save(done, state, _stack(history))
                if interrupts.requested:
                    interrupted = True
                    break
    finally:
        bar.close()
        if run_dir is not None:
            run_dir.close()
    metrics = _stack(history) if history else None
    if seeds > 1 and history:
        metrics = jax.tree.map(lambda x: np.moveaxis(x, 0, 1), metrics)
    return Training(state=state, metrics=metrics, iterations=done, interrupted=interrupted,
                    resumed_from=resumed_from, wall_time_s=time.perf_counter() - start_time)


def _compiled(agent, key, seeds: int, sharding):
    """``(init, init_arg, step, abstract_state, abstract_metrics)``: the jitted
    functions, what ``init`` takes, and the shapes of the state and of one
    iteration's metrics."""
    # A restored state is strongly typed; an initial one that held weakly typed
    # scalars (flashbax's buffer index) would make the step compile a second time.
    def start(key):
        return strong_types(agent.init(key))

    if sharding is None:
        vectorise = (lambda f: jax.vmap(f)) if seeds > 1 else (lambda f: f)
        init_arg = jax.random.split(key, seeds) if seeds > 1 else key
        # The state is donated: XLA updates the replay buffer and parameters in place,
        # as inside agent.run's scan, instead of copying them every iteration.
        # Checkpoints are safe: orbax copies the arrays to host memory before `save`
        # returns.
        programs = _programs_of(agent)
        if seeds not in programs:
            programs[seeds] = (jax.jit(vectorise(start)),
                               jax.jit(vectorise(agent.step), donate_argnums=0))
        init, step = programs[seeds]
    else:
        if seeds > 1:
            raise ValueError("train: seeds > 1 with a sharding; put the seeds on the run "
                             "axis (jwm.sweep does)")
        from jax.sharding import NamedSharding, PartitionSpec

        # The key enters as plain data, the same on every process (a key array lives
        # on one device, which other processes cannot address).
        init_arg = np.asarray(jax.random.key_data(key))
        impl = jax.random.key_impl(key)
        init = jax.jit(lambda data: start(jax.random.wrap_key_data(data, impl=impl)),
                       in_shardings=NamedSharding(sharding.mesh, PartitionSpec()),
                       out_shardings=sharding)
        step = jax.jit(agent.step, in_shardings=(sharding,),
                       out_shardings=(sharding, sharding), donate_argnums=0)
    abstract_state = jax.eval_shape(init, init_arg)
    abstract_metrics = jax.eval_shape(step, abstract_state)[1]
    return init, init_arg, step, abstract_state, abstract_metrics


def _programs_of(agent) -> dict:
    """The jitted ``(init, step)`` per seed count, kept on the agent itself: calling
    `train` again with the same agent (resuming, extending, comparing in a notebook)
    reuses the compiled programs instead of compiling them again, and they are freed
    with the agent. The record is frozen, so the cache goes into its ``__dict__``
    directly; it is not a field, so equality, `dataclasses.replace` and checkpoints
    ignore it."""
    return agent.__dict__.setdefault("_train_programs", {})


def _to_host(tree):
    """``tree`` as NumPy arrays; with several processes, each array gathered whole
    from every process's shards."""
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        return jax.tree.map(np.asarray, multihost_utils.process_allgather(tree, tiled=True))
    return jax.tree.map(np.asarray, tree)


def _stack(history):
    return jax.tree.map(lambda *xs: np.stack(xs), *history)


def _rewrite_log(path: str, history) -> None:
    """The log holds exactly the checkpoint's iterations (an interrupted run may have
    logged iterations past its last checkpoint; they are run again)."""
    if jax.process_index():
        return
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        for i, metrics in enumerate(history):
            f.write(_log_line(i + 1, flat_metrics(metrics)))
    os.replace(tmp, path)


def _append_log(path: str, iteration: int, flat: dict) -> None:
    if jax.process_index():
        return
    with open(path, "a") as f:
        f.write(_log_line(iteration, flat))


def _log_line(iteration: int, flat: dict) -> str:
    return json.dumps({"iteration": iteration, **to_json(flat)}) + "\n"

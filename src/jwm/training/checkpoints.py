"""Checkpoints of a training run on orbax-checkpoint.

A run's directory holds ``run.json`` (what identifies the run: agent, config, seeds,
key, state shapes), orbax's numbered step folders (each written atomically and
asynchronously, ``keep`` of them kept) and the driver's ``metrics.jsonl``. Each step
holds the agent state (typed keys as key data) and the metrics of every iteration so
far, so a resumed run ends bit-identical to an uninterrupted one.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings

import jax
import numpy as np

from jwm.training.pytrees import data_to_keys, keys_to_data, to_json

__all__ = ["RunDirectory", "config_differences"]

RUN_FILE = "run.json"
CORRUPT_SUFFIX = ".corrupt"


def config_differences(saved, current, path: str = "") -> list[str]:
    """Lines ``"path: saved -> current"`` for every leaf where two JSON trees differ."""
    if isinstance(saved, dict) and isinstance(current, dict):
        out = []
        for key in sorted(set(saved) | set(current), key=str):
            here = f"{path}.{key}" if path else str(key)
            if key not in saved:
                out.append(f"{here}: absent in the checkpoint, {current[key]!r} now")
            elif key not in current:
                out.append(f"{here}: {saved[key]!r} in the checkpoint, absent now")
            else:
                out.extend(config_differences(saved[key], current[key], here))
        return out
    return [] if saved == current else [f"{path}: {saved!r} in the checkpoint, {current!r} now"]


class RunDirectory:
    """One run's checkpoint directory (see the module docstring).

    Args:
      path: the directory; created if missing. It must be writable (checked now,
        before any training).
      identity: a JSON-serialisable dict identifying the run. A directory written by
        a run with another identity is refused with a ValueError naming what
        differs, and left as it is.
      keep: checkpoints kept (older ones are deleted once a newer one is written).
    """

    def __init__(self, path: str, identity: dict, *, keep: int):
        import orbax.checkpoint as ocp

        self.path = os.path.abspath(os.fspath(path))
        self._ocp = ocp
        try:
            os.makedirs(self.path, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.path, prefix=".write-test-"):
                pass
        except OSError as e:
            raise ValueError(f"checkpoint_dir {self.path!r} is not a writable directory: "
                             f"{e.strerror or e}") from None
        self.identity = to_json(identity)
        run_file = os.path.join(self.path, RUN_FILE)
        if os.path.exists(run_file):
            with open(run_file) as f:
                saved = json.load(f)
            differences = config_differences(saved, self.identity)
            if differences:
                raise ValueError(
                    f"checkpoint_dir {self.path!r} holds a different run; it is left as it "
                    f"is. Use another directory, or the same settings. Differences:\n  "
                    + "\n  ".join(differences[:20]))
        elif any(name.isdigit() for name in os.listdir(self.path)):
            raise ValueError(f"checkpoint_dir {self.path!r} holds checkpoints without "
                             f"{RUN_FILE}; it was not written by jwm.train, use another one")
        elif jax.process_index() == 0:
            from jwm.atomic import write_json

            write_json(run_file, self.identity)
        options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True,
                                               enable_async_checkpointing=True)
        self.manager = ocp.CheckpointManager(self.path, options=options)

    @property
    def metrics_path(self) -> str:
        return os.path.join(self.path, "metrics.jsonl")

    def save(self, iteration: int, state, history) -> None:
        """Starts writing ``state`` and ``history`` (metrics ``[iteration, ...]``) as
        step ``iteration``; returns once the arrays are copied, not written."""
        item = {"state": keys_to_data(state), "metrics": history}
        self.manager.save(iteration, args=self._ocp.args.StandardSave(item))

    def restore_latest(self, abstract_state, abstract_metrics, key_impl=None, sharding=None):
        """``(iteration, state, history)`` of the newest readable checkpoint, or None.

        ``abstract_state``/``abstract_metrics`` are ``ShapeDtypeStruct`` trees of the
        state and of one iteration's metrics. A checkpoint that cannot be read
        (truncated, corrupt) is reported with a warning, renamed ``<step>.corrupt`` so
        that it is neither used nor overwritten, and the previous one is tried.
        ``sharding`` (see `jwm.train`) places every state leaf; the metrics come back
        as NumPy arrays.
        """
        def placed(struct):
            return jax.ShapeDtypeStruct(struct.shape, struct.dtype, sharding=sharding)

        for step in sorted(self.manager.all_steps(), reverse=True):
            history = jax.tree.map(lambda a: np.zeros((step,) + a.shape, a.dtype),
                                   abstract_metrics)
            state = jax.eval_shape(keys_to_data, abstract_state)
            if sharding is not None:
                state = jax.tree.map(placed, state)
            target = {"state": state, "metrics": history}
            try:
                item = self.manager.restore(step, args=self._ocp.args.StandardRestore(target))
            except Exception as e:  # orbax raises many kinds for unreadable data
                warnings.warn(f"checkpoint {step} in {self.path} cannot be read "
                              f"({type(e).__name__}: {str(e)[:200]}); it is renamed "
                              f"{step}{CORRUPT_SUFFIX} and an earlier one is used", stacklevel=2)
                self._set_aside(step)
                continue
            return step, data_to_keys(item["state"], abstract_state, key_impl), item["metrics"]
        return None

    def _set_aside(self, step: int) -> None:
        source = os.path.join(self.path, str(step))
        target = source + CORRUPT_SUFFIX
        n = 1
        while os.path.exists(target):
            target, n = f"{source}{CORRUPT_SUFFIX}{n}", n + 1
        os.replace(source, target)
        self.manager.reload()

    def wait(self) -> None:
        """Blocks until every checkpoint started is on disk."""
        self.manager.wait_until_finished()

    def close(self) -> None:
        self.manager.wait_until_finished()
        self.manager.close()

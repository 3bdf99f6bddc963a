"""Ready ``log`` hooks for `jwm.train`."""

from __future__ import annotations

import numpy as np

__all__ = ["tensorboard"]


def tensorboard(logdir: str):
    """A `train` log hook writing every metric as a TensorBoard scalar (tensorboardX,
    the ``tensorboard`` extra): the mean over seeds and elements under its name, and
    each seed's own under ``name/seed_<i>`` when there are several seeds.

    Returns ``log(iteration, metrics)``; its ``writer`` attribute is the
    ``SummaryWriter`` (flushed after every iteration).
    """
    try:
        from tensorboardX import SummaryWriter
    except ImportError as e:
        raise ImportError("jwm.training.tensorboard needs tensorboardX: "
                          "pip install 'jwm[tensorboard]'") from e
    writer = SummaryWriter(logdir)

    def log(iteration: int, metrics: dict) -> None:
        seeds = np.ndim(metrics.get("env_steps", 0))
        for name, value in metrics.items():
            value = np.asarray(value, np.float64)
            if not np.isfinite(value).any():
                continue
            writer.add_scalar(name, float(np.nanmean(value)), iteration)
            if seeds:
                per_seed = value.reshape(value.shape[0], -1)
                for i, row in enumerate(per_seed):
                    if np.isfinite(row).any():
                        writer.add_scalar(f"{name}/seed_{i}", float(np.nanmean(row)), iteration)
        writer.flush()

    log.writer = writer
    return log

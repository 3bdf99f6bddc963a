"""Training runs driven from the host: `train` (progress, metrics log, orbax
checkpoints, exact resume) and ready log hooks (`tensorboard`)."""

from jwm import _export_lazily

__all__ = ["Training", "tensorboard", "train"]

_export_lazily(__name__, {"driver": ["Training", "train"], "logs": ["tensorboard"]})

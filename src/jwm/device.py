"""The device a run used, described once for results, logs and benchmarks."""

from __future__ import annotations

import os

__all__ = ["device_name"]


def device_name() -> str:
    """``"<platform>: <device kind>, <N> cores"`` of JAX's first device, e.g.
    ``"cpu: cpu, 2 cores"`` (the host's CPU count, since a CPU run is bounded by it)."""
    import jax  # here: importing jwm.device (the command's help) does not import jax

    d = jax.devices()[0]
    return f"{d.platform}: {d.device_kind}, {os.cpu_count()} cores"

"""Argument checks at the public boundary of the world models.

Shapes are static under jit and vmap, so these checks run once, at trace time, and
cost nothing per call. Without them a wrong shape surfaces as a reshape or
concatenate error deep inside the network.
"""

from __future__ import annotations

import numpy as np

__all__ = ["check_shape"]


def check_shape(where: str, name: str, value, expected, *, lead=()) -> None:
    """Raises unless ``value`` has shape ``lead + expected``.

    Args:
      where: the public function, e.g. ``"ensemble_model.step"``.
      name: the parameter, e.g. ``"action"``.
      value: an array, a tracer or anything `np.shape` reads (a Python scalar is ``()``).
      expected: the shape of one item, e.g. the model's ``action_shape``.
      lead: batch axes the caller's other arguments already carry (``()`` for one item).

    Raises:
      ValueError: ``"<where>: <name> must have shape <shape>, got <shape>"``.
    """
    want = tuple(lead) + tuple(expected)
    got = tuple(np.shape(value))
    if got != want:
        raise ValueError(f"{where}: {name} must have shape {want}, got {got}")

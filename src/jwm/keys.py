"""PRNG keys at the public boundary: typed keys (`jax.random.key`) and legacy
`jax.random.PRNGKey` ``uint32[..., 2]`` keys are both accepted and turned into typed
keys, so code inside jwm indexes, splits and stores one kind only.

A legacy key and the typed key made from the same seed hold the same bits, so a
function gives bit-identical results for either kind.

Records of functions convert once, where they are built: `with_typed_key` wraps a
function so that its key argument goes through `as_typed_key` before the body runs
(at trace time under jit or vmap, so it costs nothing per call).
"""

from __future__ import annotations

import functools
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["as_typed_key", "is_typed_key", "with_typed_key"]


def is_typed_key(key) -> bool:
    """True for an array of typed PRNG keys (any shape)."""
    return hasattr(key, "dtype") and jnp.issubdtype(key.dtype, jax.dtypes.prng_key)


def as_typed_key(key, name: str = "key", *, where: str | None = None):
    """``key`` as a typed key array of the same batch shape.

    Args:
      key: a typed key array ``[...]`` or a legacy raw key ``uint32[..., 2]``.
      name: the parameter's name, for the error message.
      where: the function that received it, for the error message.

    Raises:
      TypeError: ``key`` is neither (a Python int, a float array, a wrong trailing size).
    """
    if is_typed_key(key):
        return key
    prefix = f"{where}: " if where else ""
    dtype = getattr(key, "dtype", None)
    shape = tuple(getattr(key, "shape", ()) or ())
    if dtype is None or not np.issubdtype(np.dtype(dtype), np.unsignedinteger) \
            or np.dtype(dtype).itemsize != 4 or not shape or shape[-1] != 2:
        hint = f" Make one with jax.random.key({key!r})." if isinstance(key, int) else ""
        raise TypeError(f"{prefix}{name} must be a PRNG key, jax.random.key(seed) or "
                        f"jax.random.PRNGKey(seed) (uint32[2]); got {_describe(key)}.{hint}")
    return jax.random.wrap_key_data(jnp.asarray(key))


def with_typed_key(fn: Callable, argnum: int, *, where: str, name: str = "key",
                   optional: bool = False) -> Callable:
    """``fn`` with its key argument turned into a typed key by `as_typed_key`.

    Args:
      fn: the function to wrap.
      argnum: the key's position; a call may also pass it as the keyword ``name``.
      where: the function's public name (``"cem.plan"``), for the error message.
      name: the key parameter's name.
      optional: ``None`` passes through unchanged, for functions that ignore their key
        (a planner's ``init``), so ``init(None)`` stays valid.

    Returns:
      a function of the same signature; ``fn`` itself when it is already wrapped at
      ``argnum`` (so a record built from another's functions converts once).
    """
    if getattr(fn, "_typed_key_argnum", None) == argnum:
        return fn

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        if name in kwargs:
            kwargs[name] = _converted(kwargs[name])
        elif len(args) > argnum:
            args = args[:argnum] + (_converted(args[argnum]),) + args[argnum + 1:]
        return fn(*args, **kwargs)

    def _converted(key):
        return key if optional and key is None else as_typed_key(key, name, where=where)

    wrapped._typed_key_argnum = argnum
    return wrapped


def _describe(value) -> str:
    if hasattr(value, "dtype") and hasattr(value, "shape"):
        return f"an array of dtype {value.dtype} and shape {tuple(value.shape)}"
    return f"{type(value).__name__} {value!r}"[:80]

"""Pytree helpers for saving agent states and metrics: typed PRNG keys become their
key data (orbax stores plain arrays; orbax issues #620/#1105/#2540), metrics
NamedTuples become flat ``{"model/loss": array}`` dicts for logs."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jwm.keys import is_typed_key

__all__ = ["keys_to_data", "data_to_keys", "flat_metrics", "describe_shapes", "to_json"]


def keys_to_data(tree):
    """Every typed key leaf of ``tree`` replaced by its ``uint32`` key data."""
    return jax.tree.map(lambda x: jax.random.key_data(x) if is_typed_key(x) else x, tree)


def data_to_keys(tree, template, impl=None):
    """Inverse of `keys_to_data`: leaves whose ``template`` leaf (arrays or
    ``ShapeDtypeStruct``s) is a typed key are wrapped back into keys of ``impl``."""
    def back(x, t):
        if jnp.issubdtype(t.dtype, jax.dtypes.prng_key):
            return jax.random.wrap_key_data(x, impl=impl)
        return x
    return jax.tree.map(back, tree, template)


def flat_metrics(metrics, prefix: str = "") -> dict:
    """A NamedTuple (nested) of arrays as ``{"field/subfield": np.ndarray}``; an empty
    ``()`` (a part a record does not fill) has no entry."""
    out = {}
    fields = getattr(metrics, "_fields", None)
    if fields is None and isinstance(metrics, tuple) and not metrics:
        return out
    items = zip(fields, metrics) if fields is not None else (
        metrics.items() if isinstance(metrics, dict) else None)
    if items is None:
        return {prefix.rstrip("/"): np.asarray(metrics)}
    for name, value in items:
        out.update(flat_metrics(value, f"{prefix}{name}/"))
    return out


def describe_shapes(tree) -> dict:
    """``{"path": "float32[4, 3]"}`` for every leaf (typed keys named as such)."""
    out = {}
    for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
        dtype = "key" if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key) else str(leaf.dtype)
        out[jax.tree_util.keystr(path)] = f"{dtype}{list(leaf.shape)}"
    return out


def to_json(value):
    """``value`` made of JSON types: arrays as (nested) lists, NaN and inf as None,
    tuples as lists, anything else by ``str``."""
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, (np.ndarray, np.generic, jax.Array)):
        return to_json(np.asarray(value).tolist())
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)

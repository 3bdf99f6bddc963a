"""Short printed forms of records: dtypes and shapes instead of the numbers.

A record (a NamedTuple or a dataclass of arrays, such as `jwm.agents.Episode`) of a
few vmapped seeds holds tens of thousands of numbers; its default repr prints them
all. Here it prints as its type name and, per field, the array's dtype and shape::

    Episode(observations=f32[4,200,3], ..., total_return=f32[4], length=i32[4])

API:

* ``summarize(value) -> str``: the short form of any value. Records (NamedTuples,
  dataclasses, flax struct dataclasses) print as ``Type(field=..., ...)``, nested
  records, tuples, lists and dicts recursively; an array as ``dtype[shape]``
  (``f32[4,200,3]``, ``key<fry>[4]``), except a concrete 0-d array, which prints its
  value (``length=200``); a dict of more than four arrays (a network's parameters)
  as ``{12 arrays, 3,456 numbers}``; anything else as its repr, cut to 60 characters.
* ``record_repr``: ``summarize`` as a method. Assign it in a class body to make it the
  record's repr::

      class Episode(NamedTuple):
          rewards: jax.Array
          __repr__ = record_repr

  For a ``@dataclasses.dataclass`` the assignment wins over the generated repr too.
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

__all__ = ["record_repr", "summarize"]

_MAX_OTHER = 60
_MAX_DICT_ARRAYS = 4


def summarize(value) -> str:
    """The short printed form of ``value`` (see the module docstring)."""
    if _is_array(value):
        return _array(value)
    if _is_namedtuple(value):
        return _record(type(value).__name__, zip(value._fields, value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = ((f.name, getattr(value, f.name)) for f in dataclasses.fields(value))
        return _record(type(value).__name__, fields)
    if isinstance(value, (tuple, list)):
        inner = ", ".join(summarize(v) for v in value)
        return f"({inner}{',' if len(value) == 1 else ''})" if isinstance(value, tuple) \
            else f"[{inner}]"
    if isinstance(value, dict):
        leaves = [x for x in jax.tree.leaves(value) if _is_array(x)]
        if len(leaves) > _MAX_DICT_ARRAYS:
            # A network's parameter tree: its size says more than its layer names.
            numbers = sum(int(np.prod(x.shape)) for x in leaves)
            return f"{{{len(leaves)} arrays, {numbers:,} numbers}}"
        return "{" + ", ".join(f"{k!r}: {summarize(v)}" for k, v in value.items()) + "}"
    text = repr(value)
    return text if len(text) <= _MAX_OTHER else text[:_MAX_OTHER - 3] + "..."


def record_repr(self) -> str:
    """``summarize(self)``; assign as ``__repr__`` in a record's class body."""
    return summarize(self)


def _record(name, fields) -> str:
    return f"{name}(" + ", ".join(f"{k}={summarize(v)}" for k, v in fields) + ")"


def _is_namedtuple(value) -> bool:
    return isinstance(value, tuple) and hasattr(type(value), "_fields")


def _is_array(value) -> bool:
    return hasattr(value, "shape") and hasattr(value, "dtype")


def _array(x) -> str:
    concrete = not isinstance(x, jax.core.Tracer)
    if concrete and x.shape == () and not jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
        return str(np.asarray(x)[()])  # NumPy's shortest form: 0.1 for a float32 0.1
    return f"{_dtype(x.dtype)}[{','.join(str(d) for d in x.shape)}]"


def _dtype(dtype) -> str:
    if jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        return str(dtype)  # e.g. key<fry>
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return "bool"
    if dtype.kind in "fiuc":  # float32 -> f32; ml_dtypes (bfloat16, kind "V") keep names
        return f"{dtype.kind}{dtype.itemsize * 8}"
    return dtype.name

"""Argument checks shared by every public builder: each raises a clear error naming
the parameter.

Hyperparameters that fix a shape (widths, horizons, populations, simulations) are
Python ints, checked by `check_int`. Every other numeric hyperparameter may also be a
JAX scalar: `check_real` checks a concrete value (a Python number, a NumPy or a
concrete JAX 0-d array) and lets a tracer through unchecked, so that a caller can
build a planner or an agent inside ``jax.vmap`` over learning rates, discounts or
temperatures (`jwm.sweep` does). Builders must therefore never branch in Python on
such a value nor convert it with ``float``.
"""

from __future__ import annotations

import numbers

import jax
import numpy as np

__all__ = ["branch", "check_choice", "check_fields", "check_int", "check_real",
           "is_traced"]


def is_traced(value) -> bool:
    """True for a value whose number is unknown while tracing (a tracer)."""
    return isinstance(value, jax.core.Tracer)


def branch(condition, when_true, when_false):
    """``when_true()`` or ``when_false()``: a Python choice when ``condition`` is
    concrete (only one side is built), an elementwise select of both sides when it is
    traced (e.g. ``temperature == 0`` with a traced temperature). Both callables
    return arrays (or pytrees of them) of the same shapes."""
    if not is_traced(condition):
        return when_true() if bool(condition) else when_false()
    return jax.tree.map(lambda a, b: jax.numpy.where(condition, a, b), when_true(), when_false())


def check_real(where: str, name: str, value, *, low: float = -np.inf, high: float = np.inf,
               low_open: bool = False, high_open: bool = False, finite: bool = True,
               static: bool = False):
    """``value`` unchanged if it is a real scalar in the interval, or a tracer.

    Args:
      where: the public function, e.g. ``"cem"``.
      name: the parameter, e.g. ``"alpha"``.
      value: a Python real, a 0-d NumPy or JAX array of a real dtype, or a tracer.
      low, high, low_open, high_open: the allowed interval.
      finite: also refuse +-inf.
      static: the value fixes a shape (e.g. a fraction of a batch): refuse a tracer.

    Returns:
      ``value`` as given (a Python number stays one; an array stays an array), so that
      it enters the computation as the caller made it.

    Raises:
      TypeError: not a real scalar (a bool, a string, an array with axes), or traced
        when ``static``.
      ValueError: NaN, infinite (when ``finite``) or outside the interval.
    """
    if is_traced(value):
        if static:
            raise TypeError(f"{where}: {name} fixes a shape, so it must be a concrete "
                            f"number, not traced")
        if np.ndim(value) != 0:
            raise TypeError(f"{where}: {name} must be a scalar, got a traced array of "
                            f"shape {np.shape(value)}")
        return value
    dtype = getattr(value, "dtype", None)
    real = (isinstance(value, numbers.Real) if dtype is None else
            np.ndim(value) == 0 and (np.issubdtype(dtype, np.floating)
                                     or np.issubdtype(dtype, np.integer)))
    if isinstance(value, (bool, np.bool_)) or not real:
        raise TypeError(f"{where}: {name} must be a real number, got {value!r}")
    x = float(value)
    above = low < x if low_open else low <= x
    below = x < high if high_open else x <= high
    if not (above and below) or (finite and not np.isfinite(x)):
        interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        kind = "finite and in" if finite else "in"
        raise ValueError(f"{where}: {name} must be {kind} {interval}, got {value!r}")
    return value


def check_int(where: str, name: str, value, *, minimum: int = 1) -> int:
    """``value`` (a Python or NumPy integer, never traced: it fixes a shape or counts a
    loop) as an int ``>= minimum``; the one integer check of every builder and loop.

    Raises:
      TypeError: not an integer (a float, a bool, a tracer).
      ValueError: below ``minimum``.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        hint = " (it fixes a shape, so it cannot be traced)" if is_traced(value) else ""
        raise TypeError(f"{where}: {name} must be an int >= {minimum}{hint}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{where}: {name} must be an int >= {minimum}, got {value}")
    return int(value)


def check_fields(where: str, name: str, value, fields, *, what: str):
    """``value`` if it has every attribute in ``fields``. Records are open (design
    principle 3): any object with the fields a function uses is accepted, whatever its
    class; a TypeError names ``what`` is expected and the fields missing."""
    missing = [field for field in fields if not hasattr(value, field)]
    if missing:
        raise TypeError(f"{where}: {name} must be {what}; got a {type(value).__name__} "
                        f"without {', '.join(missing)}")
    return value


def check_choice(where: str, name: str, value, choices):
    """``value`` if it is one of ``choices``; a ValueError listing them otherwise."""
    if value not in choices:
        raise ValueError(f"{where}: {name} must be one of {list(choices)}, got {value!r}")
    return value

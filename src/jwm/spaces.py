"""Action and observation spaces.

Spaces are static configuration, not pytrees: they are built once, hashed, and closed
over by jitted functions. Their bounds live as NumPy arrays so that planners can read
them at trace time (to pick a sampling scheme, to validate) without a device transfer.
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from jwm.checks import check_int

__all__ = ["Box", "Discrete", "Space"]


class Box:
    """A box ``[low, high]`` of real vectors.

    Args:
      low: lower bound, a scalar or an array broadcastable to ``shape``.
      high: upper bound, a scalar or an array broadcastable to ``shape``.
      shape: the shape of an element; inferred from ``low``/``high`` when omitted.
      dtype: dtype of elements (default ``float32``); integer and bool boxes describe
        observations such as grids, only floating boxes can be sampled or planned over.

    Raises:
      ValueError: if a bound is NaN, ``low > high`` anywhere, or the shapes do not
        broadcast.
    """

    def __init__(self, low, high, shape: Sequence[int] | None = None, dtype=jnp.float32):
        dtype = np.dtype(dtype)
        if not (np.issubdtype(dtype, np.number) or dtype == np.bool_):
            raise TypeError(f"Box: dtype must be numeric or bool, got {dtype}")
        low_arr = np.asarray(low, dtype=np.float64)
        high_arr = np.asarray(high, dtype=np.float64)
        if shape is None:
            try:
                shape = np.broadcast_shapes(low_arr.shape, high_arr.shape)
            except ValueError as e:
                raise ValueError(
                    f"Box: low shape {low_arr.shape} and high shape {high_arr.shape} "
                    "do not broadcast"
                ) from e
        shape = tuple(int(d) for d in shape)
        if any(d < 0 for d in shape):
            raise ValueError(f"Box: shape must have non-negative dims, got {shape}")
        for name, arr in (("low", low_arr), ("high", high_arr)):
            try:
                np.broadcast_to(arr, shape)
            except ValueError as e:
                raise ValueError(
                    f"Box: {name} of shape {arr.shape} does not broadcast to shape {shape}"
                ) from e
            if np.isnan(arr).any():
                raise ValueError(f"Box: {name} contains NaN")
        low_arr = np.broadcast_to(low_arr, shape).astype(dtype)
        high_arr = np.broadcast_to(high_arr, shape).astype(dtype)
        if (low_arr > high_arr).any():
            raise ValueError(
                f"Box: low must be <= high everywhere, got low={low_arr} high={high_arr}"
            )
        low_arr.setflags(write=False)
        high_arr.setflags(write=False)
        self.low = low_arr
        self.high = high_arr
        self.shape = shape
        self.dtype = dtype

    @property
    def is_bounded(self) -> bool:
        """Whether every bound is finite (needed to sample uniformly)."""
        return bool(np.isfinite(self.low).all() and np.isfinite(self.high).all())

    def sample(self, key: jax.Array, shape: Sequence[int] = ()) -> jax.Array:
        """Uniform samples of shape ``[*shape, *self.shape]``; needs finite bounds."""
        if not self.is_bounded:
            raise ValueError("Box.sample: the box is unbounded; give finite low and high")
        if not np.issubdtype(self.dtype, np.floating):
            raise TypeError(f"Box.sample: only floating boxes can be sampled, not {self.dtype}")
        return jax.random.uniform(
            key, tuple(shape) + self.shape, self.dtype, minval=self.low, maxval=self.high
        )

    def contains(self, x) -> jax.Array:
        """Boolean scalar: ``x`` has this shape and lies inside the bounds."""
        x = jnp.asarray(x)
        if x.shape != self.shape:
            return jnp.asarray(False)
        return jnp.all((x >= self.low) & (x <= self.high))

    def clip(self, x) -> jax.Array:
        """Projects ``x`` (broadcast over leading axes) onto the box."""
        return jnp.clip(x, self.low, self.high)

    def __repr__(self) -> str:
        if self.low.size and (self.low == self.low.flat[0]).all() and (
            self.high == self.high.flat[0]
        ).all():
            return f"Box({self.low.flat[0]}, {self.high.flat[0]}, shape={self.shape})"
        return f"Box(low={self.low.tolist()}, high={self.high.tolist()}, shape={self.shape})"

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, Box)
            and self.shape == other.shape
            and self.dtype == other.dtype
            and np.array_equal(self.low, other.low)
            and np.array_equal(self.high, other.high)
        )

    def __hash__(self) -> int:
        return hash(("Box", self.shape, str(self.dtype), self.low.tobytes(), self.high.tobytes()))


class Discrete:
    """The integers ``0 .. n-1``, as ``int32`` scalars.

    Raises:
      ValueError: if ``n`` is not a positive integer.
    """

    def __init__(self, n: int):
        self.n = check_int("Discrete", "n", n)
        self.shape = ()
        self.dtype = np.dtype(np.int32)

    def sample(self, key: jax.Array, shape: Sequence[int] = ()) -> jax.Array:
        """Uniform samples of shape ``shape`` (int32)."""
        return jax.random.randint(key, tuple(shape), 0, self.n, dtype=jnp.int32)

    def contains(self, x) -> jax.Array:
        x = jnp.asarray(x)
        if x.shape != () or not jnp.issubdtype(x.dtype, jnp.integer):
            return jnp.asarray(False)
        return (x >= 0) & (x < self.n)

    def clip(self, x) -> jax.Array:
        return jnp.clip(x, 0, self.n - 1).astype(jnp.int32)

    def __repr__(self) -> str:
        return f"Discrete({self.n})"

    def __eq__(self, other) -> bool:
        return isinstance(other, Discrete) and self.n == other.n

    def __hash__(self) -> int:
        return hash(("Discrete", self.n))


Space = Box | Discrete

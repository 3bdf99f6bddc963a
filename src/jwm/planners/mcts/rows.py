"""`Row`: the ``A`` action values of one node, held as ``A`` scalars when ``A`` is short.

Selection runs once per node visited by every simulation, on rows of ``A`` values.
Written on ``[A]`` vectors, each reduction in it (softmax sums, min/max
normalisation, argmax) is a kernel of its own on CPU, and so is every vector op fed
by a reduced scalar (XLA will not recompute the reduction per element); one Gumbel
interior selection was 15 kernels. A loop body of more than 8 kernels is also run by
XLA's concurrent executor, whose scheduling then costs about 1 us per iteration on
its own. Held as columns, the same arithmetic is scalar code that XLA fuses into one
or two kernels per selection. Long rows (``A > UNROLL``) stay vectors.

The arithmetic is the same per element; sums run left to right (what XLA's own
reduction does for a single row), maxima, minima and argmaxes are exact in any order.
"""

from __future__ import annotations

import operator

import jax.numpy as jnp

__all__ = ["Row", "UNROLL"]

# Rows longer than this stay [A] vectors: unrolling would grow the program.
UNROLL = 32


class Row:
    """``A`` values: ``cols`` (a tuple of same-shaped arrays) or ``vec`` (``[..., A]``)."""

    __slots__ = ("cols", "vec")
    __hash__ = None

    def __init__(self, cols=None, vec=None):
        self.cols, self.vec = cols, vec

    # ------------------------------------------------------------- construction

    @staticmethod
    def of(x) -> "Row":
        """The row of the last axis of ``x``."""
        if isinstance(x, Row):
            return x
        x = jnp.asarray(x)
        if x.shape[-1] <= UNROLL:
            return Row(cols=tuple(x[..., k] for k in range(x.shape[-1])))
        return Row(vec=x)

    @staticmethod
    def arange(n: int, dtype) -> "Row":
        if n <= UNROLL:
            return Row(cols=tuple(jnp.asarray(k, dtype) for k in range(n)))
        return Row(vec=jnp.arange(n, dtype=dtype))

    def array(self):
        """The ``[..., A]`` array."""
        return self.vec if self.cols is None else jnp.stack(self.cols, axis=-1)

    @property
    def dtype(self):
        return jnp.result_type(self.vec if self.cols is None else self.cols[0])

    def __len__(self):
        return len(self.cols) if self.cols is not None else self.vec.shape[-1]

    # ------------------------------------------------------------- elementwise

    @staticmethod
    def map(fn, *args) -> "Row":
        """``fn`` applied per element; non-`Row` arguments are the same for every one."""
        rows = [a for a in args if isinstance(a, Row)]
        if rows[0].cols is not None:
            n = len(rows[0].cols)
            return Row(cols=tuple(fn(*[a.cols[k] if isinstance(a, Row) else a for a in args])
                                  for k in range(n)))
        return Row(vec=fn(*[a.vec if isinstance(a, Row) else jnp.asarray(a)[..., None]
                            for a in args]))

    @staticmethod
    def where(cond, a, b) -> "Row":
        return Row.map(jnp.where, cond, a, b)

    @staticmethod
    def maximum(a, b) -> "Row":
        return Row.map(jnp.maximum, a, b)

    @staticmethod
    def minimum(a, b) -> "Row":
        return Row.map(jnp.minimum, a, b)

    def astype(self, dtype) -> "Row":
        return Row.map(lambda x: x.astype(dtype), self)

    def exp(self) -> "Row":
        return Row.map(jnp.exp, self)

    def log(self) -> "Row":
        return Row.map(jnp.log, self)

    def sqrt(self) -> "Row":
        return Row.map(jnp.sqrt, self)

    def isnan(self) -> "Row":
        return Row.map(jnp.isnan, self)

    def _binary(op, reflected=False):
        if reflected:
            return lambda self, other: Row.map(lambda a, b: op(b, a), self, other)
        return lambda self, other: Row.map(op, self, other)

    __add__, __radd__ = _binary(operator.add), _binary(operator.add, True)
    __sub__, __rsub__ = _binary(operator.sub), _binary(operator.sub, True)
    __mul__, __rmul__ = _binary(operator.mul), _binary(operator.mul, True)
    __truediv__, __rtruediv__ = _binary(operator.truediv), _binary(operator.truediv, True)
    __and__, __rand__ = _binary(operator.and_), _binary(operator.and_, True)
    __or__, __ror__ = _binary(operator.or_), _binary(operator.or_, True)
    __xor__, __rxor__ = _binary(operator.xor), _binary(operator.xor, True)
    __rshift__, __lshift__ = _binary(operator.rshift), _binary(operator.lshift)
    __eq__, __ne__ = _binary(operator.eq), _binary(operator.ne)
    __lt__, __le__ = _binary(operator.lt), _binary(operator.le)
    __gt__, __ge__ = _binary(operator.gt), _binary(operator.ge)
    del _binary

    def __neg__(self) -> "Row":
        return Row.map(operator.neg, self)

    def __invert__(self) -> "Row":
        return Row.map(operator.invert, self)

    # ------------------------------------------------------------- reductions

    def _fold(self, fn, vector_fn):
        if self.cols is None:
            return vector_fn(self.vec, axis=-1)
        out = self.cols[0]
        for c in self.cols[1:]:
            out = fn(out, c)
        return out

    def sum(self):
        return self._fold(operator.add, jnp.sum)

    def max(self):
        return self._fold(jnp.maximum, jnp.max)

    def min(self):
        return self._fold(jnp.minimum, jnp.min)

    def any(self):
        return self._fold(operator.or_, jnp.any)

    def argmax(self):
        """`jnp.argmax` (int32): the first maximum, a NaN ranking above any number."""
        if self.cols is None:
            return jnp.argmax(self.vec, axis=-1).astype(jnp.int32)
        best, index = self.cols[0], jnp.zeros(jnp.shape(self.cols[0]), jnp.int32)
        floating = jnp.issubdtype(jnp.result_type(best), jnp.floating)
        for k, c in enumerate(self.cols[1:], start=1):
            take = c > best
            if floating:
                take = take | (jnp.isnan(c) & ~jnp.isnan(best))
            best = jnp.where(take, c, best)
            index = jnp.where(take, jnp.int32(k), index)
        return index

    def softmax(self) -> "Row":
        """`jax.nn.softmax` of the row."""
        e = (self - self.max()).exp()
        return e / e.sum()

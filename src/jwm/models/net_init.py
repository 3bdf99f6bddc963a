"""A flax network's ``init`` as one compiled program. Called eagerly, flax's ``init``
dispatches (and compiles) hundreds of small ops one by one: seconds on a CPU for an
RSSM; compiled whole, it is one program, and models built with the same settings share
it."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from jwm.checks import is_traced

__all__ = ["net_init"]

# An init program runs once per model: the backend's heaviest optimisation passes would
# cost more than they save. At level 1 the parameters still come out bitwise as an
# eager init gives them (level 0 changes the last bit of some).
_FAST_COMPILE = {"xla_backend_optimization_level": 1}


def _zeros_init(net, key, example):
    return net.init(key, *(jnp.zeros(shape, dtype) for shape, dtype in example))


_shared_init = jax.jit(_zeros_init, static_argnums=(0, 2), compiler_options=_FAST_COMPILE)


def net_init(net, *example):
    """``init(key) -> params`` of the flax module ``net`` called on zeros shaped like
    ``example``, ``(shape, dtype)`` pairs. Called eagerly, it runs one compiled
    program, cached by the module's fields and the shapes, so rebuilding a model does
    not compile it again (unless a field is unhashable, a list say: then each model
    compiles its own); traced (in a jit or vmap), it is part of the caller's program."""
    example = tuple((tuple(shape), jnp.dtype(dtype)) for shape, dtype in example)
    try:
        hash(net)
        compiled = functools.partial(_shared_init, net)
    except TypeError:
        compiled = jax.jit(functools.partial(_zeros_init, net), static_argnums=1,
                           compiler_options=_FAST_COMPILE)

    def init(key):
        if is_traced(key):  # compiler options are for top-level jits only
            return _zeros_init(net, key, example)
        return compiled(key, example)

    return init

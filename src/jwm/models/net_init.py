"""A flax network's ``init`` as one compiled program. Called eagerly, flax's ``init``
dispatches (and compiles) hundreds of small ops one by one: seconds on a CPU for an
RSSM; compiled whole, it is one program, and models built with the same settings share
it."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

try:  # private: see _tracing
    from jax._src import core as _jax_core
except ImportError:
    _jax_core = None

from jwm.checks import is_traced

__all__ = ["net_init"]


def _zeros_init(net, key, example):
    return net.init(key, *(jnp.zeros(shape, dtype) for shape, dtype in example))


# An init program runs once per model: the backend's heaviest optimisation passes would
# cost more than they save. At level 1 the parameters still come out bitwise as an
# eager init gives them (level 0 changes the last bit of some).
_FAST_COMPILE = {"xla_backend_optimization_level": 1}
_shared_init = jax.jit(_zeros_init, static_argnums=(0, 2), compiler_options=_FAST_COMPILE)


def _tracing() -> bool:
    """Whether a jit, vmap or grad is tracing the caller (even with a concrete key, as
    in ``jax.jit(lambda lr: fit(model, model.init(KEY), ...))``): jax refuses compiler
    options on a nested jit. jax has no public test for this; without the private one,
    init always runs as the caller's ops (slower eagerly, never wrong)."""
    clean = getattr(_jax_core, "trace_state_clean", None)
    return clean is None or not clean()


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
        if is_traced(key) or _tracing():  # part of the caller's program
            return _zeros_init(net, key, example)
        return compiled(key, example)

    return init

"""The objective shooting planners maximise: a model's discounted return of a sequence."""

from __future__ import annotations

from typing import Callable

import jax
import jax.numpy as jnp

from jwm.checks import check_int, check_real

__all__ = ["sequence_return", "population_returns", "worst_score"]


def sequence_return(model, params, latent, actions, key, *, discount: float = 1.0,
                    value_fn: Callable | None = None, num_steps=None) -> jax.Array:
    """Discounted return of one action sequence under ``model``.

    ``sum_t discount**t * (prod_{s<t} d_s) * r_t + discount**H * (prod_s d_s) * V(z_H)``
    where ``r_t, d_t`` are the model's reward and discount at step ``t``: the reward of
    the step that terminates still counts, later ones do not.

    Args:
      actions: ``[H, *action_shape]``.
      key: one key; split into one per step.
      value_fn: optional ``value_fn(params, latent) -> scalar`` for the terminal value.
      num_steps: optional (traced) int; only the first ``num_steps`` actions count and
        the terminal value is taken at the latent reached after them.

    Returns:
      a scalar.
    """
    horizon = actions.shape[0]

    def body(carry, xs):
        z, weight, total = carry
        t, action, step_key = xs
        z_next, reward, model_discount = model.step(params, z, action, step_key)
        _check_scalar("reward", reward)
        _check_scalar("discount", model_discount)
        if num_steps is None:
            return (z_next, weight * discount * model_discount, total + weight * reward), None
        live = t < num_steps
        z_next = jax.tree.map(lambda new, old: jnp.where(live, new, old), z_next, z)
        total = total + jnp.where(live, weight * reward, 0.0)
        weight = jnp.where(live, weight * discount * model_discount, weight)
        return (z_next, weight, total), None

    init = (latent, jnp.ones((), jnp.float32), jnp.zeros((), jnp.float32))
    xs = (jnp.arange(horizon), actions, jax.random.split(key, horizon))
    (z, weight, total), _ = jax.lax.scan(body, init, xs)
    if value_fn is not None:
        total = total + weight * value_fn(params, z)
    return total


def _check_scalar(name, value):
    # Caught at trace time: a [1]-shaped reward would otherwise surface as a scan
    # carry-shape error far from the model that produced it.
    shape = jnp.shape(value)
    if shape != ():
        raise ValueError(f"model.step must return a scalar {name}, got shape {shape}")


def worst_score(dtype=jnp.float32):
    """The score a non-finite return is replaced by: the lowest finite number."""
    return jnp.finfo(dtype).min


def population_returns(model, params, latent, actions, key, *, discount=1.0, value_fn=None,
                       particles: int = 1):
    """Returns of a population of sequences, particles averaged, non-finite sanitised.

    Args:
      actions: ``[N, H, *action_shape]``.
      particles: rollouts per sequence with independent keys; their returns are
        averaged (a stochastic model's expected return).

    Returns:
      ``(returns [N], num_nonfinite int32)``. A NaN or +-inf return becomes
      `worst_score` so it can never be selected over a finite one.
    """
    population = actions.shape[0]

    def one(seq, k):
        if particles == 1:
            return sequence_return(model, params, latent, seq, k, discount=discount,
                                   value_fn=value_fn)
        per_particle = jax.vmap(
            lambda pk: sequence_return(model, params, latent, seq, pk, discount=discount,
                                       value_fn=value_fn)
        )(jax.random.split(k, particles))
        return per_particle.mean()

    returns = jax.vmap(one)(actions, jax.random.split(key, population))
    returns = returns.astype(jnp.float32)
    finite = jnp.isfinite(returns)
    returns = jnp.where(finite, returns, worst_score(returns.dtype))
    return returns, jnp.sum(~finite).astype(jnp.int32)


def make_evaluator(planner: str, model, *, discount, value_fn, particles):
    """Checks the objective's options and returns ``evaluate(params, latent, actions, key)``.

    ``evaluate`` maps ``actions [N, H, *a]`` to ``(returns [N], num_nonfinite)``.
    """
    discount = check_real(planner, "discount", discount, low=0.0, high=1.0)
    particles = check_int(planner, "particles", particles)
    if value_fn is not None and not callable(value_fn):
        raise TypeError(f"{planner}: value_fn must be callable or None, got {value_fn!r}")
    for field in ("init", "encode", "step"):
        if not callable(getattr(model, field, None)):
            raise TypeError(f"{planner}: model must have a callable {field!r} (a WorldModel)")

    def evaluate(params, latent, actions, key):
        return population_returns(model, params, latent, actions, key, discount=discount,
                                  value_fn=value_fn, particles=particles)

    return evaluate

"""Returns of imagined trajectories: lambda-returns and n-step bootstrapped returns."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jwm.checks import check_real

__all__ = ["lambda_returns"]


def lambda_returns(rewards: jax.Array, discounts: jax.Array, values: jax.Array, *,
                   lambda_: float = 0.95) -> jax.Array:
    """TD(lambda) returns, computed backwards along the last axis.

    ``G_t = r_t + d_t * ((1 - lambda) * v_{t+1} + lambda * G_{t+1})`` with
    ``G_T = v_T``: ``lambda=1`` is the Monte-Carlo return bootstrapped at the end,
    ``lambda=0`` the one-step TD target.

    Args:
      rewards: ``[..., T]`` reward of each step.
      discounts: ``[..., T]`` multiplier of everything after step ``t`` (the discount
        factor times the probability of continuing; 0 at a terminal step).
      values: ``[..., T + 1]`` value estimates of the states ``0..T``; ``values[..., 0]``
        is unused and ``values[..., T]`` is the bootstrap.
      lambda_: mixing coefficient in ``[0, 1]``; may be traced.

    Returns:
      ``[..., T]`` the returns ``G_0..G_{T-1}``.
    """
    check_real("lambda_returns", "lambda_", lambda_, low=0.0, high=1.0)
    rewards, discounts, values = map(jnp.asarray, (rewards, discounts, values))
    if rewards.shape != discounts.shape:
        raise ValueError(f"lambda_returns: rewards {rewards.shape} and discounts "
                         f"{discounts.shape} must have the same shape")
    if values.shape != rewards.shape[:-1] + (rewards.shape[-1] + 1,):
        raise ValueError(f"lambda_returns: values must be [..., T + 1] = "
                         f"{rewards.shape[:-1] + (rewards.shape[-1] + 1,)}, got {values.shape}")
    r, d, v = (jnp.moveaxis(x, -1, 0) for x in (rewards, discounts, values))

    def back(next_return, xs):
        reward, discount, next_value = xs
        g = reward + discount * ((1.0 - lambda_) * next_value + lambda_ * next_return)
        return g, g

    _, g = jax.lax.scan(back, v[-1], (r, d, v[1:]), reverse=True)
    return jnp.moveaxis(g, 0, -1)

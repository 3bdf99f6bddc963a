"""A linear-quadratic reference problem: a world model whose finite-horizon optimum is
known exactly, to check that a planner finds it.

The model is ``x' = A x + B u`` with reward ``-(x'Qx + u'Ru)`` per step (no terminal
cost); its optimal open-loop plan from ``x0`` over ``H`` steps is the linear feedback of
the backward Riccati recursion, computed here in NumPy (float64). Bounds on the
actions are the planner's business: choose starts where they do not bind.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from jwm.models.base import WorldModel

__all__ = ["DOUBLE_INTEGRATOR", "lqr_model", "lqr_optimum"]

# A double integrator (position, velocity) with time step 0.1, the test problem of the
# planner tests and experiments.
DOUBLE_INTEGRATOR = dict(A=np.array([[1.0, 0.1], [0.0, 1.0]]), B=np.array([[0.0], [0.1]]),
                         Q=np.diag([1.0, 0.1]), R=np.array([[0.05]]))


def lqr_model(A, B, Q, R) -> WorldModel:
    """The `WorldModel` of ``x' = A x + B u``, reward ``-(x'Qx + u'Ru)``, discount 1;
    its latent is the state ``[n]`` (``encode`` is the identity), actions ``[m]``."""
    a, b = jnp.asarray(A, jnp.float32), jnp.asarray(B, jnp.float32)
    q, r = jnp.asarray(Q, jnp.float32), jnp.asarray(R, jnp.float32)

    def step(params, x, u, key):
        return a @ x + b @ u, -(x @ q @ x + u @ r @ u), jnp.ones(())

    return WorldModel(init=lambda key: (), encode=lambda params, obs: obs, step=step)


def lqr_optimum(A, B, Q, R, horizon: int, x0) -> tuple:
    """``(actions [H, m], optimal return)`` from ``x0 [n]`` over ``horizon`` steps."""
    A, B, Q, R = (np.asarray(m, np.float64) for m in (A, B, Q, R))
    P, gains = np.zeros_like(Q), []
    for _ in range(horizon):
        K = np.linalg.solve(R + B.T @ P @ B, B.T @ P @ A)
        P = Q + K.T @ R @ K + (A - B @ K).T @ P @ (A - B @ K)
        gains.append(K)
    x0 = np.asarray(x0, np.float64)
    x, actions = x0, []
    for K in gains[::-1]:
        actions.append(-K @ x)
        x = A @ x + B @ actions[-1]
    return np.stack(actions), float(-x0 @ P @ x0)

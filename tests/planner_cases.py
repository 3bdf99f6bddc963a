"""Small models shared by the planner tests: a reward that pushes the actions against
the bounds, a reward that is NaN or inf for some actions, and the double-integrator LQR
problem whose finite-horizon optimum is known exactly (`jwm.eval.lqr`)."""

import jax.numpy as jnp
import numpy as np

import jwm
from jwm.eval.lqr import DOUBLE_INTEGRATOR, lqr_optimum
from jwm.eval.lqr import lqr_model as linear_quadratic
from jwm.spaces import Box

BOUNDED = Box(np.array([-0.5, 0.0]), np.array([1.5, 2.0]))
X0 = jnp.asarray([0.3, -0.2], jnp.float32)
SPACE = Box(-1.0, 1.0, (1,))


def push_model(direction):
    """Reward grows without limit outside the bounds: the planner must stop at them."""
    d = jnp.asarray(direction, jnp.float32)
    return jwm.WorldModel(init=lambda k: (), encode=lambda p, o: o,
                          step=lambda p, z, a, k: (z, jnp.sum(d * a), jnp.ones(())))


def nan_model(all_bad, optimum=0.0):
    """Reward ``-|a - optimum|^2``, but NaN for a[0] > 0.5 and +inf for a[0] < -0.5 (or
    NaN everywhere)."""

    def step(p, z, a, k):
        r = -jnp.sum((a - optimum) ** 2)
        if all_bad:
            return z, jnp.nan * r, jnp.ones(())
        return z, jnp.where(a[0] > 0.5, jnp.nan, jnp.where(a[0] < -0.5, jnp.inf, r)), jnp.ones(())

    return jwm.WorldModel(init=lambda k: (), encode=lambda p, o: o, step=step)


def lqr_model():
    return linear_quadratic(**DOUBLE_INTEGRATOR)


def riccati_optimum(horizon, x0):
    """First optimal action and the optimal return from ``x0``."""
    actions, best = lqr_optimum(**DOUBLE_INTEGRATOR, horizon=horizon, x0=x0)
    return actions[0], best

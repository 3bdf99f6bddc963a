"""Property tests of the shared objective and the MPPI noise filter."""

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import jwm
from jwm.planners.mppi import smoothing_matrix

H = 6


def table_model():
    """Reward and discount read from tables in params; the latent is the time step."""
    return jwm.WorldModel(init=lambda k: (), encode=lambda p, o: o,
                          step=lambda p, t, a, k: (t + 1, p[0][t], p[1][t]))


@jax.jit
def discounted_objective(rewards, discounts, terminal):
    # gamma fixed at 0.9: hyperparameters are static, so one compile serves every example.
    return jwm.planners.sequence_return(
        table_model(), (rewards, discounts), jnp.int32(0), jnp.zeros((H, 1)), jax.random.key(0),
        discount=0.9, value_fn=lambda p, z: terminal)


floats = st.floats(-10, 10, allow_nan=False, width=32)


@settings(max_examples=60, deadline=None)
@given(st.lists(floats, min_size=H, max_size=H),
       st.lists(st.sampled_from([0.0, 1.0]), min_size=H, max_size=H), floats)
def test_sequence_return_matches_a_python_loop(rewards, discounts, terminal):
    expected, weight = 0.0, 1.0
    for r, d in zip(rewards, discounts):
        expected += weight * r
        weight *= 0.9 * d
    expected += weight * terminal
    got = discounted_objective(jnp.array(rewards, jnp.float32), jnp.array(discounts, jnp.float32),
                               jnp.float32(terminal))
    np.testing.assert_allclose(float(got), expected, rtol=1e-5, atol=1e-4)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 40), st.floats(0.0, 0.99))
def test_smoothing_keeps_unit_variance_and_lag_correlation(horizon, smoothing):
    mat = smoothing_matrix(horizon, smoothing).astype(np.float64)
    cov = mat @ mat.T
    np.testing.assert_allclose(np.diag(cov), 1.0, rtol=1e-5)
    if horizon > 1:
        np.testing.assert_allclose(np.diag(cov, 1), smoothing, atol=1e-5)

import jax
import numpy as np
import pytest

from jwm.noise import hashed_bits, standard_normal


def test_hashed_normals_are_standard_normal_and_decorrelated():
    z = np.asarray(standard_normal(jax.random.key(0), (200_000,))).astype(np.float64)
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1.0) < 0.01
    # quantiles of N(0, 1)
    for q, expected in ((0.025, -1.959964), (0.16, -0.994458), (0.5, 0.0), (0.84, 0.994458),
                        (0.975, 1.959964)):
        assert abs(np.quantile(z, q) - expected) < 0.02
    for lag in (1, 2, 30, 500):
        assert abs(np.corrcoef(z[:-lag], z[lag:])[0, 1]) < 0.01
    assert np.isfinite(z).all()


def test_hashed_noise_is_a_function_of_the_key():
    a = standard_normal(jax.random.key(1), (64, 30))
    np.testing.assert_array_equal(a, standard_normal(jax.random.key(1), (64, 30)))
    b = np.asarray(standard_normal(jax.random.key(2), (64, 30))).ravel()
    assert abs(np.corrcoef(np.asarray(a).ravel(), b)[0, 1]) < 0.1
    bits = np.asarray(hashed_bits(jax.random.key(3), (100_000,)))
    # every bit position is set about half the time
    frac = ((bits[:, None] >> np.arange(32)) & 1).mean(0)
    assert np.all(np.abs(frac - 0.5) < 0.01)


def test_unknown_kind():
    with pytest.raises(ValueError, match="kind"):
        standard_normal(jax.random.key(0), (2,), kind="mersenne")

"""`jwm.checks`: concrete hyperparameters are checked, traced ones pass as they are,
and shape-fixing ones are refused when traced."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jwm.checks import check_int, check_real


def test_check_real_passes_tracers_and_keeps_values():
    assert check_real("f", "x", 0.5, low=0.0, high=1.0) == 0.5
    x = jnp.float32(0.5)
    assert check_real("f", "x", x, low=0.0, high=1.0) is x
    assert check_real("f", "x", np.float64(0.25), low=0.0) == 0.25
    # Under jit and vmap the value is unknown: it passes, as it is.
    checked = jax.jit(jax.vmap(lambda v: check_real("f", "x", v, low=0.0, high=1.0)))
    np.testing.assert_array_equal(checked(jnp.array([7.0, -1.0])), [7.0, -1.0])


@pytest.mark.parametrize("value, error, match", [
    (jnp.float32(2.0), ValueError, r"f: x must be finite and in \[0.0, 1.0\], got"),
    (float("nan"), ValueError, "f: x must be finite"),
    (jnp.ones(2), TypeError, "f: x must be a real number"),
    (True, TypeError, "f: x must be a real number"),
    ("0.1", TypeError, "f: x must be a real number"),
])
def test_check_real_names_the_parameter(value, error, match):
    with pytest.raises(error, match=match):
        check_real("f", "x", value, low=0.0, high=1.0)


def test_a_traced_array_is_not_a_scalar():
    with pytest.raises(TypeError, match="x must be a scalar"):
        jax.jit(lambda v: check_real("f", "x", v))(jnp.ones(3))


def test_shape_fixing_ints_cannot_be_traced():
    assert check_int("f", "n", np.int64(3)) == 3
    with pytest.raises(TypeError, match="n must be an int >= 1 .it fixes a shape"):
        jax.jit(lambda v: check_int("f", "n", v))(3)
    with pytest.raises(ValueError, match="n must be an int >= 1, got 0"):
        check_int("f", "n", 0)

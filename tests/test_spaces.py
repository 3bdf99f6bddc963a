import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jwm.spaces import Box, Discrete


def test_box_broadcasts_bounds_and_samples_inside():
    box = Box(-1.0, np.array([1.0, 2.0, 3.0]))
    assert box.shape == (3,)
    np.testing.assert_array_equal(box.low, [-1, -1, -1])
    x = box.sample(jax.random.key(0), (1000,))
    assert x.shape == (1000, 3) and x.dtype == jnp.float32
    assert bool(jnp.all((x >= box.low) & (x <= box.high)))
    assert bool(box.contains(jnp.array([0.0, 1.5, 2.5])))
    assert not bool(box.contains(jnp.array([0.0, 2.5, 2.5])))
    assert not bool(box.contains(jnp.zeros(2)))
    np.testing.assert_array_equal(box.clip(jnp.array([-5.0, 5.0, 0.0])), [-1, 2, 0])


def test_box_with_explicit_shape_and_equality():
    a = Box(-2, 2, shape=(1,))
    assert a.shape == (1,) and a == Box(-2.0, 2.0, (1,)) and hash(a) == hash(Box(-2, 2, (1,)))
    assert a != Box(-1, 2, (1,))


@pytest.mark.parametrize("kwargs, match", [
    (dict(low=1.0, high=0.0), "low must be <= high"),
    (dict(low=np.nan, high=1.0), "low contains NaN"),
    (dict(low=np.zeros(2), high=np.ones(3)), "do not broadcast"),
    (dict(low=np.zeros(2), high=1.0, shape=(3,)), "low of shape"),
])
def test_box_rejects_bad_bounds(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Box(**kwargs)


def test_unbounded_box_cannot_be_sampled():
    with pytest.raises(ValueError, match="unbounded"):
        Box(-np.inf, np.inf, (2,)).sample(jax.random.key(0))


def test_discrete():
    d = Discrete(3)
    x = d.sample(jax.random.key(0), (500,))
    assert x.dtype == jnp.int32 and set(np.unique(x)) == {0, 1, 2}
    assert bool(d.contains(jnp.int32(2))) and not bool(d.contains(jnp.int32(3)))
    for bad in (0, -1):
        with pytest.raises(ValueError, match="n must be an int >= 1"):
            Discrete(bad)
    with pytest.raises(TypeError, match="n must be an int"):
        Discrete(2.5)

"""Planners against known optima, bounds, determinism, vmap, bad input and NaN models."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jwm
from jwm.planners import cem, mppi, random_shooting
from jwm.spaces import Box, Discrete

from planner_cases import BOUNDED, nan_model, push_model

# A double integrator with quadratic cost: the finite-horizon optimum is linear feedback
# from a backward Riccati recursion, computed below in NumPy.
DT = 0.1
A = np.array([[1.0, DT], [0.0, 1.0]])
B = np.array([[0.0], [DT]])
Q = np.diag([1.0, 0.1])
R = np.array([[0.05]])
X0 = np.array([0.3, -0.2])
SPACE = Box(-1.0, 1.0, (1,))


def linear_model():
    """A WorldModel built from three plain functions."""

    def init(key):
        return {"A": jnp.asarray(A, jnp.float32), "B": jnp.asarray(B, jnp.float32)}

    def encode(params, obs):
        return obs

    def step(params, x, u, key):
        reward = -(x @ Q @ x + u @ R @ u)
        return params["A"] @ x + params["B"] @ u, reward, jnp.ones(())

    return jwm.WorldModel(init=init, encode=encode, step=step)


def riccati(horizon):
    """Gains K_t and the optimal cost-to-go matrix P_0 (no terminal cost)."""
    P = np.zeros((2, 2))
    gains = []
    for _ in range(horizon):
        K = np.linalg.solve(R + B.T @ P @ B, B.T @ P @ A)
        P = Q + K.T @ R @ K + (A - B @ K).T @ P @ (A - B @ K)
        gains.append(K)
    return gains[::-1], P


def optimum(horizon):
    gains, P = riccati(horizon)
    x, us = X0.copy(), []
    for K in gains:
        u = -K @ x
        us.append(u)
        x = A @ x + B @ u
    return np.array(us), -X0 @ P @ X0


@pytest.fixture(scope="module")
def model():
    m = linear_model()
    return m, m.init(jax.random.key(0))


PLANNERS = {
    "cem": lambda m, h: cem(m, SPACE, horizon=h, population=400, elite_frac=0.1, iterations=12),
    "cem_truncated_best": lambda m, h: cem(m, SPACE, horizon=h, population=400, elite_frac=0.1,
                                           iterations=12, sampling="truncated", return_mode="best",
                                           alpha=0.1),
    "cem_threefry": lambda m, h: cem(m, SPACE, horizon=h, population=400, elite_frac=0.1,
                                     iterations=12, noise="threefry"),
    # A fixed noise std limits how precisely MPPI places its mean: keep it small.
    "mppi": lambda m, h: mppi(m, SPACE, horizon=h, population=400, iterations=40,
                              temperature=0.002, noise_std=0.1, smoothing=0.5),
}


@pytest.mark.parametrize("name", sorted(PLANNERS))
def test_planner_matches_riccati_optimum(model, name):
    m, params = model
    horizon = 8
    us, best = optimum(horizon)
    assert np.all(np.abs(us) < 0.9)  # the optimum is interior: bounds do not bind
    planner = PLANNERS[name](m, horizon)
    action, _, info = jax.jit(planner.plan)(planner.init(jax.random.key(0)), params,
                                            jnp.asarray(X0, jnp.float32), jax.random.key(1))
    assert abs(float(info.predicted_return) - best) <= 0.01 * abs(best)
    np.testing.assert_allclose(action, us[0], atol=0.06)
    assert int(info.num_nonfinite) == 0


def test_random_shooting_finds_the_optimum_of_a_short_horizon(model):
    m, params = model
    us, best = optimum(2)
    planner = random_shooting(m, SPACE, horizon=2, population=4000)
    action, _, info = jax.jit(planner.plan)((), params, jnp.asarray(X0, jnp.float32),
                                            jax.random.key(1))
    assert abs(float(info.predicted_return) - best) <= 0.01 * abs(best)
    np.testing.assert_allclose(action, us[0], atol=0.1)


def target_model(target):
    """Discrete: reward 1 when the action equals target[t]; the latent is t."""
    target = jnp.asarray(target)

    def step(params, t, a, key):
        return t + 1, (a == target[t]).astype(jnp.float32), jnp.ones(())

    return jwm.WorldModel(init=lambda k: (), encode=lambda p, o: o, step=step)


@pytest.mark.parametrize("make", [
    lambda m: cem(m, Discrete(3), horizon=4, population=64, iterations=4, alpha=0.2),
    lambda m: cem(m, Discrete(3), horizon=4, population=64, iterations=4, return_mode="best"),
    lambda m: random_shooting(m, Discrete(3), horizon=4, population=256),
])
def test_discrete_planners_find_the_best_sequence(make):
    target = [2, 0, 1, 2]
    planner = make(target_model(target))
    action, _, info = jax.jit(planner.plan)(planner.init(jax.random.key(0)), (), jnp.int32(0),
                                            jax.random.key(3))
    assert int(action) == 2 and float(info.predicted_return) == 4.0
    np.testing.assert_array_equal(info.plan, target)


BOX_PLANNERS = {
    "cem": lambda m: cem(m, BOUNDED, horizon=2, population=64, iterations=6, init_std=10.0),
    "cem_truncated": lambda m: cem(m, BOUNDED, horizon=2, population=64, iterations=6,
                                   sampling="truncated", init_std=10.0),
    "mppi": lambda m: mppi(m, BOUNDED, horizon=2, population=64, iterations=6, noise_std=10.0,
                           temperature=0.05),
    "random": lambda m: random_shooting(m, BOUNDED, horizon=2, population=64),
}


@pytest.mark.parametrize("name", sorted(BOX_PLANNERS))
def test_actions_respect_bounds(name):
    planner = BOX_PLANNERS[name](push_model([1.0, -1.0]))
    action, _, info = jax.jit(planner.plan)(planner.init(jax.random.key(0)), (), jnp.zeros(()),
                                            jax.random.key(0))
    assert bool(BOUNDED.contains(action))
    assert bool(jnp.all((info.plan >= BOUNDED.low) & (info.plan <= BOUNDED.high)))
    assert float(action[0]) > 1.0 and float(action[1]) < 0.5  # pushed towards the corner


@pytest.mark.parametrize("all_bad", [False, True])
@pytest.mark.parametrize("name", sorted(BOX_PLANNERS))
def test_non_finite_returns_never_reach_the_action(name, all_bad):
    planner = BOX_PLANNERS[name](nan_model(all_bad))
    plan = jax.jit(planner.plan)
    state = planner.init(jax.random.key(0))
    for i in range(3):  # the warm start must stay finite too
        action, state, info = plan(state, (), jnp.zeros(()), jax.random.key(i))
        assert bool(jnp.all(jnp.isfinite(action))) and bool(BOUNDED.contains(action))
        assert int(info.num_nonfinite) > 0
        assert bool(jnp.isfinite(info.best_return))
    if not all_bad:
        assert -0.5 <= float(action[0]) <= 0.5


@pytest.mark.parametrize("name", sorted(BOX_PLANNERS))
def test_same_key_same_result_and_vmap_over_keys(name):
    planner = BOX_PLANNERS[name](linear_model_2d())
    plan = jax.jit(planner.plan)
    state = planner.init(jax.random.key(0))
    z = jnp.array([0.1, 0.2])
    a1, s1, i1 = plan(state, (), z, jax.random.key(7))
    a2, s2, i2 = plan(state, (), z, jax.random.key(7))
    for x, y in zip(jax.tree.leaves((a1, s1, i1)), jax.tree.leaves((a2, s2, i2))):
        np.testing.assert_array_equal(x, y)
    _, _, i3 = plan(state, (), z, jax.random.key(8))
    assert not np.array_equal(i1.plan, i3.plan)

    keys = jax.random.split(jax.random.key(1), 3)
    zs = jnp.stack([z, -z, 2 * z])
    batched = jax.jit(jax.vmap(planner.plan, in_axes=(None, None, 0, 0)))(state, (), zs, keys)
    for i in range(3):
        single = plan(state, (), zs[i], keys[i])
        np.testing.assert_allclose(batched[0][i], single[0], rtol=1e-5, atol=1e-5)


def linear_model_2d():
    return jwm.WorldModel(
        init=lambda k: (), encode=lambda p, o: o,
        step=lambda p, z, a, k: (0.9 * z + 0.1 * a, -jnp.sum((z - 0.5) ** 2), jnp.ones(())))


def test_rewards_after_termination_are_ignored_and_discount_applies():
    # Terminates after the second step; the reward is 1 every step.
    model = jwm.WorldModel(init=lambda k: (), encode=lambda p, o: o,
                           step=lambda p, t, a, k: (t + 1, jnp.ones(()), (t + 1 < 2).astype(jnp.float32)))
    actions = jnp.zeros((6, 1))
    ret = jwm.planners.sequence_return(model, (), jnp.int32(0), actions, jax.random.key(0))
    assert float(ret) == 2.0
    ret = jwm.planners.sequence_return(model, (), jnp.int32(0), actions, jax.random.key(0),
                                       discount=0.5, value_fn=lambda p, z: 100.0)
    assert float(ret) == 1.5  # 1 + 0.5; the terminal value is cut by the zero discount
    never_ends = jwm.WorldModel(init=lambda k: (), encode=lambda p, o: o,
                                step=lambda p, t, a, k: (t + 1, jnp.ones(()), jnp.ones(())))
    ret = jwm.planners.sequence_return(never_ends, (), jnp.int32(0), actions[:2],
                                       jax.random.key(0), discount=0.5,
                                       value_fn=lambda p, z: 8.0)
    assert float(ret) == 1 + 0.5 + 0.25 * 8.0


def test_particles_average_a_stochastic_model():
    noisy = jwm.WorldModel(init=lambda k: (), encode=lambda p, o: o,
                           step=lambda p, z, a, k: (z, jax.random.normal(k) + a[0], jnp.ones(())))
    actions = jnp.zeros((3, 1, 1))
    one, _ = jwm.planners.population_returns(noisy, (), 0.0, actions, jax.random.key(0))
    many, _ = jwm.planners.population_returns(noisy, (), 0.0, actions, jax.random.key(0),
                                              particles=4000)
    assert float(jnp.abs(many).max()) < 0.1 < float(jnp.abs(one).max())


BAD = [
    (cem, dict(population=0), ValueError, "population"),
    (cem, dict(population=-3), ValueError, "population"),
    (cem, dict(horizon=0), ValueError, "horizon"),
    (cem, dict(iterations=0), ValueError, "iterations"),
    (cem, dict(elite_frac=0.0), ValueError, "elite_frac"),
    (cem, dict(elite_frac=1.5), ValueError, "elite_frac"),
    (cem, dict(num_elites=11), ValueError, "num_elites"),
    (cem, dict(num_elites=0), ValueError, "num_elites"),
    (cem, dict(alpha=1.0), ValueError, "alpha"),
    (cem, dict(min_std=-1.0), ValueError, "min_std"),
    (cem, dict(init_std=0.0), ValueError, "init_std"),
    (cem, dict(sampling="gumbel"), ValueError, "sampling"),
    (cem, dict(return_mode="median"), ValueError, "return_mode"),
    (cem, dict(discount=1.5), ValueError, "discount"),
    (cem, dict(particles=0), ValueError, "particles"),
    (cem, dict(horizon=2.5), TypeError, "horizon"),
    (mppi, dict(temperature=0.0), ValueError, "temperature"),
    (mppi, dict(noise_std=-0.1), ValueError, "noise_std"),
    (mppi, dict(smoothing=1.0), ValueError, "smoothing"),
    (mppi, dict(population=0), ValueError, "population"),
    (mppi, dict(noise="pink"), ValueError, "noise"),
    (cem, dict(noise="pink"), ValueError, "noise"),
    (random_shooting, dict(horizon=-1), ValueError, "horizon"),
    (random_shooting, dict(value_fn=3), TypeError, "value_fn"),
]


@pytest.mark.parametrize("factory, override, exc, word", BAD)
def test_constructors_reject_bad_hyperparameters(factory, override, exc, word):
    kwargs = dict(horizon=5, population=10)
    kwargs.update(override)
    with pytest.raises(exc, match=word):
        factory(linear_model(), SPACE, **kwargs)


def test_spaces_a_planner_cannot_use_are_rejected():
    with pytest.raises(TypeError, match="action_space must be a Box"):
        mppi(linear_model(), Discrete(3), horizon=5, population=10)
    with pytest.raises(ValueError, match="finite bounds"):
        cem(linear_model(), Box(-np.inf, np.inf, (1,)), horizon=5, population=10)
    with pytest.raises(TypeError, match="action_space"):
        cem(linear_model(), "box", horizon=5, population=10)
    with pytest.raises(TypeError, match="model"):
        cem(object(), SPACE, horizon=5, population=10)


def test_model_with_non_scalar_reward_gets_a_clear_error():
    bad = jwm.WorldModel(init=lambda k: (), encode=lambda p, o: o,
                         step=lambda p, z, a, k: (z, jnp.zeros(1), jnp.ones(())))
    planner = cem(bad, SPACE, horizon=3, population=8)
    with pytest.raises(ValueError, match="scalar reward"):
        planner.plan(planner.init(jax.random.key(0)), (), jnp.zeros(()), jax.random.key(0))

"""iCEM and its colored noise: spectrum, known optimum, equivalence to CEM in the white,
memoryless limit, bounds, determinism, vmap, NaN models, bad input, traced
hyperparameters, one compilation and an MPC episode."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jwm
from jwm.planners import cem
from jwm.planners.colored_noise import colored_normal
from jwm.planners.icem import ICEMState, icem, icem_schedule
from jwm.spaces import Discrete

from planner_cases import (BOUNDED, SPACE, X0, lqr_model, nan_model, push_model,
                           riccati_optimum)

# The LQR problem's horizon (its optimum is known exactly, `planner_cases`).
HORIZON = 6


def test_colored_noise_has_the_intended_spectrum():
    draw = jax.jit(lambda b: colored_normal(jax.random.key(0), (2048, 32), b, axis=1))

    def spectrum(beta):
        x = np.asarray(draw(beta))
        return x, (np.abs(np.fft.rfft(x, axis=1)) ** 2).mean(0)

    red, power = spectrum(2.0)
    np.testing.assert_allclose(red.std(0), 1.0, atol=0.05)  # unit variance at every step
    assert np.all(np.diff(power[1:]) < 0)  # power falls with frequency
    slope = np.polyfit(np.log(np.arange(1, 17)), np.log(power[1:]), 1)[0]
    assert -2.2 < slope < -1.8
    white, power = spectrum(0.0)
    np.testing.assert_allclose(power / power.mean(), 1.0, atol=0.15)  # flat
    np.testing.assert_allclose(np.cov(white.T), np.eye(32), atol=0.1)  # independent steps
    # Time along another axis, and a traced beta.
    x = jax.jit(jax.vmap(lambda b: colored_normal(jax.random.key(1), (2000, 9), b, axis=0)))(
        jnp.array([0.0, 1.0, 2.0]))
    assert x.shape == (3, 2000, 9) and bool(jnp.all(jnp.isfinite(x)))
    lag1 = [np.corrcoef(np.asarray(x[i, 4:6]))[0, 1] for i in range(3)]
    assert abs(lag1[0]) < 0.1 and lag1[0] < lag1[1] < lag1[2]


def test_schedule_shrinks_to_twice_the_elites():
    assert icem_schedule(100, 4, 2.0, 10, 3) == ((100, 103), (50, 53), (25, 28), (20, 24))
    assert icem_schedule(8, 3, 1.0, 8, 0) == ((8, 8), (8, 8), (8, 9))


@pytest.fixture(scope="module")
def lqr_plan():
    planner = icem(lqr_model(), SPACE, horizon=HORIZON, population=200, iterations=4,
                   elite_frac=0.1, noise_beta=1.0, population_decay=1.3)
    return planner, jax.jit(planner.plan)


def test_icem_reaches_the_riccati_optimum(lqr_plan):
    planner, plan = lqr_plan
    u0, best = riccati_optimum(HORIZON, X0)
    action, state, info = plan(planner.init(None), (), X0, jax.random.key(1))
    assert abs(float(info.predicted_return) - best) <= 0.01 * abs(best)
    np.testing.assert_allclose(action, u0, atol=0.06)
    assert info.iteration_returns.shape == (4,) and int(info.num_nonfinite) == 0
    # The warm start: the kept elites are real sequences now, shifted and in bounds.
    assert isinstance(state, ICEMState) and bool(state.has_elites)
    assert state.elites.shape == (6, HORIZON, 1)  # round(0.3 * 20) kept
    assert bool(jnp.all(jnp.abs(state.elites) <= 1.0))
    # Same key, same plan; the state carries over; one compilation for all calls.
    again = plan(planner.init(None), (), X0, jax.random.key(1))
    for x, y in zip(jax.tree.leaves((action, state, info)), jax.tree.leaves(again)):
        np.testing.assert_array_equal(x, y)
    for i in range(3):
        action, state, info = plan(state, (), X0, jax.random.key(2 + i))
    assert abs(float(info.predicted_return) - best) <= 0.01 * abs(best)
    assert plan._cache_size() == 1


def test_white_memoryless_icem_matches_cem_statistically():
    # With beta = 0, no kept elites, no decay, no momentum and the mean as the answer,
    # iCEM is CEM up to its extra candidate (the mean, scored once in the last
    # iteration): over many keys both land on the same distribution of plans.
    model = lqr_model()
    kwargs = dict(horizon=HORIZON, population=24, iterations=3, elite_frac=0.25,
                  alpha=0.0, return_mode="mean")
    planners = {
        "icem": icem(model, SPACE, noise_beta=0.0, keep_elites_fraction=0.0,
                     population_decay=1.0, **kwargs),
        "cem": cem(model, SPACE, **kwargs),
    }
    keys = jax.random.split(jax.random.key(5), 200)
    stats = {}
    for name, planner in planners.items():
        run = jax.vmap(lambda k: planner.plan(planner.init(None), (), X0, k))
        action, _, info = jax.jit(run)(keys)
        stats[name] = (np.asarray(action[:, 0]), np.asarray(info.predicted_return))
    for i in range(2):
        a, b = stats["icem"][i], stats["cem"][i]
        se = np.sqrt(a.var() / a.size + b.var() / b.size)
        assert abs(a.mean() - b.mean()) < 4 * se
        assert 0.75 < a.std() / b.std() < 1.33


def test_actions_respect_bounds_and_vmap_over_keys():
    planner = icem(push_model([1.0, -1.0]), BOUNDED, horizon=3, population=32, iterations=2,
                   init_std=10.0, noise_beta=2.0, population_decay=1.0)
    plan = jax.jit(jax.vmap(planner.plan, in_axes=(None, None, None, 0)))
    keys = jax.random.split(jax.random.key(0), 3)
    actions, states, info = plan(planner.init(None), (), jnp.zeros(()), keys)
    for x in (actions, info.plan, states.elites):
        assert np.all((np.asarray(x) >= BOUNDED.low) & (np.asarray(x) <= BOUNDED.high))
    assert np.all(np.asarray(actions[:, 0]) > 1.0) and np.all(np.asarray(actions[:, 1]) < 0.5)
    assert not np.array_equal(info.plan[0], info.plan[1])
    # A legacy uint32[2] key holds the same bits as the typed one: the same plan.
    single = jax.jit(planner.plan)(planner.init(None), (), jnp.zeros(()),
                                   jax.random.key_data(keys[2]))
    np.testing.assert_allclose(actions[2], single[0], rtol=1e-6)


@pytest.mark.parametrize("all_bad", [False, True])
def test_non_finite_returns_never_win(all_bad):
    planner = icem(nan_model(all_bad), BOUNDED, horizon=2, population=32, iterations=3,
                   init_std=10.0, population_decay=1.0)
    plan = jax.jit(planner.plan)
    state = planner.init(None)
    for i in range(3):  # the kept elites and the warm start must stay finite too
        action, state, info = plan(state, (), jnp.zeros(()), jax.random.key(i))
        assert bool(jnp.all(jnp.isfinite(action))) and bool(BOUNDED.contains(action))
        assert int(info.num_nonfinite) > 0 and bool(jnp.isfinite(info.best_return))
        assert bool(jnp.all(jnp.isfinite(state.elites)))
    if not all_bad:
        assert -0.5 <= float(action[0]) <= 0.5


BAD = [
    (dict(population=0), ValueError, "population"),
    (dict(horizon=0), ValueError, "horizon"),
    (dict(horizon=2.5), TypeError, "horizon"),
    (dict(iterations=0), ValueError, "iterations"),
    (dict(elite_frac=0.0), ValueError, "elite_frac"),
    (dict(num_elites=11), ValueError, "num_elites"),
    (dict(alpha=1.0), ValueError, "alpha"),
    (dict(noise_beta=-0.5), ValueError, "noise_beta"),
    (dict(noise_beta="pink"), TypeError, "noise_beta"),
    (dict(keep_elites_fraction=1.5), ValueError, "keep_elites_fraction"),
    (dict(population_decay=0.5), ValueError, "population_decay"),
    (dict(init_std=0.0), ValueError, "init_std"),
    (dict(return_mode="median"), ValueError, "return_mode"),
    (dict(noise="pink"), ValueError, "noise"),
    (dict(discount=1.5), ValueError, "discount"),
    (dict(particles=0), ValueError, "particles"),
    (dict(value_fn=3), TypeError, "value_fn"),
]


@pytest.mark.parametrize("override, exc, word", BAD)
def test_bad_hyperparameters_are_named(override, exc, word):
    kwargs = dict(horizon=5, population=10)
    kwargs.update(override)
    with pytest.raises(exc, match=word):
        icem(lqr_model(), SPACE, **kwargs)


def test_discrete_and_traced_shape_parameters_are_refused():
    with pytest.raises(TypeError, match="action_space must be a Box"):
        icem(lqr_model(), Discrete(3), horizon=5, population=10)
    for name in ("population_decay", "keep_elites_fraction"):
        with pytest.raises(TypeError, match=f"icem: {name} fixes a shape"):
            jax.eval_shape(lambda v: icem(lqr_model(), SPACE, horizon=2, population=8,
                                          **{name: v}) and jnp.zeros(()), jnp.float32(0.5))


def test_traced_hyperparameters_equal_concrete_ones():
    def run(noise_beta, alpha, discount):
        planner = icem(lqr_model(), SPACE, horizon=4, population=16, iterations=2,
                       noise_beta=noise_beta, alpha=alpha, discount=discount)
        action, _, info = planner.plan(planner.init(None), (), X0, jax.random.key(1))
        return action, info.predicted_return

    settings = {"noise_beta": [0.0, 2.0], "alpha": [0.0, 0.5], "discount": [1.0, 0.9]}
    traced = jax.jit(jax.vmap(lambda h: run(**h)))(
        {k: jnp.asarray(v, jnp.float32) for k, v in settings.items()})
    concrete = jax.jit(lambda: run(**{k: v[1] for k, v in settings.items()}))()
    for t, c in zip(traced, concrete):
        np.testing.assert_allclose(t[1], c, rtol=2e-5, atol=1e-6)
    assert not np.allclose(traced[1][0], traced[1][1])


def test_runs_in_an_mpc_episode():
    env = jwm.envs.make("gymnax:Pendulum-v1")
    model = jwm.models.true_model(env)
    planner = icem(model, env.action_space, horizon=8, population=24, iterations=1)
    episode = jax.jit(lambda k: jwm.agents.mpc_episode(env, model, planner, (), k, num_steps=6))
    result = episode(jax.random.key(0))
    assert result.actions.shape == (6, 1) and bool(jnp.isfinite(result.total_return))
    assert bool(jnp.all(jnp.abs(result.actions) <= 2.0))

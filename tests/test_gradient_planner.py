"""The gradient planner and CEM-GD: the LQR optimum from a Riccati recursion, bounds,
determinism, vmap, NaN models, models without an action gradient, bad input, a traced
learning rate, one compilation and an MPC episode."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jwm
from jwm.planners.cem_gd import cem_gd
from jwm.planners.gradient import GradientState, gradient
from jwm.spaces import Discrete

from planner_cases import (BOUNDED, SPACE, X0, lqr_model, nan_model, push_model,
                           riccati_optimum)

# The LQR problem's horizon (its optimum is known exactly, `planner_cases`).
HORIZON = 8


@pytest.fixture(scope="module")
def lqr_gradient():
    planner = gradient(lqr_model(), SPACE, horizon=HORIZON, iterations=150, learning_rate=0.05,
                       restarts=4)
    return planner, jax.jit(planner.plan)


def test_gradient_planner_reaches_the_riccati_optimum(lqr_gradient):
    planner, plan = lqr_gradient
    u0, best = riccati_optimum(HORIZON, X0)
    assert np.all(np.abs(u0) < 0.9)  # interior: the bounds do not bind
    action, state, info = plan(planner.init(None), (), X0, jax.random.key(1))
    assert abs(float(info.predicted_return) - best) <= 1e-3 * abs(best)
    np.testing.assert_allclose(action, u0, atol=0.01)
    assert info.iteration_returns.shape == (150,) and int(info.num_nonfinite) == 0
    assert isinstance(state, GradientState)
    np.testing.assert_allclose(state.plan[:-1], info.plan[1:])  # shifted warm start
    # Same key, same plan; new keys and states reuse the one compilation.
    again = plan(planner.init(None), (), X0, jax.random.key(1))
    for x, y in zip(jax.tree.leaves((action, state, info)), jax.tree.leaves(again)):
        np.testing.assert_array_equal(x, y)
    for i in range(3):
        plan(state, (), X0 * (i + 1), jax.random.key(2 + i))
    assert plan._cache_size() == 1


def test_cem_gd_reaches_the_riccati_optimum():
    u0, best = riccati_optimum(HORIZON, X0)
    planner = cem_gd(lqr_model(), SPACE, horizon=HORIZON, population=32, iterations=3,
                     num_elites=4, refine_steps=20, refine_lr=0.05)
    action, _, info = jax.jit(planner.plan)(planner.init(None), (), X0, jax.random.key(1))
    assert abs(float(info.predicted_return) - best) <= 5e-3 * abs(best)
    np.testing.assert_allclose(action, u0, atol=0.03)
    # Refining never makes the elites worse: their mean return rises every iteration.
    assert bool(jnp.all(jnp.diff(info.iteration_returns) >= -1e-6))


def test_projection_holds_the_bounds_and_vmap_over_keys():
    planner = gradient(push_model([1.0, -1.0]), BOUNDED, horizon=3, iterations=30,
                       learning_rate=0.2, restarts=3)
    plan = jax.jit(jax.vmap(planner.plan, in_axes=(None, None, None, 0)))
    keys = jax.random.split(jax.random.key(0), 3)
    actions, states, info = plan(planner.init(None), (), jnp.zeros(()), keys)
    assert bool(jnp.all((info.plan >= BOUNDED.low) & (info.plan <= BOUNDED.high)))
    assert bool(jnp.all((states.plan >= BOUNDED.low) & (states.plan <= BOUNDED.high)))
    np.testing.assert_allclose(actions, np.tile([[1.5, 0.0]], (3, 1)))  # the corner
    # A legacy uint32[2] key holds the same bits as the typed one: the same plan.
    single = jax.jit(planner.plan)(planner.init(None), (), jnp.zeros(()),
                                   jax.random.key_data(keys[2]))
    np.testing.assert_allclose(actions[2], single[0], rtol=1e-6)


@pytest.mark.parametrize("all_bad", [False, True])
def test_non_finite_returns_never_win(all_bad):
    planner = gradient(nan_model(all_bad, optimum=0.2), BOUNDED, horizon=2, iterations=10,
                       learning_rate=0.1, restarts=8)
    plan = jax.jit(planner.plan)
    state = planner.init(None)
    for i in range(3):
        action, state, info = plan(state, (), jnp.zeros(()), jax.random.key(i))
        assert bool(jnp.all(jnp.isfinite(action))) and bool(BOUNDED.contains(action))
        assert bool(jnp.all(jnp.isfinite(state.plan)))
        assert int(info.num_nonfinite) > 0 and bool(jnp.isfinite(info.best_return))
    if not all_bad:
        assert -0.5 <= float(action[0]) <= 0.5


def test_models_without_an_action_gradient_are_refused():
    def rounded(p, z, a, k):  # integer ops on the action: its gradient is identically 0
        return z + jnp.round(a).astype(jnp.int32).astype(jnp.float32), -jnp.sum(z ** 2), 1.0

    model = jwm.WorldModel(init=lambda k: (), encode=lambda p, o: o, step=rounded)
    for planner in (gradient(model, SPACE, horizon=3, iterations=2),
                    cem_gd(model, SPACE, horizon=3, population=8, iterations=1)):
        with pytest.raises(TypeError, match="not differentiable in its action.*rounded"):
            jax.eval_shape(planner.plan, planner.init(None), (), jnp.zeros(1), jax.random.key(0))
    with pytest.raises(TypeError, match="action_space must be a Box"):
        gradient(lqr_model(), Discrete(3), horizon=3)
    with pytest.raises(TypeError, match="action_space must be a Box"):
        cem_gd(lqr_model(), Discrete(3), horizon=3, population=8)


BAD = [
    (gradient, dict(horizon=0), ValueError, "horizon"),
    (gradient, dict(horizon=2.5), TypeError, "horizon"),
    (gradient, dict(iterations=0), ValueError, "iterations"),
    (gradient, dict(restarts=0), ValueError, "restarts"),
    (gradient, dict(learning_rate=0.0), ValueError, "learning_rate"),
    (gradient, dict(learning_rate=float("nan")), ValueError, "learning_rate"),
    (gradient, dict(learning_rate="fast"), TypeError, "learning_rate"),
    (gradient, dict(init="ones"), ValueError, "init"),
    (gradient, dict(discount=1.5), ValueError, "discount"),
    (gradient, dict(particles=0), ValueError, "particles"),
    (gradient, dict(value_fn=3), TypeError, "value_fn"),
    (cem_gd, dict(population=8, refine_steps=0), ValueError, "refine_steps"),
    (cem_gd, dict(population=8, refine_lr=-1.0), ValueError, "refine_lr"),
    (cem_gd, dict(population=8, num_elites=9), ValueError, "num_elites"),
    (cem_gd, dict(population=8, alpha=1.0), ValueError, "alpha"),
    (cem_gd, dict(population=0), ValueError, "population"),
]


@pytest.mark.parametrize("factory, override, exc, word", BAD)
def test_bad_hyperparameters_are_named(factory, override, exc, word):
    kwargs = dict(horizon=5)
    kwargs.update(override)
    with pytest.raises(exc, match=word):
        factory(lqr_model(), SPACE, **kwargs)


def test_traced_learning_rate_equals_concrete():
    def run(learning_rate, refine_lr, discount):
        # The traced discount also reaches the trace-time differentiability check.
        g = gradient(lqr_model(), SPACE, horizon=4, iterations=5, learning_rate=learning_rate,
                     restarts=2, discount=discount)
        c = cem_gd(lqr_model(), SPACE, horizon=4, population=8, iterations=1, num_elites=2,
                   refine_steps=2, refine_lr=refine_lr, discount=discount)
        return [p.plan(p.init(None), (), X0, jax.random.key(1))[2].predicted_return
                for p in (g, c)]

    settings = {"learning_rate": [0.01, 0.2], "refine_lr": [0.01, 0.2], "discount": [1.0, 0.9]}
    traced = jax.jit(jax.vmap(lambda h: run(**h)))(
        {k: jnp.asarray(v, jnp.float32) for k, v in settings.items()})
    concrete = jax.jit(lambda: run(**{k: v[1] for k, v in settings.items()}))()
    for t, c in zip(traced, concrete):
        np.testing.assert_allclose(t[1], c, rtol=2e-5, atol=1e-6)
        assert not np.allclose(t[0], t[1])


def test_runs_in_an_mpc_episode():
    env = jwm.envs.make("gymnax:Pendulum-v1")
    model = jwm.models.true_model(env)
    planner = gradient(model, env.action_space, horizon=8, iterations=4, restarts=2)
    episode = jax.jit(lambda k: jwm.agents.mpc_episode(env, model, planner, (), k, num_steps=6))
    result = episode(jax.random.key(0))
    assert result.actions.shape == (6, 1) and bool(jnp.isfinite(result.total_return))
    assert bool(jnp.all(jnp.abs(result.actions) <= 2.0))
    assert int(result.num_nonfinite.sum()) == 0

"""The MPC loop: whole episodes as one scan, vmapped over seeds, with real targets."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jwm
from jwm.agents import mpc_episode


@pytest.fixture(scope="module")
def pendulum():
    env = jwm.envs.make("gymnax:Pendulum-v1")
    return env, jwm.models.true_model(env)


@pytest.fixture(scope="module")
def cartpole():
    env = jwm.envs.make("gymnax:CartPole-v1")
    return env, jwm.models.true_model(env)


def test_true_model_cem_mpc_swings_up_pendulum(pendulum, run_seeds):
    env, model = pendulum
    planner = jwm.planners.cem(model, env.action_space, horizon=30, population=500,
                               elite_frac=0.1, iterations=5)
    ep = run_seeds(env, model, planner, 4)
    assert ep.rewards.shape == (4, 200) and ep.actions.shape == (4, 200, 1)
    assert np.all(np.asarray(ep.length) == 200)
    assert float(ep.total_return.mean()) >= -200.0, ep.total_return
    assert bool(jnp.all(jnp.abs(ep.actions) <= 2.0)) and int(ep.num_nonfinite.sum()) == 0


def test_true_model_mppi_mpc_on_pendulum(pendulum, run_seeds):
    env, model = pendulum
    planner = jwm.planners.mppi(model, env.action_space, horizon=30, population=500,
                                iterations=3, temperature=1.0, smoothing=0.3)
    ep = run_seeds(env, model, planner, 2, num_steps=200)
    assert float(ep.total_return.mean()) >= -250.0, ep.total_return


def test_true_model_random_shooting_balances_cartpole_to_500(cartpole, run_seeds):
    env, model = cartpole
    planner = jwm.planners.random_shooting(model, env.action_space, horizon=80, population=1024)
    ep = run_seeds(env, model, planner, 4)
    np.testing.assert_array_equal(ep.total_return, [500.0] * 4)


def test_discrete_cem_mpc_on_cartpole_beats_random_actions(cartpole, run_seeds):
    env, model = cartpole
    planner = jwm.planners.cem(model, env.action_space, horizon=50, population=128,
                               iterations=3, alpha=0.5)
    ep = run_seeds(env, model, planner, 4)
    # Random actions last about 22 steps on CartPole.
    assert float(ep.total_return.mean()) >= 250.0, ep.total_return
    assert ep.actions.dtype == jnp.int32


def test_episode_end_freezes_state_and_zeroes_rewards(cartpole, run_seeds):
    env, model = cartpole
    planner = jwm.planners.random_shooting(model, env.action_space, horizon=2, population=2)
    ep = run_seeds(env, model, planner, 2, num_steps=120)
    for i in range(2):
        n = int(ep.length[i])
        assert n < 120  # a 2-step horizon cannot balance the pole that long
        assert bool(ep.dones[i, n - 1]) and not bool(ep.dones[i, n - 2])
        assert float(ep.rewards[i, n:].sum()) == 0.0 and float(ep.total_return[i]) == n
        np.testing.assert_array_equal(ep.observations[i, n + 1:], ep.observations[i, n:-1])


def test_user_built_env_and_model_through_the_loop(run_seeds):
    """A linear system written as plain functions: MPC must regulate it to the origin."""
    a, b = jnp.array([[1.0, 0.1], [0.0, 1.0]]), jnp.array([[0.0], [0.1]])
    cost = lambda x, u: x @ x + 0.01 * u @ u

    def reset(key):
        x = jax.random.uniform(key, (2,), minval=-1.0, maxval=1.0)
        return x, x

    def transition(key, x, u):
        nx = a @ x + b @ u
        return jwm.envs.Transition(nx, nx, -cost(x, u), jnp.array(False), jnp.array(False))

    space = jwm.spaces.Box(-1.0, 1.0, (1,))
    env = jwm.envs.Env(reset=reset, transition=transition, observation_space=jwm.spaces.Box(-10, 10, (2,)),
                       action_space=space, max_episode_steps=60)
    model = jwm.WorldModel(init=lambda k: (a, b), encode=lambda p, obs: obs,
                           step=lambda p, x, u, k: (p[0] @ x + p[1] @ u, -cost(x, u), jnp.ones(())))
    planner = jwm.planners.cem(model, space, horizon=15, population=200, iterations=4)
    ep = run_seeds(env, model, planner, 3, params=model.init(None))
    final = jnp.linalg.norm(ep.observations[:, -1], axis=-1)
    start = jnp.linalg.norm(ep.observations[:, 0], axis=-1)
    assert bool(jnp.all(final < 0.1 * start)), (start, final)


def test_episode_compiles_once(pendulum):
    env, _ = pendulum
    traces = []
    true = jwm.models.true_model(env)

    def counting_step(params, latent, action, key):
        traces.append(1)
        return true.step(params, latent, action, key)

    model = jwm.WorldModel(true.init, true.encode, counting_step, observes_state=True)
    planner = jwm.planners.cem(model, env.action_space, horizon=5, population=16, iterations=2)
    run = jax.jit(lambda k: mpc_episode(env, model, planner, (), k, num_steps=10))
    run(jax.random.key(0)).total_return.block_until_ready()
    after_first = len(traces)
    for seed in (1, 2, 3):
        run(jax.random.key(seed)).total_return.block_until_ready()
    assert after_first > 0 and len(traces) == after_first
    jaxpr = jax.make_jaxpr(lambda k: mpc_episode(env, model, planner, (), k, num_steps=10))(
        jax.random.key(0))
    assert "scan" in str(jaxpr)


def test_brax_env_runs_through_the_same_loop(run_seeds):
    env = jwm.envs.make("brax:inverted_pendulum", backend="spring", max_episode_steps=30)
    model = jwm.models.true_model(env)
    planner = jwm.planners.random_shooting(model, env.action_space, horizon=5, population=16)
    ep = run_seeds(env, model, planner, 2)
    assert ep.actions.shape == (2, 30, 1) and ep.observations.shape == (2, 30, 4)
    assert bool(jnp.all(jnp.isfinite(ep.rewards)))
    # inverted_pendulum pays 1 per step upright: planning keeps it up far longer than
    # the handful of steps a pendulum survives on its own.
    assert float(ep.total_return.mean()) >= 25.0, ep.total_return


def test_bad_num_steps():
    env = jwm.envs.Env(reset=lambda k: (0, 0), transition=None, observation_space=None,
                       action_space=jwm.spaces.Discrete(2))
    with pytest.raises(ValueError, match="num_steps"):
        mpc_episode(env, None, None, (), jax.random.key(0))

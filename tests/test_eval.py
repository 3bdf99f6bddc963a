import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jwm
from jwm.eval import fit_growth, mean_particle_obs, multistep_error


def linear_model(scale, d=2):
    """latent x [d] -> scale * x, reward sum(x) (of the state it leaves)."""
    return jwm.WorldModel(
        init=lambda key: (),
        encode=lambda params, obs: jnp.asarray(obs, jnp.float32),
        step=lambda params, x, a, key: (scale * x, jnp.sum(x), jnp.ones(())))


def constant_data(x0, n=3, t=12):
    """Trajectories of x' = x with reward sum(x): the real system of `linear_model(1.0)`."""
    d = x0.shape[0]
    obs = jnp.broadcast_to(x0, (n, t + 1, d))
    actions = jnp.zeros((n, t, 1))
    rewards = jnp.full((n, t), jnp.sum(x0))
    return obs, actions, rewards


def identity(latent):
    return latent


def test_linear_model_error_is_closed_form():
    x0 = jnp.array([0.6, -0.8])  # ||x0|| = 1, sum = -0.2
    obs, actions, rewards = constant_data(x0)
    h = 8
    out = multistep_error(linear_model(1.1), (), obs, actions, rewards, horizon=h,
                          decode=identity)
    k = np.arange(1, h + 1)
    np.testing.assert_allclose(out.state_error, 1.1 ** k - 1, rtol=1e-5)
    # predicted return sum_{i<k} sum(1.1^i x0) vs k * sum(x0)
    expected_ret = 0.2 * np.array([sum(1.1 ** i - 1 for i in range(kk)) for kk in k])
    np.testing.assert_allclose(out.return_error, expected_ret, rtol=1e-4, atol=1e-6)
    # every start with k steps ahead counts: T - k + 1 per trajectory
    np.testing.assert_array_equal(out.count, 3 * (12 - k + 1))
    assert out.state_errors.shape == (3, 12, h) and out.valid.shape == (3, 12, h)
    assert np.isnan(out.state_errors[0, -1, 1]) and not out.valid[0, -1, 1]
    # rms divides by sqrt(d)
    rms = multistep_error(linear_model(1.1), (), obs, actions, rewards, horizon=h,
                          decode=identity, metric="rms")
    np.testing.assert_allclose(rms.state_error, (1.1 ** k - 1) / np.sqrt(2), rtol=1e-5)


def test_perfect_linear_model_and_active_mask():
    obs, actions, rewards = constant_data(jnp.array([1.0, 2.0]))
    active = jnp.ones((3, 12), bool).at[:, 10:].set(False)
    out = multistep_error(linear_model(1.0), (), obs[:, :-1], actions, rewards, horizon=5,
                          decode=identity, next_observations=obs[:, 1:], active=active)
    np.testing.assert_allclose(out.state_error, 0.0, atol=1e-6)
    np.testing.assert_allclose(out.return_error, 0.0, atol=1e-5)
    # only 10 active steps: starts t <= 10 - k
    np.testing.assert_array_equal(out.count, 3 * (10 - np.arange(1, 6) + 1))


def pendulum_rollouts(env, key, n=2, t=20):
    """States [n, t+1], observations [n, t+1, 3], actions, rewards of random play."""

    def episode(key):
        k_reset, k_act = jax.random.split(key)
        state, obs = env.reset(k_reset)

        def body(carry, k):
            state, obs = carry
            k_a, k_s = jax.random.split(k)
            a = env.action_space.sample(k_a)
            nxt, nobs, r, _ = env.step(k_s, state, a)
            return (nxt, nobs), (state, obs, a, r)

        (last, last_obs), (states, obs_seq, acts, rews) = jax.lax.scan(
            body, (state, obs), jax.random.split(k_act, t))
        states = jax.tree.map(lambda xs, x: jnp.concatenate([xs, x[None]]), states, last)
        return states, jnp.concatenate([obs_seq, last_obs[None]]), acts, rews

    return jax.jit(jax.vmap(episode))(jax.random.split(key, n))


def pendulum_decode(state):
    return jnp.stack([jnp.cos(state.theta), jnp.sin(state.theta), state.theta_dot])


def test_true_model_has_zero_error():
    env = jwm.envs.make("gymnax:Pendulum-v1")
    states, obs, actions, rewards = pendulum_rollouts(env, jax.random.key(1))
    model = jwm.models.true_model(env)
    out = multistep_error(model, (), obs, actions, rewards, horizon=10, states=states,
                          decode=pendulum_decode)
    np.testing.assert_allclose(out.state_error, 0.0, atol=1e-5)
    np.testing.assert_allclose(out.return_error, 0.0, atol=1e-3)
    with pytest.raises(ValueError, match="states"):
        multistep_error(model, (), obs, actions, rewards, horizon=10, decode=pendulum_decode)


def test_ensemble_model_runs_with_default_decode():
    obs_space = jwm.spaces.Box(-np.ones(3), np.ones(3), (3,), dtype=np.float32)
    act_space = jwm.spaces.Box(-np.ones(1), np.ones(1), (1,), dtype=np.float32)
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(2, 7, 3)).astype(np.float32)
    actions = rng.uniform(-1.0, 1.0, size=(2, 6, 1)).astype(np.float32)
    rewards = rng.normal(size=(2, 6)).astype(np.float32)
    model = jwm.models.ensemble_model(obs_space, act_space, ensemble_size=2,
                                      hidden_sizes=(8,), particles=4)
    params = jax.jit(model.init)(jax.random.key(0))
    out = multistep_error(model, params, obs, actions, rewards, horizon=3)
    assert out.state_error.shape == (3,) and np.all(np.isfinite(out.state_error))
    assert np.all(np.isfinite(out.return_error))
    latent = jwm.models.Particles(obs=jnp.asarray(obs[0, :4]), alive=jnp.ones(4))
    np.testing.assert_allclose(mean_particle_obs(latent), obs[0, :4].mean(0), rtol=1e-6)


def test_compiles_once():
    traces = []

    def counting_decode(latent):
        traces.append(1)
        return latent

    model = linear_model(1.05)
    for x in ([1.0, 0.0], [0.0, 3.0], [2.0, 2.0]):
        obs, actions, rewards = constant_data(jnp.array(x))
        multistep_error(model, (), obs, actions, rewards, horizon=4, decode=counting_decode)
    assert len(traces) == 1


@pytest.mark.parametrize("kwargs, match", [
    (dict(horizon=0), "horizon"),
    (dict(horizon=13), "horizon"),
    (dict(horizon=2.0), "horizon"),
    (dict(horizon=2, metric="l1"), "metric"),
    (dict(horizon=2, rewards=jnp.zeros((3, 11))), "observations"),
    (dict(horizon=2, rewards=jnp.zeros((3,))), "rewards"),
    (dict(horizon=2, actions=jnp.zeros((3, 11, 1))), "actions"),
    (dict(horizon=2, active=jnp.ones((3, 11), bool)), "active"),
    (dict(horizon=2, observations=jnp.zeros((3, 12, 2))), "observations"),
    (dict(horizon=2, observations=jnp.zeros((3, 12, 2)),
          next_observations=jnp.zeros((3, 11, 2))), "next_observations"),
])
def test_rejects_bad_input(kwargs, match):
    obs, actions, rewards = constant_data(jnp.array([1.0, 2.0]))
    args = dict(observations=obs, actions=actions, rewards=rewards)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        multistep_error(linear_model(1.0), (), decode=identity, **args)


def test_fit_growth_recovers_power_law_and_exponential():
    k = np.arange(1, 31)
    power = fit_growth(k, 0.3 * k ** 1.5)
    assert power.better == "power"
    np.testing.assert_allclose([power.power_a, power.power_b, power.power_r2],
                               [0.3, 1.5, 1.0], rtol=1e-6)
    expo = fit_growth(k, 0.01 * np.exp(0.2 * k))
    assert expo.better == "exponential"
    np.testing.assert_allclose([expo.exp_a, expo.exp_c, expo.exp_r2], [0.01, 0.2, 1.0],
                               rtol=1e-6)
    assert set(expo.as_dict()) == set(expo._fields)
    for bad_k, bad_err in (([1, 2], [1.0]), ([1], [1.0]), ([1, 2], [0.0, 1.0]),
                           ([1, 2], [1.0, np.nan]), ([2, 2], [1.0, 2.0])):
        with pytest.raises(ValueError):
            fit_growth(bad_k, bad_err)

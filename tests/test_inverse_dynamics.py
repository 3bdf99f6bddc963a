"""The inverse-dynamics model: Breakout actions from random play beat chance on held-out
episodes, Box actions from synthetic images, clear errors, one compilation per fit."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jwm
from jwm.agents import run_episode, stateless_policy
from jwm.models.minibatch import compiled_programs
from jwm.models.inverse_dynamics import (InverseDynamics, fit_inverse_dynamics,
                                         inverse_dynamics)
from jwm.spaces import Box, Discrete

EPISODES, HELD_OUT, NUM_STEPS = 48, 12, 60


@pytest.fixture(scope="module")
def breakout():
    """``(env, train, held_out)``: (frames, next_frames, actions) of the active steps of
    random-policy episodes, split by episode."""
    env = jwm.envs.make("gymnax:Breakout-MinAtar")
    policy = stateless_policy(lambda params, obs, key: env.action_space.sample(key))
    episode = lambda k: run_episode(env, policy, (), k, num_steps=NUM_STEPS)
    eps = jax.jit(jax.vmap(episode))(jax.random.split(jax.random.key(0), EPISODES))

    def transitions(rows):
        active = np.asarray(eps.active[rows])
        return tuple(np.asarray(x[rows])[active] for x in
                     (eps.observations, eps.next_observations, eps.actions))

    return (env, transitions(slice(0, EPISODES - HELD_OUT)),
            transitions(slice(EPISODES - HELD_OUT, EPISODES)))


@pytest.fixture(scope="module")
def trained(breakout):
    """``(model, params, losses, programs)``: trained in three calls with other keys
    (typed and legacy) and learning rates; ``programs`` is how many they compiled."""
    env, (frames, next_frames, actions), _ = breakout
    model = inverse_dynamics(env.observation_space, env.action_space, channels=16, hidden=64)
    params, losses, before = model.init(jax.random.key(1)), [], compiled_programs()
    for i, lr in enumerate((3e-3, 3e-3, 1e-3)):
        key = jax.random.key(2 + i) if i % 2 else jax.random.PRNGKey(2 + i)
        params, chunk = fit_inverse_dynamics(model, params, frames, next_frames, actions, key,
                                             steps=50, batch_size=32, learning_rate=lr)
        losses.append(np.asarray(chunk))
    return model, params, np.concatenate(losses), compiled_programs() - before


def test_breakout_actions_beat_chance_on_held_out_episodes(breakout, trained):
    _, (frames, _, _), (test_frames, test_next, test_actions) = breakout
    model, params, losses, _ = trained
    assert len(frames) > 300 and len(test_frames) > 80
    assert losses[-30:].mean() < 0.5 * losses[:10].mean()
    majority = np.bincount(test_actions, minlength=3).max() / len(test_actions)
    _, metrics = model.loss(params, test_frames, test_next, test_actions)
    # Only a push into a wall hides the action (it looks like no-op), so a model that
    # reads the paddle's move is right far more often than the commonest action.
    assert float(metrics["accuracy"]) > majority + 0.3
    assert float(metrics["accuracy"]) > 0.85


def test_discrete_shapes(breakout, trained):
    _, (frames, next_frames, _), _ = breakout
    model, params, _, _ = trained
    assert isinstance(model, InverseDynamics)
    assert model.num_actions == 3 and model.action_shape == ()
    assert model.obs_shape == (10, 10, 4)
    assert model.predict(params, frames[0], next_frames[0]).shape == (3,)
    action = model.act(params, frames[0], next_frames[0])
    assert action.shape == () and action.dtype == jnp.int32
    batched = jax.vmap(model.act, in_axes=(None, 0, 0))(params, frames[:5], next_frames[:5])
    assert batched.shape == (5,)


def _blob(centre, size=8):
    ys, xs = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    d2 = (ys - centre[..., 0, None, None]) ** 2 + (xs - centre[..., 1, None, None]) ** 2
    return np.exp(-d2 / 2.0)[..., None].astype(np.float32)


def test_box_actions_regressed_from_images():
    """A blob moved by ``1.5 * a`` for ``a`` in [-1, 1]^2: the move is the action."""
    rng = np.random.default_rng(0)
    n = 1200
    start = rng.uniform(2.0, 6.0, (n, 2))
    actions = rng.uniform(-1.0, 1.0, (n, 2)).astype(np.float32)
    frames, next_frames = _blob(start), _blob(start + 1.5 * actions)
    space = Box(-1.0, 1.0, (2,))
    model = inverse_dynamics(Box(0.0, 1.0, (8, 8, 1)), space, channels=16, hidden=64)
    assert model.num_actions is None and model.action_shape == (2,)
    params, _ = fit_inverse_dynamics(model, model.init(jax.random.key(0)), frames[:1000],
                                     next_frames[:1000], actions[:1000], jax.random.key(1),
                                     steps=120, batch_size=32, learning_rate=3e-3)
    _, metrics = model.loss(params, frames[1000:], next_frames[1000:], actions[1000:])
    # Predicting the mean action scores the actions' variance, 1/3.
    assert float(metrics["mse"]) < 0.1 * (1.0 / 3.0)
    mean = model.predict(params, frames[1000], next_frames[1000])
    assert mean.shape == (2,)
    far = np.full((1, 8, 8, 1), 0.0, np.float32)
    clipped = model.act(params, frames[1000], far[0])
    assert np.all(np.abs(np.asarray(clipped)) <= 1.0)


def test_bad_inputs_raise(breakout, trained):
    env, (frames, next_frames, actions), _ = breakout
    model, params, _, _ = trained
    with pytest.raises(ValueError, match="observation_space"):
        inverse_dynamics(Box(-1.0, 1.0, (4,)), env.action_space)
    with pytest.raises(TypeError, match="observation_space"):
        inverse_dynamics(Discrete(4), env.action_space)
    with pytest.raises(TypeError, match="action_space"):
        inverse_dynamics(env.observation_space, Box(0, 3, (2,), dtype=np.int32))
    with pytest.raises(ValueError, match="channels"):
        inverse_dynamics(env.observation_space, env.action_space, channels=0)
    with pytest.raises(ValueError, match="next_frame"):
        model.predict(params, frames[0], next_frames[0, :, :, :2])
    with pytest.raises(ValueError, match="frames"):
        model.loss(params, frames[0], next_frames[0], actions[0])
    with pytest.raises(ValueError, match="actions"):
        model.loss(params, frames[:4], next_frames[:4], actions[:3])
    with pytest.raises(ValueError, match="next_frames"):
        fit_inverse_dynamics(model, params, frames, next_frames[:-1], actions,
                             jax.random.key(0), steps=1, batch_size=4, learning_rate=1e-3)
    with pytest.raises(ValueError, match="batch_size"):
        fit_inverse_dynamics(model, params, frames, next_frames, actions,
                             jax.random.key(0), steps=1, batch_size=0, learning_rate=1e-3)
    with pytest.raises(TypeError, match="InverseDynamics"):
        fit_inverse_dynamics(object(), params, frames, next_frames, actions,
                             jax.random.key(0), steps=1, batch_size=4, learning_rate=1e-3)


def test_fit_compiles_once(trained):
    model, _, losses, programs = trained
    assert programs == 1 and losses.shape == (150,)

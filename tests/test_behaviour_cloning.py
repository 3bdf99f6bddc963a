"""`jwm.models.behaviour_cloning` and the minibatch trainer behind the offline models:
a cloned policy learns a rule that only the frame reveals, for Discrete and Box
actions; a second fit compiles nothing; bad input is named."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jwm
from jwm.models.behaviour_cloning import behaviour_cloning, fit_behaviour_cloning
from jwm.models.minibatch import compiled_programs, fit_minibatches
from jwm.spaces import Box, Discrete

FRAMES = Box(low=0.0, high=1.0, shape=(6, 6, 2))


def _data(n, seed):
    """One lit pixel per frame; the "demonstrator" moves towards its column:
    action 0 left of the middle, 1 in the middle two columns, 2 right of them."""
    rng = np.random.default_rng(seed)
    rows, cols, chans = rng.integers(0, 6, n), rng.integers(0, 6, n), rng.integers(0, 2, n)
    frames = np.zeros((n, 6, 6, 2), np.float32)
    frames[np.arange(n), rows, cols, chans] = 1.0
    actions = np.digitize(cols, [2, 4]).astype(np.int32)
    return frames, actions, cols


@pytest.fixture(scope="module")
def discrete_fit():
    bc = behaviour_cloning(FRAMES, Discrete(3), channels=8, hidden=32)
    frames, actions, _ = _data(512, 0)
    params, losses = fit_behaviour_cloning(bc, bc.init(jax.random.key(0)), frames, actions,
                                           jax.random.key(1), steps=300, batch_size=32)
    return bc, params, losses


def test_a_cloned_policy_learns_what_the_frame_shows(discrete_fit):
    bc, params, losses = discrete_fit
    assert float(losses[-20:].mean()) < 0.5 * float(losses[:20].mean())
    frames, actions, _ = _data(256, 1)
    _, metrics = jax.jit(bc.loss)(params, frames, actions, None)
    majority = np.bincount(actions).max() / len(actions)
    assert float(metrics["accuracy"]) > max(0.9, majority + 0.3)
    action = jax.jit(bc.act)(params, frames[0])
    assert action.dtype == jnp.int32 and action.shape == ()


def test_the_policy_runs_in_an_episode():
    env = jwm.envs.make("gymnax:Breakout-MinAtar")
    bc = behaviour_cloning(env.observation_space, env.action_space, channels=4, hidden=8)
    params = bc.init(jax.random.PRNGKey(0))
    episode = jax.jit(lambda k: jwm.agents.run_episode(env, bc.policy, params, k,
                                                       num_steps=5))(jax.random.key(1))
    assert episode.actions.shape == (5,) and set(np.asarray(episode.actions)) <= {0, 1, 2}


def test_box_actions_are_regressed_inside_the_box():
    box = Box(low=-2.0, high=2.0, shape=(1,))
    bc = behaviour_cloning(FRAMES, box, channels=8, hidden=32)
    frames, _, cols = _data(512, 2)
    targets = (cols[:, None] / 5.0 * 4.0 - 2.0).astype(np.float32)
    params, losses = fit_behaviour_cloning(bc, bc.init(jax.random.key(0)), frames, targets,
                                           jax.random.key(1), steps=300, batch_size=32,
                                           learning_rate=3e-3)
    _, metrics = jax.jit(bc.loss)(params, frames, targets, None)
    assert float(metrics["mse"]) < 0.25 * float(np.var(targets))
    far = jax.jit(bc.act)(params, frames[0] * 50.0)
    assert float(far.min()) >= -2.0 and float(far.max()) <= 2.0


def test_a_second_fit_with_the_same_shapes_compiles_nothing(discrete_fit):
    bc, params, _ = discrete_fit
    frames, actions, _ = _data(512, 3)
    before = compiled_programs()
    fit_behaviour_cloning(bc, params, frames, actions, jax.random.PRNGKey(2), steps=300,
                          batch_size=32, learning_rate=5e-4)
    assert compiled_programs() == before


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="observation_space must be a Box of images"):
        behaviour_cloning(Box(low=0.0, high=1.0, shape=(4,)), Discrete(3))
    with pytest.raises(TypeError, match="action_space must be a jwm.spaces.Discrete or a "
                                        "floating Box"):
        behaviour_cloning(FRAMES, Box(low=0, high=3, shape=(1,), dtype=np.int32))
    bc = behaviour_cloning(FRAMES, Discrete(3), channels=4, hidden=8)
    params = jax.jit(bc.init)(jax.random.key(0))
    with pytest.raises(ValueError, match="frame must have shape"):
        bc.act(params, jnp.zeros((5, 5, 2)))
    with pytest.raises(ValueError, match="actions must have shape"):
        fit_behaviour_cloning(bc, params, np.zeros((4, 6, 6, 2)), np.zeros((3,), int),
                              jax.random.key(0), steps=1, batch_size=2)
    with pytest.raises(ValueError, match="steps must be an int >= 1"):
        fit_minibatches(bc.loss, params, (np.zeros((4, 6, 6, 2)), np.zeros(4, int)),
                        jax.random.key(0), steps=0, batch_size=2, learning_rate=1e-3)
    with pytest.raises(ValueError, match="share their first axis"):
        fit_minibatches(bc.loss, params, (np.zeros((4, 6, 6, 2)), np.zeros(3, int)),
                        jax.random.key(0), steps=1, batch_size=2, learning_rate=1e-3)
    with pytest.raises(ValueError, match="learning_rate must be"):
        fit_minibatches(bc.loss, params, (np.zeros((4, 6, 6, 2)), np.zeros(4, int)),
                        jax.random.key(0), steps=1, batch_size=2, learning_rate=0.0)

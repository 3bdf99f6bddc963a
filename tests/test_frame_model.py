"""The frame model for image observations: shapes, training by multi-step prediction,
planning on it, measuring its drift with multistep_error, and argument errors."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jwm
import jwm.eval
from jwm.agents import run_episode, stateless_policy
from jwm.models.frame_model import FrameModel, frame_model
from jwm.models.frame_train import episode_clips, fit_frame_model, frame_clips
from jwm.spaces import Box, Discrete

SIZES = dict(latent_channels=4, channels=8, hidden=16, layers=1, head_hidden=32)
K = 4
STEPS = 40


@pytest.fixture(scope="module")
def env():
    return jwm.envs.make("gymnax:Breakout-MinAtar")


@pytest.fixture(scope="module")
def model(env):
    return frame_model(env.observation_space, env.action_space, **SIZES)


@pytest.fixture(scope="module")
def init(model):
    return jax.jit(model.init)


@pytest.fixture(scope="module")
def params(init):
    return init(jax.random.key(0))


@pytest.fixture(scope="module")
def episodes(env):
    """Eight random-play episodes of 24 steps (most end before that)."""
    policy = stateless_policy(lambda p, obs, key: env.action_space.sample(key))
    one = lambda k: run_episode(env, policy, (), k, num_steps=24)
    return jax.jit(jax.vmap(one))(jax.random.split(jax.random.key(1), 8))


@pytest.fixture(scope="module")
def clips(episodes):
    """Every window of K steps that starts inside an episode; steps after an episode's
    end are inactive, so the loss's masks are exercised."""
    obs = np.concatenate([episodes.observations, episodes.next_observations[:, -1:]], 1)
    return episode_clips(obs, episodes.actions, episodes.rewards, episodes.active,
                         np.asarray(episodes.dones) & np.asarray(episodes.active), length=K)


@pytest.fixture(scope="module")
def trained(model, params, clips):
    return fit_frame_model(model, params, clips, jax.random.key(2), steps=STEPS,
                           batch_size=16, learning_rate=3e-3)


def test_shapes(env, model, params):
    assert isinstance(model, FrameModel) and isinstance(model, jwm.models.WorldModel)
    soft = frame_model(env.observation_space, env.action_space, continue_threshold=None,
                       **SIZES)

    @jax.jit
    def run(params, frame):
        z = model.encode(params, frame.astype(bool))
        z2, reward, discount = model.step(params, z, jnp.int32(1), jax.random.key(0))
        batch = model.encode(params, jnp.stack([frame, frame]))
        soft_discount = soft.step(params, z, 1, jax.random.PRNGKey(0))[2]
        return z, z2, reward, discount, model.decode(params, z2), batch, soft_discount

    z, z2, reward, discount, probs, batch, soft_discount = run(
        params, env.reset(jax.random.key(0))[1])
    assert z.shape == (model.latent_size,) == (5 * 5 * 4,) and z.dtype == jnp.float32
    assert z2.shape == z.shape and reward.shape == () and discount.shape == ()
    assert float(discount) in (0.0, 1.0)
    probs = np.asarray(probs)
    assert probs.shape == (10, 10, 4) and np.all((probs >= 0) & (probs <= 1))
    assert batch.shape == (2, model.latent_size)
    np.testing.assert_allclose(batch[0], z, atol=1e-5)
    assert 0 < float(soft_discount) < 1


def test_box_actions():
    model = frame_model(Box(0, 1, (6, 5, 2)), Box(-1.0, 1.0, (2,)), latent_channels=2,
                        channels=2, hidden=4, layers=0, head_hidden=4)

    def run(key):
        params = model.init(key)
        z = model.encode(params, jnp.zeros((6, 5, 2), bool))
        z2, reward, discount = model.step(params, z, jnp.ones(2), key)
        return z2, reward, discount, model.decode(params, z2)

    z2, reward, discount, probs = jax.eval_shape(run, jax.random.key(0))
    assert z2.shape == (model.latent_size,) == (3 * 3 * 2,)
    assert reward.shape == () == discount.shape and model.latent_grid == (3, 3, 2)
    assert probs.shape == (6, 5, 2)


def test_episode_clips():
    """Windows start at every active step and may run past the episode's end."""
    active = np.array([[1, 1, 0, 0, 0], [1, 1, 1, 1, 1]], bool)
    obs = np.arange(12, dtype=np.float32).reshape(2, 6, 1, 1, 1)
    clips = episode_clips(obs, np.zeros((2, 5), np.int32), np.ones((2, 5)), active,
                          length=3)
    assert clips.frames.shape == (5, 4, 1, 1, 1) and clips.actions.shape == (5, 3)
    np.testing.assert_array_equal(clips.frames[1, :, 0, 0, 0], [1, 2, 3, 4])
    np.testing.assert_array_equal(clips.active[1], [True, False, False])
    # Episode 0 terminated at its last active step (step 1); episode 1 never did.
    np.testing.assert_array_equal(clips.continues[:2], [[1, 0, 1], [0, 1, 1]])
    assert clips.continues[2:].min() == 1
    with pytest.raises(ValueError, match="length"):
        episode_clips(obs, np.zeros((2, 5), np.int32), np.ones((2, 5)), active, length=6)


def test_loss_decreases(trained):
    _, info = trained
    info = jax.tree.map(np.asarray, info)
    assert info.total.shape == (STEPS,) and np.all(np.isfinite(info.total))
    first = jax.tree.map(lambda x: x[:5].mean(), info)
    last = jax.tree.map(lambda x: x[-5:].mean(), info)
    assert last.total < 0.3 * first.total, (first, last)
    # Free-running frames improve too, not only the one-step ones.
    assert last.free_nll < 0.3 * first.free_nll, (first, last)


def test_fit_compiles_once_and_keys_agree(init, model, params, clips, trained):
    """The training program (every Adam step in one scan) is compiled once: a second
    call with a legacy key reuses it and gives the typed key's numbers."""
    from jwm.models.frame_train import _fit

    size = _fit._cache_size()
    legacy_params, legacy_info = fit_frame_model(model, params, clips, jax.random.PRNGKey(2),
                                                 steps=STEPS, batch_size=16, learning_rate=3e-3)
    assert _fit._cache_size() == size
    same = lambda a, b: jax.tree.all(jax.tree.map(
        lambda x, y: np.array_equal(np.asarray(x), np.asarray(y)), a, b))
    assert same(legacy_info, trained[1]) and same(legacy_params, trained[0])
    # A legacy key is turned into the typed one before init runs (checked without
    # compiling init a second time for the other key type).
    shapes = jax.eval_shape(init, jax.random.PRNGKey(0))
    assert jax.tree.structure(shapes) == jax.tree.structure(params)


def test_planners_run_on_the_model(env, model, trained, episodes):
    params = trained[0]
    frame = episodes.observations[0, 0]
    shooting = jwm.planners.random_shooting(model, env.action_space, horizon=5, population=16)
    tree = jwm.planners.mcts(model, env.action_space, num_simulations=8, rule="uct",
                             rollout_depth=3, temperature=0.0)
    for planner, key in ((shooting, jax.random.key(0)), (tree, jax.random.PRNGKey(0))):
        plan = jax.jit(lambda p, f, k, planner=planner:
                       planner.plan(planner.init(None), p, model.encode(p, f), k))
        action, _, info = plan(params, frame, key)
        assert action.shape == () and 0 <= int(action) < 3
        assert np.isfinite(float(info.predicted_return)) and int(info.num_nonfinite) == 0


def test_multistep_error_measures_drift(model, trained, episodes):
    params = trained[0]
    obs = np.concatenate([episodes.observations, episodes.next_observations[:, -1:]], 1)
    flat = obs.reshape(obs.shape[:2] + (-1,)).astype(np.float32)
    # multistep_error hands encode the flattened observation it compares against, and
    # its decode gets no params: close over them.
    flat_model = dataclasses.replace(
        model, encode=lambda p, o: model.encode(p, o.reshape(model.obs_shape)))
    decode = lambda z: model.decode(params, z).reshape(-1)
    err = jwm.eval.multistep_error(flat_model, params, flat, episodes.actions,
                                   episodes.rewards, horizon=3, active=episodes.active,
                                   decode=decode)
    assert err.state_error.shape == (3,) and np.all(np.isfinite(np.asarray(err.state_error)))
    assert int(err.count[0]) > 0


def test_bad_inputs(env, model, params, clips):
    with pytest.raises(TypeError, match="observation_space"):
        frame_model(Box(-1.0, 1.0, (4,)), env.action_space)
    with pytest.raises(TypeError, match="observation_space"):
        frame_model(Discrete(3), env.action_space)
    with pytest.raises(TypeError, match="action_space"):
        frame_model(env.observation_space, "left")
    with pytest.raises(ValueError, match="latent_channels"):
        frame_model(env.observation_space, env.action_space, latent_channels=0)
    with pytest.raises(ValueError, match="layers"):
        frame_model(env.observation_space, env.action_space, layers=-1)
    with pytest.raises(TypeError, match="channels"):
        frame_model(env.observation_space, env.action_space, channels=8.0)
    with pytest.raises(ValueError, match="continue_threshold"):
        frame_model(env.observation_space, env.action_space, continue_threshold=2.0)
    # Shapes are checked while tracing: eval_shape runs no network.
    with pytest.raises(ValueError, match="frame"):
        jax.eval_shape(model.encode, params, jnp.zeros((10, 10, 3)))
    z = jnp.zeros(model.latent_size)
    with pytest.raises(ValueError, match="action"):
        jax.eval_shape(model.step, params, z, jnp.zeros(3), jax.random.key(0))
    with pytest.raises(ValueError, match="latent"):
        jax.eval_shape(model.step, params, z[:5], 0, jax.random.key(0))
    with pytest.raises(TypeError, match="key"):
        model.step(params, z, 0, 0)
    with pytest.raises(ValueError, match="frames"):
        frame_clips(np.zeros((2, 4, 10, 10, 4)), np.zeros((2, 4), int), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="actions"):
        frame_clips(np.zeros((2, 5, 10, 10, 4)), np.zeros((2, 3), int), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="active"):
        frame_clips(np.zeros((2, 5, 10, 10, 4)), np.zeros((2, 4), int), np.zeros((2, 4)),
                    active=np.ones((2, 3), bool))
    wrong = clips._replace(frames=clips.frames[..., :3])
    with pytest.raises(ValueError, match="clips.frames"):
        fit_frame_model(model, params, wrong, jax.random.key(0), steps=1)
    with pytest.raises(ValueError, match="steps"):
        fit_frame_model(model, params, clips, jax.random.key(0), steps=0)
    with pytest.raises(TypeError, match="unknown loss weights"):
        fit_frame_model(model, params, clips, jax.random.key(0), steps=1, pixel_weight=1.0)
    with pytest.raises(ValueError, match="learning_rate"):
        fit_frame_model(model, params, clips, jax.random.key(0), steps=1, learning_rate=-1.0)
    with pytest.raises(TypeError, match="FrameClips"):
        fit_frame_model(model, params, tuple(clips)[:3], jax.random.key(0), steps=1)

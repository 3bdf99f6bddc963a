"""`jwm.planners.video_plan`: generates a video only when it has executed ``execute``
actions of the last one, reads action ``t`` off frames ``t`` and ``t + 1`` (the
current frame first), runs inside `mpc_episode` like any planner, and names bad input.

The video and inverse-dynamics models here are stand-ins whose outputs are known:
a "video" whose frame ``i`` is the current frame shifted by a key-dependent amount,
and an "inverse model" that reads the shift back. The learned models are tested in
their own files and together in experiments/video_planning.py."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jwm
from jwm.planners.video_plan import VideoPlanParams, frame_encoder, video_plan
from jwm.spaces import Box, Discrete

FRAMES = Box(low=0.0, high=1.0, shape=(4, 4, 1))
ACTIONS = Discrete(3)
HORIZON = 4


@dataclasses.dataclass(frozen=True)
class _Video:
    """Frame ``i`` of the video: the current frame rolled right by ``s_1 + ... + s_i``
    columns, where the shifts ``s_i`` in {0, 1, 2} come from the key."""

    horizon: int = HORIZON
    obs_shape: tuple = (4, 4, 1)

    def sample(self, params, frame, condition, key, num_steps):
        shifts = jax.random.randint(key, (self.horizon,), 0, 3) + params * 0
        frames = []
        current = frame.astype(jnp.float32)
        for s in range(self.horizon):
            current = jnp.roll(current, shifts[s], axis=1)
            frames.append(current)
        return jnp.stack(frames) + 0.0 * condition


class _Inverse:
    """Reads the shift between two frames (the stand-in video's "action")."""

    @staticmethod
    def act(params, frame, next_frame):
        matches = jnp.stack([jnp.all(jnp.roll(frame, s, axis=1) == next_frame)
                             for s in range(3)])
        return jnp.argmax(matches).astype(jnp.int32)


def _frame():
    return jnp.zeros((4, 4, 1)).at[1, 0, 0].set(1.0)


def test_actions_are_read_off_the_video_and_replanned_every_execute_steps():
    planner = video_plan(_Video(), _Inverse(), FRAMES, ACTIONS, condition=0, execute=3)
    params = VideoPlanParams(diffusion=jnp.zeros(()), inverse=())
    state = planner.init(None)
    frame = _frame()
    plan = jax.jit(planner.plan)
    keys = jax.random.split(jax.random.key(0), 7)
    actions, replanned, videos = [], [], []
    for k in keys:
        action, state, info = plan(state, params, frame, k)
        actions.append(int(action))
        replanned.append(bool(info.replanned))
        videos.append(np.asarray(info.video))
    assert plan._cache_size() == 1
    assert replanned == [True, False, False, True, False, False, True]
    # The shifts the stand-in drew with the replanning step's key are the actions.
    for start in (0, 3, 6):
        shifts = jax.random.randint(keys[start], (HORIZON,), 0, 3)
        want = [int(s) for s in shifts[:3]][:len(actions[start:start + 3])]
        assert actions[start:start + 3] == want
    np.testing.assert_array_equal(videos[1], videos[0])


def test_runs_in_mpc_episode_on_minatar_frames_and_keys_of_both_kinds_agree():
    env = jwm.envs.make("gymnax:Breakout-MinAtar")
    video = _Video(horizon=2, obs_shape=env.observation_space.shape)
    planner = video_plan(video, _Inverse(), env.observation_space, env.action_space,
                         condition=1, execute=2)
    params = VideoPlanParams(diffusion=jnp.zeros(()), inverse=())
    run = jax.jit(lambda k: jwm.agents.mpc_episode(env, frame_encoder, planner, params, k,
                                                   num_steps=12))
    typed, legacy = run(jax.random.key(4)), run(jax.random.PRNGKey(4))
    np.testing.assert_array_equal(typed.actions, legacy.actions)
    assert typed.actions.shape == (12,) and typed.actions.dtype == jnp.int32
    assert set(np.asarray(typed.actions).tolist()) <= {0, 1, 2}


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="num_steps must be an int >= 1"):
        video_plan(_Video(), _Inverse(), FRAMES, ACTIONS, condition=0, num_steps=0)
    with pytest.raises(ValueError, match="execute must be at most the video's horizon 4"):
        video_plan(_Video(), _Inverse(), FRAMES, ACTIONS, condition=0, execute=5)
    with pytest.raises(TypeError, match="observation_space must be images"):
        video_plan(_Video(), _Inverse(), Box(low=0.0, high=1.0, shape=(3,)), ACTIONS,
                   condition=0)
    with pytest.raises(ValueError, match="generates frames of shape"):
        video_plan(_Video(obs_shape=(5, 5, 1)), _Inverse(), FRAMES, ACTIONS,
                   condition=0)
    with pytest.raises(TypeError, match="no dynamics"):
        frame_encoder.step((), _frame(), 0, jax.random.key(0))

"""`jwm.agents.demonstrations`: collected episodes in the documented layout, saved and
loaded without pickle, split by episode, and cut into transitions and clips that
never cross an episode's end."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jwm
from jwm.agents import demonstrations as demo

ENV = jwm.envs.make("gymnax:Breakout-MinAtar")
STEPS = 40


def _random_policy():
    return jwm.agents.stateless_policy(lambda params, obs, key: ENV.action_space.sample(key))


@pytest.fixture(scope="module")
def demos():
    collect = jax.jit(lambda k: demo.collect(ENV, _random_policy(), (), k, episodes=6,
                                             num_steps=STEPS, task=1))
    return collect(jax.random.key(0))


def test_collected_layout(demos):
    assert demos.observations.shape == (6, STEPS + 1, 10, 10, 4)
    # MinAtar's channels are 0/1 floats.
    assert demos.observations.dtype == jnp.float32
    assert set(np.unique(demos.observations).tolist()) <= {0.0, 1.0}
    assert demos.actions.shape == (6, STEPS) and demos.rewards.dtype == jnp.float32
    assert (np.asarray(demos.task) == 1).all()
    active, terminated = np.asarray(demos.active), np.asarray(demos.terminated)
    # Random Breakout play loses the ball within 40 steps in some episodes: then the
    # last active step is the terminal one and nothing after it is active.
    for a, t in zip(active, terminated):
        if t.any():
            end = int(np.argmax(t))
            assert a[:end + 1].all() and not a[end + 1:].any() and t.sum() == 1
    assert (np.asarray(demos.rewards)[~active] == 0).all()
    # After the end the frame is frozen: every observation past it is the last one.
    obs = np.asarray(demos.observations)
    for n, a in enumerate(active):
        length = int(a.sum())
        assert (obs[n, length:] == obs[n, length][None]).all()


def test_save_and_load_round_trip_without_pickle(demos, tmp_path):
    path = str(tmp_path / "sub" / "demos.npz")
    demo.save(path, demos, {"env": "gymnax:Breakout-MinAtar", "policy": "random"})
    loaded, metadata = demo.load(path)
    assert metadata == {"env": "gymnax:Breakout-MinAtar", "policy": "random"}
    for a, b in zip(loaded, demos):
        np.testing.assert_array_equal(a, np.asarray(b))
        assert a.dtype == np.asarray(b).dtype
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["demos.npz"]
    with pytest.raises(ValueError, match="must end with .npz"):
        demo.save(str(tmp_path / "demos.bin"), demos)
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match="not a demonstrations file"):
        demo.load(str(tmp_path / "other.npz"))


def test_split_keeps_whole_episodes(demos):
    train, held = demo.split(demos, 0.34, jax.random.PRNGKey(3))
    assert train.task.shape == (4,) and held.task.shape == (2,)
    rows = {np.asarray(x).tobytes() for x in demos.observations}
    assert {x.tobytes() for x in train.observations} | {x.tobytes() for x in held.observations} \
        == rows
    with pytest.raises(ValueError, match="held_out_fraction"):
        demo.split(demos, 1.0, jax.random.key(0))


def test_transitions_and_clips_stay_inside_episodes(demos):
    frames, next_frames, actions = demo.transitions(demos)
    assert frames.shape[0] == int(np.asarray(demos.active).sum()) == actions.shape[0]
    assert next_frames.shape == frames.shape
    obs, act, rew, term, task = demo.clips(demos, 5)
    assert obs.shape[1:] == (6, 10, 10, 4) and act.shape[1:] == (5,) and task.shape == rew.shape[:1]
    # Every clip is a run of real consecutive steps: each (frame, action, next frame)
    # triple is one of the episodes' transitions, and only a clip's last step may end it.
    known = {(f.tobytes(), int(a), n.tobytes()) for f, a, n in zip(frames, actions, next_frames)}
    for clip_obs, clip_act, clip_term in zip(obs, act, term):
        for t in range(5):
            assert (clip_obs[t].tobytes(), int(clip_act[t]), clip_obs[t + 1].tobytes()) in known
        assert not clip_term[:-1].any()
    expected = sum(max(int(a.sum()) - 5 + 1, 0) for a in np.asarray(demos.active))
    assert obs.shape[0] == expected
    with pytest.raises(ValueError, match="length must be at most"):
        demo.clips(demos, STEPS + 1)


def test_bad_input_is_named(demos):
    with pytest.raises(ValueError, match="episodes must be an int >= 1"):
        demo.collect(ENV, _random_policy(), (), jax.random.key(0), episodes=0, num_steps=3)
    with pytest.raises(TypeError, match="demos must be a Demonstrations"):
        demo.transitions({"observations": 1})
    broken = demos._replace(rewards=demos.rewards[:, :-1])
    with pytest.raises(ValueError, match="demos.rewards has shape"):
        demo.clips(broken, 2)
    with pytest.raises(ValueError, match="differ in layout"):
        demo.concatenate(demos, demos._replace(
            observations=demos.observations.astype(bool)))
    both = demo.concatenate(demos, demos)
    assert both.task.shape == (12,)

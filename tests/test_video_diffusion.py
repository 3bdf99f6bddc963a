"""The video diffusion model: shapes, learning on a tiny moving-dot world, deterministic
DDIM sampling, task and goal conditioning, clear errors, one compilation per fit."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jwm.models.minibatch import compiled_programs
from jwm.models.video_diffusion import VideoDiffusion, fit_video_diffusion, video_diffusion
from jwm.spaces import Box, Discrete

SIZE, HORIZON = 6, 3
SPACE = Box(0.0, 1.0, (SIZE, SIZE, 2))
# Task 0: the dot moves right one pixel a frame; task 1: down. Starts from which the
# dot stays on the grid; those with r, c < SIZE - HORIZON appear under both tasks.
MOVES = ((0, 1), (1, 0))
TASK_FIT = dict(chunks=3, steps=100, batch_size=32)


def _frame(r, c):
    f = np.zeros((SIZE, SIZE, 2), np.float32)
    f[r, c, 0] = 1.0
    f[:, 0, 1] = 1.0  # a static wall, as Breakout's bricks: copying it must be learnt too
    return f


def _clips():
    frames, future, tasks = [], [], []
    for task, (dr, dc) in enumerate(MOVES):
        for r in range(SIZE - HORIZON * dr):
            for c in range(SIZE - HORIZON * dc):
                frames.append(_frame(r, c))
                future.append([_frame(r + k * dr, c + k * dc) for k in range(1, HORIZON + 1)])
                tasks.append(task)
    return np.stack(frames), np.stack(future), np.asarray(tasks, np.int32)


@pytest.fixture(scope="module")
def data():
    return _clips()


@pytest.fixture(scope="module")
def trained(data):
    """``{condition: (model, params, losses)}``, each trained once for the module, plus
    ``"programs"``: how many programs the task model's chunked training compiled."""
    frames, future, tasks = data
    task_model = video_diffusion(SPACE, horizon=HORIZON, condition="task", num_tasks=2,
                                 channels=32, blocks=1)
    params = task_model.init(jax.random.key(0))
    before, losses = compiled_programs(), []
    # Chunks with other keys (typed and legacy) and learning rates: one program.
    for i, lr in enumerate((3e-3, 2e-3, 1e-3)):
        key = jax.random.key(10 + i) if i % 2 else jax.random.PRNGKey(10 + i)
        params, chunk = fit_video_diffusion(task_model, params, frames, future, tasks, key,
                                            steps=TASK_FIT["steps"],
                                            batch_size=TASK_FIT["batch_size"], learning_rate=lr)
        losses.append(np.asarray(chunk))
    out = {"task": (task_model, params, np.concatenate(losses)),
           "programs": compiled_programs() - before}
    # The task model diffuses frames (the default), the goal model their differences
    # from the current frame: both parameterisations learn.
    goal_model = video_diffusion(SPACE, horizon=HORIZON, condition="goal", channels=32,
                                 blocks=1, residual=True)
    params, losses = fit_video_diffusion(goal_model, goal_model.init(jax.random.key(1)), frames,
                                         future, future[:, -1], jax.random.key(2), steps=150,
                                         batch_size=16, learning_rate=3e-3)
    out["goal"] = (goal_model, params, np.asarray(losses))
    return out


@pytest.fixture(scope="module")
def sample_one():
    """``model.sample`` jitted with ``num_steps`` static, compiled once per model and
    step count for the module."""
    compiled = {}

    def sample(model, *args):
        if model not in compiled:
            compiled[model] = jax.jit(model.sample, static_argnums=4)
        return compiled[model](*args)

    return sample


def _sample_all(model, params, frames, conds, key, num_steps=8):
    fn = jax.vmap(lambda p, f, c, k: model.sample(p, f, c, k, num_steps), in_axes=(None, 0, 0, 0))
    return np.asarray(jax.jit(fn)(params, frames, conds, jax.random.split(key, len(frames))))


def test_shapes_and_record(trained, data, sample_one):
    model, params, _ = trained["task"]
    frames, future, tasks = data
    assert isinstance(model, VideoDiffusion)
    assert model.horizon == HORIZON and model.obs_shape == (SIZE, SIZE, 2)
    assert model.condition == "task" and model.condition_shape == () and model.num_tasks == 2
    value, metrics = jax.jit(model.loss)(params, frames[:4], future[:4], tasks[:4],
                                         jax.random.key(2))
    assert value.shape == () and np.isfinite(value)
    assert set(metrics) == {"loss", "x0_mse"}
    for num_steps in (1, 4):
        video = sample_one(model, params, frames[0], tasks[0], jax.random.key(3), num_steps)
        assert video.shape == (HORIZON, SIZE, SIZE, 2) and video.dtype == jnp.float32
        assert float(video.min()) >= 0.0 and float(video.max()) <= 1.0
    goal_model = trained["goal"][0]
    assert goal_model.condition == "goal" and goal_model.condition_shape == (SIZE, SIZE, 2)
    assert goal_model.residual and not model.residual


def test_loss_decreases(trained):
    for condition in ("task", "goal"):
        losses = trained[condition][2]
        assert np.isfinite(losses).all()
        assert losses[-50:].mean() < 0.3 * losses[:10].mean(), condition


def _error_rate(videos, future):
    return float(np.mean((videos > 0.5) != (future > 0.5)))


@pytest.mark.parametrize("condition", ["task", "goal"])
def test_conditioning_steers_the_video(trained, data, condition):
    """Generated clips are right far more often than copying the current frame, and
    the condition steers them: from a start shared by both tasks, the dot goes right
    under one condition and down under the other, as the real clips do."""
    model, params, _ = trained[condition]
    frames, future, tasks = data
    conds = tasks if condition == "task" else future[:, -1]
    videos = _sample_all(model, params, frames, conds, jax.random.key(4))
    copy = _error_rate(np.repeat(frames[:, None], HORIZON, 1), future)
    assert _error_rate(videos, future) < 0.25 * copy
    right, down = np.flatnonzero(tasks == 0), np.flatnonzero(tasks == 1)
    pairs = [(i, j) for i in right for j in down if np.array_equal(frames[i], frames[j])]
    assert len(pairs) == (SIZE - HORIZON) ** 2
    i, j = np.asarray(pairs).T
    assert _error_rate(videos[i], future[i]) < 0.35 * copy
    assert _error_rate(videos[j], future[j]) < 0.35 * copy
    # The two conditions' last frames put the dot in different places.
    differ = ((videos[i, -1] > 0.5) != (videos[j, -1] > 0.5)).any(axis=(1, 2, 3))
    assert differ.mean() > 0.5


def test_sampling_is_deterministic_per_key(trained, data, sample_one):
    model, params, _ = trained["task"]
    frames, _, tasks = data
    a = sample_one(model, params, frames[0], tasks[0], jax.random.key(5), 4)
    b = sample_one(model, params, frames[0], tasks[0], jax.random.key(5), 4)
    c = sample_one(model, params, frames[0], tasks[0], jax.random.key(6), 4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("num_steps", [0, -3])
def test_zero_sampling_steps_raise(trained, data, num_steps):
    model, params, _ = trained["task"]
    frames, _, tasks = data
    with pytest.raises(ValueError, match="num_steps"):
        model.sample(params, frames[0], tasks[0], jax.random.key(0), num_steps)


def test_bad_inputs_raise(trained, data):
    model, params, _ = trained["task"]
    goal_model, goal_params, _ = trained["goal"]
    frames, future, tasks = data
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="observation_space"):
        video_diffusion(Box(-1.0, 1.0, (4,)), horizon=2)
    with pytest.raises(TypeError, match="observation_space"):
        video_diffusion(Discrete(3), horizon=2)
    with pytest.raises(ValueError, match="observation_space"):
        video_diffusion(Box(-np.inf, np.inf, (4, 4, 1)), horizon=2)
    with pytest.raises(ValueError, match="condition"):
        video_diffusion(SPACE, horizon=2, condition="text")
    with pytest.raises(ValueError, match="horizon"):
        video_diffusion(SPACE, horizon=0)
    with pytest.raises(TypeError, match="residual"):
        video_diffusion(SPACE, horizon=2, residual="yes")
    with pytest.raises(TypeError, match="num_steps"):
        model.sample(params, frames[0], tasks[0], key, 2.0)
    with pytest.raises(ValueError, match="frame"):
        model.sample(params, frames[0, :4], tasks[0], key, 2)
    with pytest.raises(ValueError, match="condition"):
        goal_model.sample(goal_params, frames[0], tasks[0], key, 2)
    with pytest.raises(ValueError, match="future"):
        model.loss(params, frames[:4], future[:4, :2], tasks[:4], key)
    with pytest.raises(ValueError, match="frames"):
        model.loss(params, frames[0], future[:1], tasks[:1], key)
    with pytest.raises(ValueError, match="condition"):
        fit_video_diffusion(model, params, frames, future, tasks[:5], key, steps=1,
                            batch_size=2, learning_rate=1e-3)
    with pytest.raises(ValueError, match="learning_rate"):
        fit_video_diffusion(model, params, frames, future, tasks, key, steps=1,
                            batch_size=2, learning_rate=0.0)
    with pytest.raises(ValueError, match="steps"):
        fit_video_diffusion(model, params, frames, future, tasks, key, steps=0,
                            batch_size=2, learning_rate=1e-3)
    with pytest.raises(TypeError, match="VideoDiffusion"):
        fit_video_diffusion(object(), params, frames, future, tasks, key, steps=1,
                            batch_size=2, learning_rate=1e-3)


def test_fit_compiles_once(trained):
    """The fixture trained the task model in three calls with other keys (typed and
    legacy) and learning rates: one compiled program."""
    assert trained["programs"] == 1
    assert len(trained["task"][2]) == TASK_FIT["chunks"] * TASK_FIT["steps"]

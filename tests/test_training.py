"""`jwm.train`: the host-driven loop equals `agent.run`, resumes bit for bit from orbax
checkpoints (also after Ctrl-C), refuses another run's directory, survives a corrupt
checkpoint, and logs every iteration."""

import json
import os
import signal
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jwm
from jwm.training import tensorboard, train

PENDULUM = jwm.envs.make("gymnax:Pendulum-v1")
ITERATIONS = 4


def _agent(epochs=2, **model_options):
    model = jwm.models.ensemble_model(PENDULUM.observation_space, PENDULUM.action_space,
                                      ensemble_size=2, hidden_sizes=(8,), particles=2,
                                      **model_options)
    planner = jwm.planners.cem(model, PENDULUM.action_space, horizon=3, population=8,
                               iterations=1)
    return jwm.agents.pets(PENDULUM, model, planner, total_steps=ITERATIONS * 10, steps_per_episode=10,
                           fit_options=dict(epochs=epochs, batch_size=8))


AGENT = _agent()


def _raw(x):
    return np.asarray(jax.random.key_data(x) if jnp.issubdtype(x.dtype, jax.dtypes.prng_key)
                      else x)


def assert_trees_equal(a, b):
    for (path, x), y in zip(jax.tree_util.tree_flatten_with_path(a)[0], jax.tree.leaves(b)):
        np.testing.assert_array_equal(_raw(x), _raw(y), err_msg=jax.tree_util.keystr(path))


RUN = jax.jit(AGENT.run)


@pytest.fixture(scope="module")
def reference():
    return RUN(jax.random.key(0))


def test_uninterrupted_training_equals_run(reference, tmp_path):
    logged = []
    result = train(AGENT, jax.random.key(0), checkpoint_dir=tmp_path, checkpoint_every=3,
                   progress=False, log=lambda i, m: logged.append((i, m)))
    assert result.iterations == ITERATIONS and not result.interrupted
    assert result.resumed_from is None
    assert_trees_equal((result.state, result.metrics), reference)
    # Checkpoints at 3 and at the end; the log holds one JSON line per iteration.
    assert {"3", "4", "run.json", "metrics.jsonl"} <= set(os.listdir(tmp_path))
    lines = [json.loads(line) for line in open(tmp_path / "metrics.jsonl")]
    assert [line["iteration"] for line in lines] == [1, 2, 3, 4]
    assert lines[1]["eval_return"] == pytest.approx(float(reference[1].eval_return[1]))
    assert [i for i, _ in logged] == [1, 2, 3, 4] and "model/val_error" in logged[0][1]


def test_resume_and_continue_are_bit_identical(reference, tmp_path):
    first = train(AGENT, jax.random.key(0), iterations=2, checkpoint_dir=tmp_path,
                  checkpoint_every=1, progress=False)
    assert first.iterations == 2 and first.metrics.eval_return.shape == (2,)
    # A legacy key of the same seed is the same run.
    resumed = train(AGENT, jax.random.PRNGKey(0), checkpoint_dir=tmp_path, checkpoint_every=1,
                    progress=False)
    assert resumed.resumed_from == 2
    assert_trees_equal((resumed.state, resumed.metrics), reference)
    lines = [json.loads(line) for line in open(tmp_path / "metrics.jsonl")]
    assert [line["iteration"] for line in lines] == [1, 2, 3, 4]
    # A finished run asked for more iterations continues.
    longer = train(AGENT, jax.random.key(0), iterations=ITERATIONS + 1, checkpoint_dir=tmp_path,
                   progress=False)
    assert longer.resumed_from == ITERATIONS and longer.iterations == ITERATIONS + 1
    assert_trees_equal(longer.metrics.eval_return[:ITERATIONS], reference[1].eval_return)
    # The three calls on one agent compiled its step once.
    _, step = AGENT.__dict__["_train_programs"][1]
    assert step._cache_size() == 1


def test_ctrl_c_checkpoints_and_the_run_resumes(reference, tmp_path):
    def press_ctrl_c(iteration, metrics):
        if iteration == 2:
            os.kill(os.getpid(), signal.SIGINT)

    stopped = train(AGENT, jax.random.key(0), checkpoint_dir=tmp_path, checkpoint_every=10,
                    progress=False, log=press_ctrl_c)
    assert stopped.interrupted and stopped.iterations == 2
    assert "2" in os.listdir(tmp_path)                  # saved although not a multiple of 10
    resumed = train(AGENT, jax.random.key(0), checkpoint_dir=tmp_path, progress=False)
    assert resumed.resumed_from == 2
    assert_trees_equal((resumed.state, resumed.metrics), reference)


def test_another_run_is_refused_and_left_alone(tmp_path):
    train(AGENT, jax.random.key(0), iterations=1, checkpoint_dir=tmp_path, progress=False)
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(ValueError, match=r"fit\.epochs: 2 in the checkpoint, 3 now"):
        train(_agent(epochs=3), jax.random.key(0), checkpoint_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match="key"):
        train(AGENT, jax.random.key(1), checkpoint_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match="seeds"):
        train(AGENT, jax.random.key(0), seeds=2, checkpoint_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match="recipe"):
        train(AGENT, jax.random.key(0), checkpoint_dir=tmp_path, progress=False,
              config={"recipe": "other"})
    assert sorted(os.listdir(tmp_path)) == before


def test_a_corrupt_latest_checkpoint_is_reported_and_the_previous_one_used(reference, tmp_path):
    train(AGENT, jax.random.key(0), iterations=3, checkpoint_dir=tmp_path, checkpoint_every=1,
          progress=False)
    for root, _, files in os.walk(tmp_path / "3"):
        for name in files:
            with open(os.path.join(root, name), "r+b") as f:
                f.truncate(3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        resumed = train(AGENT, jax.random.key(0), checkpoint_dir=tmp_path, checkpoint_every=1,
                        progress=False)
    assert any("checkpoint 3" in str(w.message) for w in caught)
    assert resumed.resumed_from == 2 and "3.corrupt" in os.listdir(tmp_path)
    assert_trees_equal((resumed.state, resumed.metrics), reference)


def test_bad_arguments_fail_before_training(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    with pytest.raises(ValueError, match="checkpoint_dir .* not a writable directory"):
        train(AGENT, jax.random.key(0), checkpoint_dir=blocker / "sub", progress=False)
    for kwargs, match in ((dict(iterations=0), "iterations"), (dict(seeds=0), "seeds"),
                          (dict(checkpoint_every=0), "checkpoint_every"), (dict(keep=0), "keep")):
        with pytest.raises(ValueError, match=match):
            train(AGENT, jax.random.key(0), progress=False, **kwargs)
    with pytest.raises(TypeError, match="key"):
        train(AGENT, 0, progress=False)
    with pytest.raises(TypeError, match="log"):
        train(AGENT, jax.random.key(0), log="tensorboard", progress=False)


def test_seeds_are_vmapped_like_run_and_logged_to_tensorboard(tmp_path):
    log = tensorboard(str(tmp_path / "tb"))
    result = train(AGENT, jax.random.key(0), seeds=2, progress=False, log=log)
    assert result.metrics.eval_return.shape == (2, ITERATIONS)
    for i, key in enumerate(jax.random.split(jax.random.key(0), 2)):
        # Equal to float32 rounding: a batched step may be fused differently.
        np.testing.assert_allclose(result.metrics.eval_return[i], RUN(key)[1].eval_return,
                                   rtol=1e-4)
    assert any(name.startswith("events.out.tfevents") for name in os.listdir(tmp_path / "tb"))


def test_a_model_predicting_only_nan_is_reported_not_silent():
    nan_model = _agent(reward_fn=lambda obs, action, next_obs: jnp.full((), jnp.nan))
    with pytest.warns(RuntimeWarning, match="iteration 2: the planner discarded .* non-finite"):
        result = train(nan_model, jax.random.key(0), iterations=2, progress=False)
    assert int(result.metrics.num_nonfinite[0]) == 0         # the random warm-up
    assert int(result.metrics.num_nonfinite[1]) > 0
    assert np.isfinite(result.metrics.eval_return).all()     # actions stayed valid

"""`jwm.sweep`: a learning-rate sweep compiles its step once and each run equals its
configuration trained alone bit for bit; sharded over 4 devices, padded, resumed
from a checkpoint, and run by two processes with ``jax.distributed``, it writes the
same table; bad input is named before anything compiles."""

import csv
import json
import logging
import os
import shutil
import socket
import subprocess
import sys

import jax
import numpy as np
import pytest

import jwm
from jwm.training.pytrees import flat_metrics

sys.path.insert(0, os.path.dirname(__file__))
import sweep_pets  # noqa: E402

SCRIPT = os.path.join(os.path.dirname(__file__), "sweep_pets.py")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The sweep on this process's one device, with the compilations it logged."""
    messages = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())
    logger = logging.getLogger("jax._src.dispatch")
    logger.addHandler(handler)
    try:
        with jax.log_compiles():
            result = jwm.sweep(sweep_pets.factory, sweep_pets.configs(),
                               seeds=sweep_pets.SEEDS, key=0, progress=False)
    finally:
        logger.removeHandler(handler)
    out = tmp_path_factory.mktemp("reference")
    result.write(str(out))
    return result, messages, out


def _table(directory):
    with open(os.path.join(directory, "sweep.csv")) as f:
        return list(csv.DictReader(f))


def test_a_learning_rate_sweep_compiles_once_and_equals_each_run_alone(reference):
    result, messages, _ = reference
    compiles = [m for m in messages if m.startswith("Finished XLA compilation of jit(step)")]
    assert len(compiles) == 1, messages
    assert result.traced == ("learning_rate",) and result.num_groups == 1
    for c in (3,):     # each configuration alone is a compile: one shows it
        config = sweep_pets.configs()[c]
        alone = jwm.train(sweep_pets.factory(**config), jax.random.key(0),
                          seeds=sweep_pets.SEEDS, progress=False)
        for name, value in flat_metrics(alone.metrics).items():
            np.testing.assert_array_equal(result.metrics[c][name], value, err_msg=name)
    finals = [s["final_return_mean"] for s in result.summary()]
    assert len(set(finals)) > 1          # the learning rate matters


def test_the_table_summary_and_plots(reference):
    result, _, out = reference
    rows = _table(out)
    assert len(rows) == 4 * sweep_pets.SEEDS * 3
    assert {"learning_rate", "config", "seed", "iteration", "env_steps",
            "eval_return", "model/loss"} <= set(rows[0])
    lines = [json.loads(line) for line in open(out / "sweep.jsonl")]
    assert [line["eval_return"] for line in lines] == [float(r["eval_return"]) for r in rows]
    summary = json.loads((out / "sweep_summary.json").read_text())["summary"]
    first = summary[0]
    final = result.metrics[0]["eval_return"][:, -1]
    assert first["final_return_mean"] == pytest.approx(final.mean())
    low, high = first["final_return_ci95"]
    assert final.min() <= low <= high <= final.max()
    for name in ("sweep_curves.png", "sweep_sensitivity.png"):
        assert (out / name).stat().st_size > 5000


@pytest.fixture(scope="module")
def compile_cache(tmp_path_factory):
    """A JAX disk cache the subprocesses share: the resumed sweep reuses the program."""
    return {"JAX_COMPILATION_CACHE_DIR": str(tmp_path_factory.mktemp("jax_cache")),
            "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
            "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0"}


def _script(args, devices, cache, **kwargs):
    env = {**os.environ, **cache, "JAX_PLATFORMS": "cpu",
           "XLA_FLAGS": (os.environ.get("XLA_FLAGS", "") +
                         f" --xla_force_host_platform_device_count={devices}").strip()}
    return subprocess.Popen([sys.executable, SCRIPT, *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, **kwargs)


def _finish(process):
    out, _ = process.communicate(timeout=600)
    assert process.returncode == 0, out
    return out


def _rows_of_configs(rows, configs):
    return [r for r in rows if int(r["config"]) < configs]


EXACT = ("learning_rate", "config", "seed", "iteration", "env_steps", "episode_length",
         "random", "num_nonfinite")


def assert_same_table(rows, expected):
    """Sharded runs compute what one device computes, but XLA compiles the
    per-device program for its own shapes, so a loss or a return may differ in the
    last float32 bits; every count and configuration is equal."""
    assert len(rows) == len(expected) and rows[0].keys() == expected[0].keys()
    for row, want in zip(rows, expected):
        assert [row[k] for k in EXACT] == [want[k] for k in EXACT]
        for k in set(row) - set(EXACT):
            np.testing.assert_allclose(float(row[k]), float(want[k]), rtol=1e-5, err_msg=k)


def test_six_runs_sharded_over_four_devices_pad_drop_and_resume(reference, tmp_path,
                                                               compile_cache):
    """3 configurations × 2 seeds on 4 devices (padded to 8): the same table as on one
    device; then, with the last checkpoint gone, the same command resumes from the
    one before and writes the same table again."""
    checkpoints = tmp_path / "checkpoints"
    text = _finish(_script([str(tmp_path / "a"), "--configs", "3", "--devices", "4",
                            "--checkpoint-dir", str(checkpoints)], 4, compile_cache))
    assert "devices 4" in text
    expected = _rows_of_configs(_table(reference[2]), 3)
    assert_same_table(_table(tmp_path / "a"), expected)
    shutil.rmtree(checkpoints / "group-0" / "3")
    _finish(_script([str(tmp_path / "b"), "--configs", "3", "--devices", "4",
                     "--checkpoint-dir", str(checkpoints)], 4, compile_cache))
    assert _table(tmp_path / "b") == _table(tmp_path / "a")
    log = (checkpoints / "group-0" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["iteration"] for line in log] == [1, 2, 3]


def test_two_processes_run_one_sweep_together(reference, tmp_path, compile_cache):
    with socket.socket() as s:
        s.bind(("localhost", 0))
        port = s.getsockname()[1]
    processes = [_script([str(tmp_path / f"p{i}"), "--configs", "3", "--process-id", str(i),
                          "--num-processes", "2", "--port", str(port)], 2, compile_cache)
                 for i in range(2)]
    texts = [_finish(p) for p in processes]
    assert all("devices 4 processes 2 local 2" in t for t in texts)
    assert_same_table(_table(tmp_path / "p0"), _rows_of_configs(_table(reference[2]), 3))
    assert not (tmp_path / "p1").exists()          # process 0 writes


@pytest.mark.parametrize("configs, kwargs, error, match", [
    ([], {}, ValueError, "configs is empty"),
    ([{"learning_rate": 1e-3}], {"devices": 64}, ValueError, "devices=64, but 1 device"),
    ([{"learning_rate": 1e-3, "momentum": 0.9}], {}, ValueError,
     "unexpected keyword argument 'momentum'"),
    ([{"learning_rate": "fast"}], {}, TypeError, "fit: learning_rate must be a real number"),
    ([{"learning_rate": -1.0}], {}, ValueError, "learning_rate must be"),
    ([{"learning_rate": 1e-3}, {"population": 8}], {}, ValueError, "the same keys"),
    ([{"learning_rate": 1e-3}], {"static": ["lr"]}, ValueError, "static names"),
    ([{"learning_rate": 1e-3}], {"seeds": 0}, ValueError, "seeds must be an int >= 1"),
])
def test_bad_input_is_named_before_compiling(configs, kwargs, error, match):
    with pytest.raises(error, match=match):
        jwm.sweep(sweep_pets.factory, configs, progress=False, **kwargs)


def test_a_float_that_fixes_a_shape_must_be_static():
    def factory(elite_frac):
        env = jwm.envs.make("gymnax:Pendulum-v1")
        model = jwm.models.ensemble_model(env.observation_space, env.action_space,
                                          ensemble_size=2, hidden_sizes=(8,))
        planner = jwm.planners.cem(model, env.action_space, horizon=2, population=8,
                                   elite_frac=elite_frac)
        return jwm.agents.pets(env, model, planner, total_steps=10, steps_per_episode=5)

    with pytest.raises(ValueError, match="'elite_frac' cannot be traced.*static="):
        jwm.sweep(factory, jwm.sweeps.grid(elite_frac=[0.1, 0.5]), progress=False)


def test_grid_and_groups():
    configs = jwm.sweeps.grid(population=[8, 16], learning_rate=[1e-3, 1e-2])
    assert configs[1] == {"population": 8, "learning_rate": 1e-2}
    groups = jwm.sweeps.group_configs(configs)
    assert [g.static for g in groups] == [{"population": 8}, {"population": 16}]
    assert groups[1].values == {"learning_rate": [1e-3, 1e-2]} and groups[1].indices == [2, 3]
    only = jwm.sweeps.group_configs(configs, static=["learning_rate"])
    assert len(only) == 4 and only[0].traced == ()
    with pytest.raises(ValueError, match="axis 'a' must be a non-empty list"):
        jwm.sweeps.grid(a=[])


TINY_PETS_SWEEP = """
agent = "pets"
env = "gymnax:Pendulum-v1"
seeds = 1
threshold = -1000.0
[set]
"loop.total_steps" = 10
"loop.steps_per_episode" = 5
"loop.fit_epochs" = 1
"loop.fit_batch_size" = 4
"model.hidden_sizes" = [8]
"model.ensemble_size" = 2
"model.particles" = 2
"planner.population" = 8
"planner.horizon" = 2
"planner.iterations" = 1
[grid]
"optimizer.learning_rate" = [1e-3, 1e-2]
"planner.alpha" = [0.0, 0.5]
"""


def test_the_sweep_command_runs_a_toml_file(tmp_path, capsys):
    from jwm.cli import main

    path = tmp_path / "lr.toml"
    path.write_text(TINY_PETS_SWEEP)
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "4 configurations × 1 seeds in 1 program(s)" in text
    summary = json.loads((tmp_path / "out" / "lr_summary.json").read_text())
    assert summary["traced"] == ["optimizer.learning_rate", "planner.alpha"]
    assert summary["summary"][0]["steps_to_threshold"] == [5.0]
    assert (tmp_path / "out" / "lr_heatmap.png").stat().st_size > 5000


def test_the_sweep_file_example_of_the_documentation_runs_end_to_end(tmp_path, capsys):
    """The example in `jwm.sweeps.files`' docstring, as written, through `jwm sweep`."""
    import textwrap

    from jwm.cli import main
    from jwm.sweeps import files

    doc = files.__doc__
    example = textwrap.dedent(doc[doc.index("::\n") + 3:doc.index("``configs = ")])
    path = tmp_path / "example.toml"
    path.write_text(example)
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    assert "4 configurations × 2 seeds in 1 program(s)" in capsys.readouterr().out
    summary = json.loads((tmp_path / "out" / "example_summary.json").read_text())
    assert summary["traced"] == ["optimizer.learning_rate", "planner.alpha"]
    assert len(summary["summary"]) == 4


@pytest.mark.parametrize("text, match", [
    ('agent = "pets"\ncolour = 1\n[grid]\nx = [1]\n', "unknown keys \\['colour'\\]"),
    ('agent = "ppo"\n[grid]\nx = [1]\n', "agent must be one of"),
    ('agent = "pets"\n', "give either \\[grid\\] or configs, not neither"),
    ('agent = "pets"\n[grid]\n"optimizer.learning_rte" = [1e-3]\n',
     "unknown config key 'optimizer.learning_rte'"),
    ('agent = "pets"\n[grid]\n"fit.learning_rate" = [1e-3]\n',
     "unknown config key 'fit'.*now optimizer.learning_rate"),
    ('agent = [\n', "not valid TOML"),
])
def test_a_bad_sweep_file_is_named(tmp_path, capsys, text, match):
    from jwm.cli import main

    path = tmp_path / "bad.toml"
    path.write_text(text)
    assert main(["sweep", str(path), "--no-progress"]) == 2
    assert __import__("re").search(match, capsys.readouterr().err)

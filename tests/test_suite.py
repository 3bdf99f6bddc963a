"""`jwm suite`: cells resumable one by one, score files identical after a SIGKILL, a
finished cell never re-run, the table and plots from the score files."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from jwm.suites import load_suite, tier_cells

ROOT = pathlib.Path(__file__).resolve().parents[1]
SUITE = ROOT / "experiments" / "suites" / "model_based.toml"
JWM = [sys.executable, "-m", "jwm.cli"]
PETS = "pets-Pendulum-v1-100"


def _suite(out, *extra, wait=True):
    command = JWM + ["suite", str(SUITE), "--tier", "smoke", "--out", str(out),
                     "--checkpoint-every", "1", "--no-progress", *extra]
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    if not wait:
        return subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def _rows(path):
    """The score rows, wall time aside (the one field a second session changes)."""
    rows = [json.loads(line) for line in open(path)]
    for row in rows:
        row.pop("wall_time_s")
    return rows


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("whole")
    log = _suite(out)
    return out, log


def test_every_cell_of_the_smoke_tier_writes_scores_and_the_table(uninterrupted):
    out, log = uninterrupted
    cells = tier_cells(load_suite(SUITE), "smoke")
    for cell in cells:
        record = json.load(open(out / "scores" / f"{cell.id}.json"))
        assert record["status"] == "done" and record["cell"]["id"] == cell.id
        rows = [json.loads(line) for line in open(out / "scores" / f"{cell.id}.jsonl")]
        assert {r["seed"] for r in rows} == set(range(cell.seeds))
        assert all(r["schema"] == "jwm.scores/1" and r["cell"] == cell.id for r in rows)
        assert max(r["env_steps"] for r in rows) >= cell.steps * 0.9
    table = (out / "table.md").read_text()
    assert "| pets | 2 |" in table and "| ppo | 2 |" in table and "random actions" in table
    assert (out / "curves.png").stat().st_size > 10_000


def test_a_suite_killed_mid_cell_resumes_to_the_same_score_file(uninterrupted, tmp_path):
    whole, _ = uninterrupted
    cell = next(c for c in tier_cells(load_suite(SUITE), "smoke") if c.id.startswith(PETS))
    checkpoints = tmp_path / "checkpoints" / cell.id
    process = _suite(tmp_path, "--only", "pets", wait=False)
    deadline = time.time() + 300
    # SIGKILL once two of the cell's five iterations are checkpointed: mid-cell.
    while not (checkpoints / "2").exists():
        assert process.poll() is None, process.stdout.read()
        assert time.time() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (tmp_path / "scores" / f"{cell.id}.json").exists()  # not finished
    partial = _rows(tmp_path / "scores" / f"{cell.id}.jsonl")
    assert 0 < len(partial) < 10
    _suite(tmp_path, "--only", "pets")
    assert _rows(tmp_path / "scores" / f"{cell.id}.jsonl") == \
        _rows(whole / "scores" / f"{cell.id}.jsonl")
    # A finished cell is never run again: the file stays as it is.
    before = (tmp_path / "scores" / f"{cell.id}.jsonl").stat().st_mtime_ns
    log = _suite(tmp_path, "--only", "pets")
    assert "1 cells finished (1 before this run)" in log
    assert (tmp_path / "scores" / f"{cell.id}.jsonl").stat().st_mtime_ns == before


def test_suite_files_are_checked(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[tiers.smoke]\nseeds = 1\n[[tiers.smoke.cells]]\n'
                   'agent = "pets"\nenv = "gymnax:Pendulum-v1"\nsteps = 10\nbudget = 3\n')
    with pytest.raises(ValueError, match=r"tiers.smoke.cells\[0\]: unknown keys \['budget'\]"):
        load_suite(bad)
    bad.write_text('[tiers.smoke]\n[[tiers.smoke.cells]]\nagent = "nope"\nenv = "a:b"\n'
                   'steps = 10\n')
    with pytest.raises(ValueError, match="unknown agent 'nope'"):
        tier_cells(load_suite(bad), "smoke")
    with pytest.raises(ValueError, match="no tier 'cpu'"):
        tier_cells(load_suite(bad), "cpu")


def test_a_cell_of_other_settings_is_refused_not_overwritten(uninterrupted, tmp_path):
    from jwm.suites import run_cell

    whole, _ = uninterrupted
    cell = next(c for c in tier_cells(load_suite(SUITE), "smoke") if c.id.startswith(PETS))
    (tmp_path / "scores").mkdir()
    record = json.load(open(whole / "scores" / f"{cell.id}.json"))
    record["config_hash"] = "0" * 16
    (tmp_path / "scores" / f"{cell.id}.json").write_text(json.dumps(record))
    with pytest.raises(ValueError, match="other settings"):
        run_cell(cell, suite="model_based", scores_dir=str(tmp_path / "scores"),
                 checkpoint_dir=str(tmp_path / "ck"), progress=False)


def test_a_cells_seeds_sharded_over_two_devices_score_as_on_one(uninterrupted, tmp_path):
    whole, _ = uninterrupted
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"),
               # the suite's own flags kept (its optimisation level changes the floats)
               XLA_FLAGS=os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2")
    done = subprocess.run(JWM + ["suite", str(SUITE), "--tier", "smoke", "--out", str(tmp_path),
                                 "--only", "pets", "--devices", "2", "--no-progress"],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    cell = next(c for c in tier_cells(load_suite(SUITE), "smoke") if c.id.startswith(PETS))
    sharded = _rows(tmp_path / "scores" / f"{cell.id}.jsonl")
    assert [(r["seed"], r["env_steps"], r["eval_return"]) for r in sharded] == \
        [(r["seed"], r["env_steps"], r["eval_return"]) for r in _rows(whole / "scores" / f"{cell.id}.jsonl")]


def test_a_resumed_score_log_keeps_every_seed_whatever_its_env_steps(tmp_path):
    import numpy as np

    from jwm.suites.scores_log import ScoreLog

    fields = dict(agent="pets", env="e", device=None, jwm=None, jax=None, config_hash="h",
                  suite="s", cell="c")
    path = str(tmp_path / "c.jsonl")
    # Seeds whose episodes end at different steps count different env steps.
    iterations = [np.array([10, 20]), np.array([15, 45]), np.array([31, 50])]
    log = ScoreLog(path, fields, seeds=2)
    for i, steps in enumerate(iterations, 1):
        log(i, {"env_steps": steps, "eval_return": steps * 1.0})
    whole = _rows(path)
    # A session killed after iteration 3 but checkpointed at iteration 1 resumes at 2.
    resumed = ScoreLog(path, fields, seeds=2)
    for i, steps in enumerate(iterations[1:], 2):
        resumed(i, {"env_steps": steps, "eval_return": steps * 1.0})
    assert _rows(path) == whole
    assert [(r["seed"], r["env_steps"]) for r in whole] == [
        (0, 10), (1, 20), (0, 15), (1, 45), (0, 31), (1, 50)]
    # A file lost (or older than the checkpoint) is rebuilt from the run's history at
    # the end: every row again, a row never logged in this file without a wall time.
    os.remove(path)
    rebuilt = ScoreLog(path, fields, seeds=2)
    rebuilt(3, {"env_steps": iterations[2], "eval_return": iterations[2] * 1.0})
    rebuilt.finish(np.stack(iterations), np.stack(iterations) * 1.0)
    assert _rows(path) == whole
    walls = [json.loads(line)["wall_time_s"] for line in open(path)]
    assert walls[:4] == [None] * 4 and all(w is not None for w in walls[4:])


def test_the_cost_of_another_tier_is_extrapolated_from_a_finished_cell(uninterrupted):
    from jwm.suites.run import estimated_costs

    whole, _ = uninterrupted
    suite = load_suite(SUITE)
    cell = next(c for c in tier_cells(suite, "smoke") if c.id.startswith(PETS))
    record = json.load(open(whole / "scores" / f"{cell.id}.json"))
    costs = {c.agent + c.env: (sec, src) for c, sec, src in
             estimated_costs(suite, "accelerator", str(whole / "scores"))}
    seconds, source = costs["petsgymnax:Pendulum-v1"]
    # 5,000 env steps of 200-step episodes are 25 iterations against the smoke cell's 5;
    # 10 seeds against 2.
    assert source == cell.id
    assert seconds == pytest.approx(record["wall_time_s"] * 25 / 5 * 10 / 2)
    assert costs["dreamergymnax:CartPole-v1"] == (None, None)


def test_imported_scores_in_a_suite_folder_join_its_table(uninterrupted, tmp_path):
    import shutil

    from jwm import scores
    from jwm.suites import write_table

    whole, _ = uninterrupted
    shutil.copytree(whole / "scores", tmp_path / "scores")
    rows = [scores.score_row(agent="dreamerv3", env="gymnax:Pendulum-v1", seed=s,
                             env_steps=x, eval_return=-1000.0 + x / 10, source="dreamerv3")
            for s in range(2) for x in (0, 50, 100)]
    scores.write_scores(tmp_path / "scores" / "dreamerv3.jsonl", rows)
    table = open(write_table(load_suite(SUITE), str(tmp_path / "scores"), str(tmp_path),
                             reps=50)).read()
    assert "| dreamerv3 | 2 |" in table and "| pets | 2 |" in table

"""Model-based vs model-free: steps to a return threshold, the comparison writer, and
a tiny real PPO run through jwm.baselines."""

import importlib.util
import json
import math
import os

import numpy as np
import pytest

from jwm import baselines
from jwm.curves import steps_to_threshold

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _load(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "experiments", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


STEPS = [0, 100, 200, 300]


def test_hand_computed_seeds_that_differ():
    returns = [[0, 5, 10, 10],   # reaches 10 at 200
               [0, 0, 0, 10],    # at 300
               [10, 0, 0, 0]]    # at 0, then falls
    r = steps_to_threshold(STEPS, returns, 10)
    # means: 3.33, 1.67, 3.33, 6.67: never 10
    assert r["mean_steps"] is None and r["mean_sustained_steps"] is None
    assert r["seed_steps"] == [200, 300, 0]
    assert r["seeds_reaching"] == 3 and r["seeds"] == 3
    assert r["median_seed_steps"] == 200
    assert r["best_mean"] == pytest.approx(20 / 3) and r["final_mean"] == pytest.approx(20 / 3)
    r = steps_to_threshold(STEPS, returns, 5)
    assert r["mean_steps"] == 300 and r["mean_sustained_steps"] == 300


def test_reaches_at_the_first_point_and_dips():
    r = steps_to_threshold(STEPS, [[5, 4, 6, 7], [5, 4, 6, 7]], 5)
    assert r["mean_steps"] == 0                 # the very first evaluation
    assert r["mean_sustained_steps"] == 200     # dips at 100, stays from 200
    assert r["seed_steps"] == [0, 0] and r["median_seed_steps"] == 0


def test_never_reaches_and_median_with_non_reaching_seeds():
    r = steps_to_threshold(STEPS, [[1, 2, 3, 4]], 10)
    assert r["mean_steps"] is None and r["seed_steps"] == [None]
    assert r["seeds_reaching"] == 0 and r["median_seed_steps"] is None
    # Two of four seeds reach: the median (of 100, 300, never, never) is never.
    four = [[0, 9, 9, 9], [0, 0, 0, 9], [0] * 4, [0] * 4]
    assert steps_to_threshold(STEPS, four, 9)["median_seed_steps"] is None
    # Three of four: the median of 100, 300, 300, never is 300.
    four[2] = [0, 0, 0, 9]
    assert steps_to_threshold(STEPS, four, 9)["median_seed_steps"] == 300


def test_nan_and_inf_never_reach():
    nan, inf = float("nan"), float("inf")
    r = steps_to_threshold(STEPS, [[nan, inf, 10, 10], [10, 10, 10, 10]], 10)
    assert r["seed_steps"] == [200, 0]
    assert r["mean_steps"] == 200               # NaN and inf means at 0 and 100 do not count
    assert r["best_mean"] == 10 and math.isfinite(r["best_mean"])
    r = steps_to_threshold(STEPS, [[0, 0, 0, nan]], -1)
    assert r["final_mean"] is None and r["mean_sustained_steps"] is None and r["mean_steps"] == 0


@pytest.mark.parametrize("steps, returns, match", [
    ([0, 100], [[1, 2, 3]], "eval_returns"),
    ([100, 0], [[1, 2]], "increasing"),
    ([], [[]], "env_steps"),
    ([0, 1], [1, 2], "eval_returns"),
    ([0, 1], np.zeros((0, 2)), "eval_returns"),
])
def test_bad_input_names_the_parameter(steps, returns, match):
    with pytest.raises(ValueError, match=match):
        steps_to_threshold(steps, returns, 0.0)


def test_ppo_rejects_unknown_env_and_bad_seeds():
    with pytest.raises(ValueError, match="env"):
        baselines.run_ppo("Acrobot-v9", seeds=1)
    for seeds in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="seeds"):
            baselines.run_ppo("CartPole-v1", seeds=seeds)
    with pytest.raises(ValueError, match="total_timesteps"):
        baselines.ppo_config("CartPole-v1", total_timesteps=0)
    with pytest.raises(ValueError, match="overrides"):
        baselines.ppo_config("CartPole-v1", learnin_rate=1.0)


def _record(env, returns, steps, **extra):
    return {"env": env, "algorithm": "X", "config": {}, "seeds": len(returns), "env_steps": steps,
            "eval_returns": returns, "wall_time_s": 1.5, "device": "cpu", **extra}


def test_comparison_files_on_synthetic_results(tmp_path):
    mb = _load("mb_vs_mf")
    d = str(tmp_path)
    (tmp_path / "ppo_CartPole-v1.json").write_text(json.dumps(_record(
        "gymnax:CartPole-v1", [[10, 460, 500], [10, 300, 500]], [0, 1000, 2000],
        eval_returns_sampled=[[10, 100, 450], [10, 100, 400]])))
    (tmp_path / "dreamer_CartPole-v1_long.json").write_text(json.dumps(_record(
        "gymnax:CartPole-v1", [[100, 480], [200, 470]], [[500, 1500], [500, 1500]])))
    (tmp_path / "svg_Pendulum-v1.json").write_text("{not json")
    (tmp_path / "pets_Pendulum-v1.json").write_text(json.dumps(_record(
        "gymnax:Pendulum-v1", [[-1000, -200], [-1000, -300]], [200, 400])))
    comparison = mb.compare(d)
    rows = {(r["env"], r["algorithm"]): r for r in comparison["rows"]}
    ppo = rows["CartPole-v1", "ppo"]
    assert ppo["status"] == "measured" and ppo["mean_steps"] == 2000 and ppo["seed_steps"] == [1000, 2000]
    assert rows["CartPole-v1", "ppo_sampled"]["mean_steps"] is None
    assert rows["CartPole-v1", "ppo_sampled"]["seeds_reaching"] == 1
    assert rows["CartPole-v1", "dreamer"]["mean_steps"] == 1500    # a per-seed steps table is accepted
    assert rows["CartPole-v1", "svg"]["status"] == "not run"
    assert rows["CartPole-v1", "pets"]["status"] == "not run"
    assert rows["Pendulum-v1", "svg"]["status"].startswith("unusable")
    assert rows["Pendulum-v1", "pets"]["mean_steps"] == 400        # mean -250 reaches -250
    assert rows["Pendulum-v1", "ppo"]["status"] == "not run"

    paths = mb.write(comparison, d)
    assert json.loads(open(paths["json"]).read()) == json.loads(json.dumps(comparison))
    md = open(paths["md"]).read()
    assert "| PPO | model-free | 2 | 2k | 2k | 2k | 2/2 | 1.5k |" in md
    assert "| SVG | model-based | not run |" in md and "never" in md
    _rows_match_their_header(md)
    assert os.path.getsize(paths["png"]) > 1000


def test_curves_compared_at_equal_env_steps(tmp_path):
    mb = _load("mb_vs_mf")
    (tmp_path / "ppo_Breakout-MinAtar.json").write_text(json.dumps(_record(
        "gymnax:Breakout-MinAtar", [[0, 1, 2, 3, 4], [0, 1, 2, 5, 6]], [0, 40, 90, 130, 200])))
    (tmp_path / "muzero_Breakout-MinAtar.json").write_text(json.dumps(_record(
        "gymnax:Breakout-MinAtar", [[0, 4, 8]], [0, 50, 100])))
    (tmp_path / "dreamer_Breakout-MinAtar.json").write_text(json.dumps(_record(
        "gymnax:Breakout-MinAtar", [[0, 4]], [0, 50])))      # stops short of the budget
    envs = {"Breakout-MinAtar": {"threshold": 8.0, "equal_steps": 100}}
    comparison = mb.compare(str(tmp_path), envs)
    rows = {r["algorithm"]: r for r in comparison["rows"]}
    assert rows["ppo"]["mean_at_equal_steps"] == 2.0      # the point at 90, not the one at 130
    assert rows["muzero"]["mean_at_equal_steps"] == 8.0 and rows["muzero"]["mean_steps"] == 100
    assert rows["dreamer"]["mean_at_equal_steps"] is None
    md = mb.markdown(comparison)
    assert "seed-mean at 100 |" in md and "| MuZero | model-based | 1 | 100 |" in md
    _rows_match_their_header(md)


def _rows_match_their_header(md):
    """Every table row has as many cells as its table's header (tables differ: one with
    an equal-steps budget has a column more)."""
    header = None
    for line in md.splitlines():
        if line.startswith("| algorithm"):
            header = line
        elif line.startswith("| ") and not line.startswith("|---"):
            assert line.count("|") == header.count("|"), line


def test_tiny_real_ppo_run_gives_a_record_in_the_schema():
    record = baselines.run_ppo("CartPole-v1", seeds=2, total_timesteps=2000, eval_freq=1000)
    for key in ("env", "algorithm", "config", "seeds", "env_steps", "eval_returns",
                "wall_time_s", "device"):
        assert key in record
    assert record["env"] == "gymnax:CartPole-v1" and record["seeds"] == 2
    assert record["env_steps"] == [0, 1000, 2000]     # evaluation before training, then every 1000
    returns = np.asarray(record["eval_returns"])
    assert returns.shape == (2, 3) and np.all(np.isfinite(returns)) and np.all(returns >= 1)
    assert np.asarray(record["eval_returns_sampled"]).shape == (2, 3)


def test_fewer_steps_than_ppo_reads_the_comparison():
    mb = _load("mb_vs_mf")
    rows = [{"env": "E", "name": "PPO", "kind": "model-free", "mean_steps": 1000},
            {"env": "E", "name": "PETS", "kind": "model-based", "mean_steps": 10},
            {"env": "E", "name": "SVG", "kind": "model-based", "mean_steps": None},
            {"env": "F", "name": "Dreamer", "kind": "model-based", "mean_steps": 5}]
    ppo, fewer = mb.fewer_steps_than_ppo({"rows": rows}, "E")
    assert ppo["name"] == "PPO" and fewer == [("PETS", 100.0)]
    assert mb.fewer_steps_than_ppo({"rows": rows}, "F") == (None, [])

"""Score files: the format round-trips and is checked, other projects' scores import,
and the table's numbers are rliable's."""

import gzip
import json

import numpy as np
import pytest

from jwm import scores


def _rows(agent, env, means, seeds=3, steps=(1000, 2000, 3000), **fields):
    return [scores.score_row(agent=agent, env=env, seed=s, env_steps=x,
                             eval_return=m * x / steps[-1] + s, **fields)
            for s in range(seeds) for x in steps for m in [means]]


def test_rows_round_trip_and_non_finite_returns_are_null(tmp_path):
    rows = _rows("pets", "gymnax:Pendulum-v1", -200.0)
    rows.append(scores.score_row(agent="pets", env="gymnax:Pendulum-v1", seed=0,
                                 env_steps=4000, eval_return=float("nan")))
    path = tmp_path / "a.jsonl"
    scores.write_scores(path, rows)
    back = scores.read_scores(path)
    assert back == rows and back[-1]["eval_return"] is None
    assert list(back[0]) == list(scores.FIELDS)
    # readable without jwm: plain JSON lines
    assert json.loads(path.read_text().splitlines()[0])["schema"] == "jwm.scores/1"
    assert scores.read_scores(tmp_path) == rows  # a folder reads its *.jsonl


def test_bad_rows_and_lines_are_named(tmp_path):
    with pytest.raises(ValueError, match="row 0 is not a jwm.scores/1 row"):
        scores.write_scores(tmp_path / "x.jsonl", [{"agent": "a"}])
    (tmp_path / "y.jsonl").write_text('{"schema": "jwm.scores/1"}\nnot json\n')
    with pytest.raises(ValueError, match=r"y.jsonl:2 is not JSON"):
        scores.read_scores(tmp_path / "y.jsonl")
    with pytest.raises(ValueError, match="neither a score file nor a folder"):
        scores.read_scores(tmp_path / "missing.jsonl")


def test_config_hash_is_canonical():
    assert scores.config_hash({"a": 1, "b": [1, 2]}) == scores.config_hash({"b": [1, 2], "a": 1})
    assert scores.config_hash({"a": 1}) != scores.config_hash({"a": 2})


def _dreamerv3_file(path):
    runs = [{"task": "dmc_pendulum_swingup", "method": "dreamerv3", "seed": str(s),
             "xs": [0, 5000, 10000], "ys": [0.0, 100.0 + s, 700.0 + s]} for s in range(2)]
    with gzip.open(path, "wt") as f:
        json.dump(runs, f)


def test_dreamerv3_and_tdmpc2_scores_import_and_plot_beside_jwm(tmp_path):
    _dreamerv3_file(tmp_path / "dmc-dreamerv3.json.gz")
    folder = tmp_path / "results" / "tdmpc2"
    folder.mkdir(parents=True)
    (folder / "pendulum-swingup.csv").write_text(
        "step,reward,seed\n0,0.0,1\n5000,300.5,1\n10000,800.0,1\n0,0.0,2\n10000,790.0,2\n")
    env = "gymnax:Pendulum-v1"
    dreamer = scores.import_dreamerv3(tmp_path / "dmc-dreamerv3.json.gz",
                                      env_names={"dmc_pendulum_swingup": env})
    tdmpc2 = scores.import_tdmpc2(folder / "pendulum-swingup.csv",
                                  env_names={"pendulum-swingup": env})
    assert {r["agent"] for r in dreamer} == {"dreamerv3"} and len(dreamer) == 6
    assert {r["agent"] for r in tdmpc2} == {"tdmpc2"} and {r["seed"] for r in tdmpc2} == {1, 2}
    assert all(r["env"] == env and r["source"] in ("dreamerv3", "tdmpc2") for r in dreamer + tdmpc2)
    ours = _rows("svg", env, 600.0, steps=(5000, 10000))
    task = scores.Task(env, [5000, 10000], threshold=500)
    table = scores.markdown(ours + dreamer + tdmpc2, [task], reps=100)
    for agent in ("svg", "dreamerv3", "tdmpc2"):
        assert f"| {agent} |" in table
    # seed 2 of TD-MPC2 has no point at 5k: its 5k return is its held 0 from step 0
    curve = scores.curves(tdmpc2)[("tdmpc2", env)]
    assert curve.returns.tolist() == [[0.0, 300.5, 800.0], [0.0, 0.0, 790.0]]
    scores.plot_curves(ours + dreamer + tdmpc2, [task], str(tmp_path / "c.png"), reps=50)
    assert (tmp_path / "c.png").stat().st_size > 10_000


def test_importers_name_what_is_wrong(tmp_path):
    (tmp_path / "bad.json").write_text(json.dumps([{"task": "t"}]))
    with pytest.raises(ValueError, match="lacks"):
        scores.import_dreamerv3(tmp_path / "bad.json")
    (tmp_path / "bad.csv").write_text("x,y\n1,2\n")
    with pytest.raises(ValueError, match="needs the columns step, reward and seed"):
        scores.import_tdmpc2(tmp_path / "bad.csv")


def test_intervals_and_the_aggregate_are_rliable_bootstrap_over_seeds():
    mean, low, high = scores.interval([1.0, 2.0, 3.0, 4.0], reps=500)
    assert mean == 2.5 and 1.0 <= low < mean < high <= 4.0
    assert scores.interval([5.0, 5.0]) == (5.0, 5.0, 5.0)
    env = "gymnax:CartPole-v1"
    rows = _rows("a", env, 400.0, seeds=4) + [
        scores.score_row(agent="random", env=env, seed=s, env_steps=0, eval_return=20.0)
        for s in range(4)]
    task = scores.Task(env, [3000], reference=500.0)
    normalised = scores.normalised_scores(rows, [task])["a"]["scores"]
    expected = (400.0 + np.arange(4) - 20.0) / 480.0
    np.testing.assert_allclose(normalised[:, 0], expected)
    summary = scores.aggregate(scores.normalised_scores(rows, [task]), reps=200)["a"]
    from scipy.stats import trim_mean

    assert summary["iqm"][0] == pytest.approx(trim_mean(expected, 0.25))
    assert summary["iqm"][1] <= summary["iqm"][0] <= summary["iqm"][2]


def test_the_return_at_a_budget_the_run_did_not_reach_is_missing():
    curve = scores.curves(_rows("a", "e", 10.0))[("a", "e")]
    assert np.isnan(scores.return_at(curve, 5000)).all()
    assert np.isnan(scores.return_at(curve, 500)).all()  # before the first evaluation
    np.testing.assert_allclose(scores.return_at(curve, 2500), 10.0 * 2000 / 3000 + np.arange(3))
    with pytest.raises(ValueError, match="budgets must be increasing"):
        scores.Task("e", [3000, 1000])

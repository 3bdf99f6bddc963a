import json

import pytest

from jwm.cli import main


def test_plan_command_prints_a_summary_and_writes_json(tmp_path, capsys):
    out = tmp_path / "r.json"
    code = main(["plan", "--env", "gymnax:Pendulum-v1", "--planner", "cem", "--seeds", "2",
                 "--steps", "5", "--horizon", "4", "--population", "16", "--iterations", "2",
                 "--json", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "mean return" in text and "seed" in text
    result = json.loads(out.read_text())
    assert result["seeds"] == 2 and len(result["returns"]) == 2
    assert result["lengths"] == [5, 5]


@pytest.mark.parametrize("planner", ["mppi", "random"])
def test_other_planners_run(planner, capsys):
    assert main(["plan", "--planner", planner, "--seeds", "1", "--steps", "3", "--horizon", "3",
                 "--population", "8", "--iterations", "1", "--no-progress"]) == 0


def test_bad_input_is_a_clear_error(capsys):
    assert main(["plan", "--population", "0", "--steps", "2", "--no-progress"]) == 2
    assert "population" in capsys.readouterr().err
    assert main(["plan", "--env", "gymnax:Nope-v0", "--no-progress"]) == 2


def test_pets_command_prints_a_table_and_writes_results(tmp_path, capsys):
    code = main(["pets", "--env", "gymnax:Pendulum-v1", "--seeds", "2", "--episodes", "2",
                 "--steps", "10", "--horizon", "3", "--population", "8", "--epochs", "2",
                 "--out", str(tmp_path), "--no-progress"])
    assert code == 0
    text = capsys.readouterr().out
    assert "episode" in text and "(random)" in text and "final mean return" in text
    record = json.loads((tmp_path / "pets_Pendulum-v1.json").read_text())
    for field in ("env", "algorithm", "config", "seeds", "env_steps", "eval_returns",
                  "wall_time_s", "device"):
        assert field in record
    assert record["env_steps"] == [10, 20] and len(record["eval_returns"]) == 2
    assert (tmp_path / "pets_Pendulum-v1.png").stat().st_size > 1000
    assert main(["pets", "--seeds", "0", "--no-progress"]) == 2
    assert "seeds" in capsys.readouterr().err

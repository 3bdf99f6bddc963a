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

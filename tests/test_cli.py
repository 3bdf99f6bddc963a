"""The ``jwm`` command: planning, training each agent through the driver, resuming
after ``kill -9``, and clear errors."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from jwm.cli import main

TINY_PETS = ["pets", "--seeds", "2", "--steps", "60", "--set", "loop.steps_per_episode=10",
             "--horizon", "3", "--population", "8", "--epochs", "2",
             "--set", "loop.fit_batch_size=8", "--set", "model.hidden_sizes=[8]", "--no-progress"]

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
    assert result["lengths"] == [5, 5] and result["num_nonfinite"] == [0, 0]


@pytest.mark.parametrize("planner", ["mppi", "random"])
def test_other_planners_run(planner, capsys):
    assert main(["plan", "--planner", planner, "--seeds", "1", "--steps", "3", "--horizon", "3",
                 "--population", "8", "--iterations", "1", "--no-progress"]) == 0


def test_plan_with_mcts(capsys):
    assert main(["plan", "--env", "gymnax:CartPole-v1", "--planner", "mcts", "--seeds", "1",
                 "--steps", "5", "--horizon", "5", "--simulations", "4", "--rollouts", "2",
                 "--no-progress"]) == 0
    assert "mean return 5.00" in capsys.readouterr().out


def test_bad_input_is_a_clear_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["plan", "--population", "0", "--steps", "2", "--no-progress"])
    assert exit_info.value.code == 2
    assert "argument --population: must be an int >= 1, got 0" in capsys.readouterr().err
    assert main(["plan", "--env", "gymnax:Nope-v0", "--no-progress"]) == 2
    assert main(["pets", "--set", "loop.fit_epoch=3", "--no-progress"]) == 2
    assert "unknown config key 'loop.fit_epoch'" in capsys.readouterr().err
    assert main(["pets", "--set", "fit.epochs=3", "--no-progress"]) == 2
    assert "now optimizer.learning_rate" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["pets", "--seeds", "0", "--no-progress"])
    assert exit_info.value.code == 2
    assert "argument --seeds: must be an int >= 1, got 0" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["pets", "--no-such-flag", "1"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments: --no-such-flag" in capsys.readouterr().err


def test_the_command_describes_itself_and_tells_its_version(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert "The ``jwm`` command" not in text and "plan with world models" in text
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    import jwm
    assert capsys.readouterr().out.strip() == f"jwm {jwm.__version__}"


@pytest.mark.parametrize("command, names", [
    ("alphazero", ["pgx:<game>"]), ("muzero", ["gymnax:<id>", "discrete"]),
    ("pets", ["gymnax:<id>", "brax:<name>"]), ("dreamer", ["gymnax:<id>", "brax:<name>"]),
    ("plan", ["gymnax:<id>", "brax:<name>", "pgx:<game>"])])
def test_every_command_says_which_environments_it_takes(capsys, command, names):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    env_help = text[text.index("--env ENV"):text.index("(default:", text.index("--env ENV"))]
    for name in names:
        assert name in env_help, (command, env_help)


def test_every_flag_has_help_and_counts_share_one_metavar(capsys):
    from jwm.cli import _parser

    parser = _parser()
    commands = parser._subparsers._group_actions[0].choices
    for name, sub in commands.items():
        assert sub.description, name
        for action in sub._actions:
            if action.option_strings and action.dest != "help":
                assert action.help, (name, action.option_strings)
                assert action.metavar not in ("INT", "KEEP", "ITERATIONS"), (name, action.dest)


def test_the_plan_command_offers_every_planner_by_name():
    from jwm import cli
    from jwm.planners import by_name

    assert cli.PLANNERS == by_name.PLANNERS
    with pytest.raises(ValueError, match="planner must be one of"):
        by_name.build_planner("nope", None, None, horizon=1, population=1, iterations=1,
                              elite_frac=0.1, temperature=1.0)


def test_plain_argument_errors_name_the_flag_before_jax_is_imported():
    code = ("import sys\nfrom jwm.cli import main\n"
            "try:\n    main(['pets', '--steps', '-5'])\nexcept SystemExit as e:\n"
            "    assert e.code == 2\nassert 'jax' not in sys.modules, 'jax was imported'\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "argument --steps: must be an int >= 1, got -5" in done.stderr


@pytest.mark.parametrize("argv, says", [
    (["alphazero", "--steps", "100"], ["e.g. 2160", "total_steps is --steps"]),
    (["dreamer", "--steps", "1024", "--eval-every", "512"],
     ["prefill (1000 env steps)", "e.g. 1512", "eval_every is --eval-every"]),
    (["pets", "--steps", "500"], ["e.g. 400 or 600", "total_steps is --steps"]),
])
def test_a_schedule_that_does_not_fit_names_the_flag_and_a_value_that_fits(capsys, argv, says):
    assert main(argv + ["--no-progress"]) == 2
    err = capsys.readouterr().err
    for text in says:
        assert text in err, err


def test_help_shows_defaults_and_show_config_resolves_env_settings(capsys):
    with pytest.raises(SystemExit):
        main(["dreamer", "--help"])
    text = capsys.readouterr().out
    assert "(default: gymnax:CartPole-v1)" in text and "--checkpoint-dir" in text
    assert main(["dreamer", "--show-config", "--set", "loop.num_envs=2"]) == 0
    config = json.loads(capsys.readouterr().out)
    assert config["learner"]["discount"] == 0.997 and config["loop"]["num_envs"] == 2


def test_pets_on_five_transitions_clamps_the_fit_batch(tmp_path, capsys):
    # The default fit batch (32) is larger than the 5 transitions of one episode.
    out = tmp_path / "p.json"
    assert main(["pets", "--steps", "10", "--set", "loop.steps_per_episode=5", "--horizon", "3",
                 "--population", "8", "--epochs", "2", "--seeds", "1", "--out", str(out),
                 "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "(random)" in text and "final mean return" in text
    record = json.loads(out.read_text())
    for field in ("env", "algorithm", "config", "seeds", "env_steps", "eval_returns",
                  "wall_time_s", "device", "metrics", "agent_config"):
        assert field in record
    assert record["env_steps"] == [5, 10] and record["num_nonfinite"] == 0
    assert (tmp_path / "p.png").stat().st_size > 1000


def test_svg_command_trains_through_the_driver(tmp_path, capsys):
    out = tmp_path / "s.json"
    assert main(["svg", "--steps", "10", "--set", "loop.steps_per_episode=5", "--updates", "1",
                 "--horizon", "2", "--seeds", "1", "--set", "loop.batch_size=4",
                 "--set", "loop.eval_episodes=1",
                 "--set", "model.hidden_sizes=[8]", "--set", "model.ensemble_size=2",
                 "--set", "learner.actor_hidden_sizes=[8]",
                 "--set", "learner.critic_hidden_sizes=[8]", "--set", "loop.fit_epochs=1",
                 "--out", str(out), "--no-progress"]) == 0
    record = json.loads(out.read_text())
    assert record["agent"] == "svg" and record["env_steps"] == [5, 10]
    assert record["config"]["learner"]["horizon"] == 2
    assert "learner/actor_loss" in record["metrics"] and len(record["eval_returns"][0]) == 2


@pytest.fixture(scope="module")
def subprocess_env(tmp_path_factory):
    # The three runs of each command share compiled programs through JAX's disk cache,
    # compiled at a low optimisation level (the same for all three: the results agree).
    cache = tmp_path_factory.mktemp("jax_cache")
    flags = (os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0").strip()
    return {**os.environ, "JAX_COMPILATION_CACHE_DIR": str(cache),
            "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
            "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0", "XLA_FLAGS": flags}


def _jwm(args, env, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "jwm.cli", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)


def _finish(process, timeout=600):
    out, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, out
    return out


def _results(path):
    record = json.loads(path.read_text())
    record.pop("wall_time_s")
    return record


def test_a_finished_run_continues_then_a_kill_9_resumes_with_the_same_results(
        tmp_path, subprocess_env):
    """A run stopped at 2 iterations continues with the same command and more
    iterations; killed (SIGKILL) after its third checkpoint, the same command resumes and
    ends with the results of one uninterrupted run. The driver is the same for every
    agent; tests/test_agents.py checks that each agent's state (MuZero's sum tree and
    target network included) survives a checkpoint bit for bit."""
    command = TINY_PETS
    reference = tmp_path / "reference.json"
    _finish(_jwm(command + ["--out", str(reference)], subprocess_env))
    iterations = _results(reference)["iterations"]

    checkpoints, out = tmp_path / "checkpoints", tmp_path / "out.json"
    resumable = command + ["--checkpoint-dir", str(checkpoints), "--checkpoint-every", "1",
                           "--out", str(out)]
    _finish(_jwm(resumable + ["--iterations", "2"], subprocess_env))
    assert len(json.loads(out.read_text())["env_steps"]) == 2
    out.unlink()

    process = _jwm(resumable, subprocess_env)
    deadline = time.monotonic() + 600
    # orbax renames a step's folder to its number once the step is written whole.
    while not (checkpoints / "3").is_dir():
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert not out.exists(), "the run finished before it was killed"

    text = _finish(_jwm(resumable, subprocess_env))
    assert "resumed from the checkpoint of iteration" in text
    assert _results(out) == _results(reference)
    lines = (checkpoints / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["iteration"] for line in lines] == list(range(1, iterations + 1))


def test_muzero_and_alphazero_shortcuts_reach_the_recipe(capsys):
    assert main(["muzero", "--show-config", "--simulations", "4", "--reanalyse", "0.5",
                 "--eval-every", "16", "--search", "puct", "--set", "model.latent_size=8"]) == 0
    config = json.loads(capsys.readouterr().out)
    assert config["search"]["num_simulations"] == 4 and config["search"]["rule"] == "puct"
    assert config["loop"]["reanalyse_fraction"] == 0.5
    assert config["loop"]["eval_every"] == 16 and config["model"]["latent_size"] == 8
    assert main(["alphazero", "--show-config", "--simulations", "8"]) == 0
    assert json.loads(capsys.readouterr().out)["search"]["num_simulations"] == 8

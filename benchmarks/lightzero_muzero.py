"""The LightZero side of `benchmarks/muzero.py`: LightZero's MuZero trained on CartPole
for a fixed env-step budget, timed from inside its own training loop.

Runs in LightZero's virtual environment (lightzero 0.2.0, PyTorch), never in jwm's:
`benchmarks/muzero.py` starts it as a subprocess with that venv's python. It imports
nothing from jwm.

The run is LightZero's shipped CartPole config (`zoo.classic_control.cartpole.config.
cartpole_muzero_config`, plain MuZero with PUCT search and the C++ tree) with only
these changes, each given on the command line as JSON (``--settings``):

* ``env_id``: gymnasium's id (``CartPole-v1`` for the 500-step task);
* ``num_simulations``, ``batch_size``, ``num_unroll_steps``, ``td_steps``,
  ``collector_env_num`` (and ``n_episode``, which must equal it at least);
* ``replay_ratio``, with ``update_per_collect`` set to None so that LightZero runs
  ``int(replay_ratio * transitions collected)`` updates after each collect;
* ``reanalyze_ratio``;
* the MLP model's ``latent_state_dim``, its reward / value / policy head hidden
  widths, and the categorical support (``support_scale``; the reward and value
  heads get ``2 * support_scale + 1`` outputs);
* ``self_supervised_learning_loss`` / ``ssl_loss_weight`` (on in the shipped config);
* CPU only (``cuda=False``), in-process envs (``env_manager.type='base'``), one
  evaluation episode and no evaluation inside the timed loop (``eval_freq`` huge:
  only LightZero's untimed evaluation before training runs), ``stop_value`` huge.

Timing: collector.collect and learner.train are wrapped to record when each starts and
ends, the env steps and the updates. LightZero runs no update until its buffer holds
more than one batch of transitions, so the collects before the first one followed by
updates are its warm-up (as jwm's prefill is); the timed window runs from the start
of the first collect followed by updates to the end of the last update, and
``env_steps_per_s`` is the env steps collected in that window over its length. The
same numbers for the whole loop (warm-up included, start-up excluded) are reported
too. Torch threads are ``--threads`` (OMP_NUM_THREADS should be set to the same by
the caller).

    .venv-lightzero/bin/python benchmarks/lightzero_muzero.py \\
        --settings '{"env_id": "CartPole-v1", "num_simulations": 25}' \\
        --max-env-steps 1000 --threads 2 --out /tmp/lz.json
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import sys
import tempfile
import time

DEFAULTS = {
    "env_id": "CartPole-v1",
    "num_simulations": 25,
    "batch_size": 256,
    "num_unroll_steps": 5,
    "td_steps": 5,
    "collector_env_num": 8,
    "replay_ratio": 0.25,
    "reanalyze_ratio": 0.0,
    "latent_state_dim": 64,
    "head_hidden": [128],
    "support_scale": 20,
    "self_supervised_learning_loss": True,
    "ssl_loss_weight": 2.0,
}


def _configs(settings: dict, exp_name: str):
    from zoo.classic_control.cartpole.config.cartpole_muzero_config import (create_config,
                                                                           main_config)

    cfg, ccfg = copy.deepcopy(main_config), copy.deepcopy(create_config)
    cfg.exp_name = exp_name
    env, policy, model = cfg.env, cfg.policy, cfg.policy.model
    env.env_id = settings["env_id"]
    env.stop_value = 1e9
    env.collector_env_num = policy.collector_env_num = settings["collector_env_num"]
    policy.n_episode = settings["collector_env_num"]
    env.evaluator_env_num = env.n_evaluator_episode = policy.evaluator_env_num = 1
    policy.cuda = False
    policy.eval_freq = int(1e12)
    policy.num_simulations = settings["num_simulations"]
    policy.batch_size = settings["batch_size"]
    policy.num_unroll_steps = settings["num_unroll_steps"]
    policy.td_steps = settings["td_steps"]
    policy.update_per_collect = None
    policy.replay_ratio = settings["replay_ratio"]
    policy.reanalyze_ratio = settings["reanalyze_ratio"]
    policy.ssl_loss_weight = settings["ssl_loss_weight"]
    model.self_supervised_learning_loss = settings["self_supervised_learning_loss"]
    model.latent_state_dim = settings["latent_state_dim"]
    for head in ("reward", "value", "policy"):
        model[f"{head}_head_hidden_channels"] = list(settings["head_hidden"])
    model.support_scale = settings["support_scale"]
    model.reward_support_size = model.value_support_size = 2 * settings["support_scale"] + 1
    ccfg.env_manager.type = "base"
    return cfg, ccfg


def _parameter_counts(policy) -> dict:
    model = policy._learn_model if hasattr(policy, "_learn_model") else policy._model
    model = getattr(model, "_model", model)
    counts = {"total": 0, "self_supervised": 0}
    for name, p in model.named_parameters():
        counts["total"] += p.numel()
        if name.startswith(("projection", "prediction_head")):
            counts["self_supervised"] += p.numel()
    counts["without_self_supervised"] = counts["total"] - counts["self_supervised"]
    return counts


def run(settings: dict, max_env_steps: int, seed: int, threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    import importlib

    # ``lzero.entry.train_muzero`` is also the name of the function the package exports.
    entry = importlib.import_module("lzero.entry.train_muzero")

    events = []  # (kind, start, end, env steps so far, updates so far)

    class TimedCollector(entry.Collector):
        def collect(self, *args, **kwargs):
            start = time.perf_counter()
            data = super().collect(*args, **kwargs)
            events.append(("collect", start, time.perf_counter(), self.envstep))
            return data

    class TimedLearner(entry.BaseLearner):
        def train(self, *args, **kwargs):
            start = time.perf_counter()
            out = super().train(*args, **kwargs)
            events.append(("train", start, time.perf_counter(), None))
            return out

    entry.Collector, entry.BaseLearner = TimedCollector, TimedLearner
    workdir = tempfile.mkdtemp(prefix="lz-muzero-bench-")
    cwd = os.getcwd()
    os.chdir(workdir)
    try:
        cfg, ccfg = _configs(settings, "lz_muzero")
        start = time.perf_counter()
        policy = entry.train_muzero([cfg, ccfg], seed=seed, max_env_step=max_env_steps)
        total = time.perf_counter() - start
        counts = _parameter_counts(policy)
        effective = _effective_config(policy, settings["env_id"])
    finally:
        os.chdir(cwd)
        shutil.rmtree(workdir, ignore_errors=True)
    result = _summary(events, total, counts, settings, max_env_steps, seed, threads)
    result["effective_config"] = effective
    return result


def _effective_config(policy, env_id: str) -> dict:
    """The merged config values the run used (read back from the policy)."""
    import gymnasium

    cfg = policy._cfg
    keys = ("num_simulations", "batch_size", "num_unroll_steps", "td_steps",
            "update_per_collect", "replay_ratio", "reanalyze_ratio", "discount_factor",
            "use_priority", "optim_type", "learning_rate", "weight_decay", "grad_clip_value",
            "target_update_freq", "game_segment_length", "n_episode", "collector_env_num",
            "ssl_loss_weight", "value_loss_weight", "root_dirichlet_alpha",
            "root_noise_weight", "fixed_temperature_value", "mcts_ctree", "device")
    model_keys = ("model_type", "latent_state_dim", "reward_head_hidden_channels",
                  "value_head_hidden_channels", "policy_head_hidden_channels",
                  "support_scale", "reward_support_size", "value_support_size",
                  "self_supervised_learning_loss", "norm_type", "res_connection_in_dynamics")
    out = {k: cfg.get(k) for k in keys}
    out["model"] = {k: cfg.model.get(k) for k in model_keys}
    out["env_id"] = env_id
    out["gymnasium_max_episode_steps"] = gymnasium.spec(env_id).max_episode_steps
    return json.loads(json.dumps(out, default=str))


def _summary(events, total, counts, settings, max_env_steps, seed, threads) -> dict:
    collects = [i for i, e in enumerate(events) if e[0] == "collect"]
    if not collects:
        raise RuntimeError("LightZero collected nothing")
    # The first collect followed by an update starts the timed window.
    first = next((i for i in collects if i + 1 < len(events) and events[i + 1][0] == "train"),
                 None)
    if first is None:
        raise RuntimeError("LightZero ran no update: raise --max-env-steps")
    before = max((events[i][3] for i in collects if i < first), default=0)
    end = events[-1][2]
    steps = events[collects[-1]][3]
    updates = sum(e[0] == "train" for e in events)
    window_steps = steps - before
    window_s = end - events[first][1]
    loop_s = end - events[collects[0]][1]
    collect_s = sum(e[2] - e[1] for e in events[first:] if e[0] == "collect")
    train_s = sum(e[2] - e[1] for e in events[first:] if e[0] == "train")
    return {
        "settings": settings, "max_env_steps": max_env_steps, "seed": seed,
        "torch_threads": threads,
        "env_steps": steps, "updates": updates, "collects": len(collects),
        "warmup_env_steps": before,
        "window_env_steps": window_steps, "window_s": window_s,
        "window_updates": updates,
        "env_steps_per_s": window_steps / window_s,
        "updates_per_env_step": updates / window_steps,
        "window_collect_s": collect_s, "window_train_s": train_s,
        "window_other_s": window_s - collect_s - train_s,
        "loop_env_steps_per_s": steps / loop_s, "loop_s": loop_s,
        "train_muzero_s": total, "startup_and_eval_s": total - loop_s,
        "parameters": counts,
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--settings", default="{}", help="JSON overrides of DEFAULTS")
    parser.add_argument("--max-env-steps", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=None, help="write the summary JSON here")
    args = parser.parse_args(argv)
    settings = dict(DEFAULTS, **json.loads(args.settings))
    unknown = set(settings) - set(DEFAULTS)
    if unknown:
        raise SystemExit(f"unknown settings: {sorted(unknown)}")
    import torch
    import lzero

    result = run(settings, args.max_env_steps, args.seed, args.threads)
    result["versions"] = {"torch": torch.__version__,
                          "lightzero": getattr(lzero, "__version__", None),
                          "python": sys.version.split()[0]}
    try:
        from importlib.metadata import version

        result["versions"]["lightzero"] = version("LightZero")
    except Exception:
        pass
    text = json.dumps(result, indent=2)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    print("LIGHTZERO_RESULT " + json.dumps(result), flush=True)
    return result


if __name__ == "__main__":
    main()

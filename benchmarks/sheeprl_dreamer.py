"""sheeprl's DreamerV3 (PyTorch) on CartPole, timed at sizes matched to jwm's Dreamer.

A benchmark peer for jwm's Dreamer: it runs in sheeprl's own virtual environment
(``.venv-sheeprl``, sheeprl 0.8.4, torch 2.13.0 CPU), never in jwm's, and imports
nothing from jwm. Another script starts it as a subprocess and compares its numbers
with jwm's in the same run:

    .venv-sheeprl/bin/python benchmarks/sheeprl_dreamer.py \\
        --threads 2 --updates 20 --env-steps 400 --out /tmp/sheeprl.json

What runs
---------
Everything is sheeprl's own code, called through its API, not a reimplementation:
the configuration is composed by Hydra from sheeprl's shipped configs
(``exp=dreamer_v3 env=gym env.id=CartPole-v1``, vector observations under the key
``state``, MLP encoder/decoder only) with the overrides listed below, and the run is
``sheeprl.cli.run_algorithm(cfg)``, i.e. sheeprl's real DreamerV3 ``main``: its
``build_agent`` (world model, actor, critic, target critic, player), its Adam
optimizers (``fused``, as configured), its ``EnvIndependentReplayBuffer`` of
sequences, its ``sample_batches`` and its ``train`` (world-model step, imagination,
actor step, critic step) and its env loop (``PlayerDV3.get_actions`` in a gymnasium
vector env of ``--num-envs`` CartPole-v1 envs, ``Ratio`` for the replay ratio, the
EMA target critic before every update). Nothing in sheeprl is modified; three
names of the module ``sheeprl.algos.dreamer_v3.dreamer_v3`` are wrapped only to take
timestamps: ``train`` (start and end of every gradient step), ``build_agent`` (to
count parameters and to stamp every call of the player) and ``get_vector_env_cls``
(to stamp the end of the loop, when ``main`` closes its envs).

The run is: ``--prefill`` random env steps (``algo.learning_starts``, filling the
buffer with random CartPole data), then at the first training iteration
``--warmup + --updates`` consecutive gradient steps on batches from that buffer
(``algo.per_rank_pretrain_steps``, sheeprl's pretraining burst), then the
interleaved loop at replay ratio 64 (``algo.replay_ratio=0.125``: one update of a
16 x 32 batch, 512 replayed steps, every 8 env steps) for ``--loop-warmup`` +
``--env-steps`` env steps.

Measured (start-up, config composition, model building, the random prefill and the
warm-ups excluded; eager PyTorch, so there is no compile time):

* ``updates_per_s`` / ``seconds_per_update``: from the end of the ``--warmup``-th
  gradient step of the pretraining burst to the end of the last one, over
  ``--updates`` updates. Each update is one call of sheeprl's ``train`` on one
  16 x 32 batch plus what sheeprl's loop does around it (its target-critic EMA and
  its batch sampling, 16 batches at a time). ``train_call_s_mean`` is the mean
  duration of the ``train`` calls alone.
* ``env_steps_per_s``: the interleaved loop, from the first player call after
  ``--loop-warmup`` env steps to the end of the loop, env steps over wall time: the
  player's forward, the env steps, the buffer writes and the updates at ratio 64.
  ``loop_updates`` says how many updates fell in that window (``env_steps / 8``).

Sizes (jwm's Dreamer defaults, ``jwm.recipes.dreamer``) and the sheeprl keys set
---------------------------------------------------------------------------------
* GRU state (deter) 128: ``algo.world_model.recurrent_model.recurrent_state_size``;
* stochastic latent 16 x 4 classes: ``algo.world_model.stochastic_size=16``,
  ``algo.world_model.discrete_size=4``;
* units 64, 2 layers for encoder / decoder / reward / continue / actor / critic:
  ``algo.dense_units=64``, ``algo.mlp_layers=2`` (every head interpolates them);
* hidden 64: ``algo.world_model.recurrent_model.dense_units`` (the GRU's input
  layer), ``transition_model.hidden_size`` and ``representation_model.hidden_size``
  (prior and posterior nets, one hidden layer each);
* batch 16 x 32: ``algo.per_rank_batch_size=16``, ``algo.per_rank_sequence_length=32``;
* horizon 15, gamma 0.997, lambda 0.95: ``algo.horizon``, ``algo.gamma``, ``algo.lmbda``;
* 255-bin symlog two-hot reward and critic: ``reward_model.bins``, ``critic.bins``
  (sheeprl's default);
* learning rates as jwm's CartPole recipe: world model 3e-4, actor 1e-4, critic 3e-4;
* 4 envs (jwm's ``num_envs``), replay ratio 64 (``train_every=8``, one update).

What differs (also written to the JSON as ``differences``)
----------------------------------------------------------
* The GRU is not block-diagonal: sheeprl's ``LayerNormGRUCell`` is one dense GRU
  (a single block); jwm splits the 128 units into 4 blocks. sheeprl has no option
  for blocks, so its GRU has more weights and FLOPs.
* The GRU's input layer: sheeprl has one Linear+LayerNorm+SiLU of
  ``concat(stoch, action)`` to 64 and the GRU takes ``concat(deter, that)``; jwm has
  three (of deter, of stoch and of action, 64 each, 192 in all) and each block
  takes its own 32 deter units and the 192 inputs.
* The encoder has no output layer: sheeprl's MLP encoder is 2 x (Linear, LayerNorm,
  SiLU) and its last hidden layer (64) is the embedding; jwm's adds a Linear 64 -> 64.
* The initial recurrent state is learned (sheeprl's default,
  ``learnable_initial_recurrent_state``), and every sampled sequence starts from it.
* Envs: gymnasium's CartPole-v1 (Python/NumPy) in a ``SyncVectorEnv`` (in-process;
  sheeprl's gym default is ``AsyncVectorEnv``, subprocesses, which on 2 cores only
  adds IPC: ``--async-envs`` selects it); jwm's are JAX envs (gymnax) inside its
  jitted loop.
* Compute: eager PyTorch, float32 (``algo.compile.enabled=False``, sheeprl's
  default; jwm is jitted by XLA). sheeprl can also ``torch.compile`` its losses and
  player (``algo.compile.enabled``); this script does not offer it (untested here:
  compiling on this 2-core machine takes minutes).
* Prefill 1000 random steps as jwm's; sheeprl's loop stores (and trains on) the
  final observation of every episode as an extra row.

Rebuilding the virtual environment
----------------------------------
``benchmarks/sheeprl-requirements.txt`` is the ``pip freeze`` of the venv without
torch (torch 2.13.0 is installed first, from the CPU wheel; a plain ``torch`` or a
range would fetch a CUDA build, so nothing may upgrade it)::

    python3 -m venv .venv-sheeprl
    .venv-sheeprl/bin/pip install torch==2.13.0
    .venv-sheeprl/bin/pip install --no-deps -r benchmarks/sheeprl-requirements.txt

Threads: ``--threads N`` sets ``OMP_NUM_THREADS``/``MKL_NUM_THREADS`` before torch is
imported, ``torch.set_num_threads(N)`` and ``num_threads`` of sheeprl's config;
``OMP_WAIT_POLICY`` defaults to PASSIVE (spinning OpenMP threads would steal the
second core from anything else running).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
import warnings

# jwm's Dreamer defaults (jwm.recipes.dreamer DEFAULTS with its CartPole overrides).
JWM = {
    "deter": 128, "blocks": 4, "hidden": 64, "stoch": 16, "classes": 4, "units": 64,
    "layers": 2, "num_bins": 255, "batch_size": 16, "seq_len": 32, "horizon": 15,
    "gamma": 0.997, "lambda": 0.95, "num_envs": 4, "train_every": 8, "train_steps": 1,
    "prefill": 1000, "model_lr": 3e-4, "actor_lr": 1e-4, "critic_lr": 3e-4,
}


def _parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--updates", type=int, default=20,
                   help="timed gradient steps of the pretraining burst (default 20)")
    p.add_argument("--warmup", type=int, default=3,
                   help="untimed gradient steps before them (default 3)")
    p.add_argument("--env-steps", type=int, default=400,
                   help="timed env steps of the interleaved loop (default 400)")
    p.add_argument("--loop-warmup", type=int, default=16,
                   help="untimed env steps of the loop before them (default 16)")
    p.add_argument("--num-envs", type=int, default=JWM["num_envs"],
                   help="CartPole envs the player acts in (default 4)")
    p.add_argument("--prefill", type=int, default=JWM["prefill"],
                   help="random env steps before training (default 1000)")
    p.add_argument("--async-envs", action="store_true",
                   help="gymnasium AsyncVectorEnv (subprocesses) instead of SyncVectorEnv")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="JSON file to write (default: stdout only)")
    args = p.parse_args(argv)
    for name in ("threads", "updates", "warmup", "env_steps", "num_envs", "prefill"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.loop_warmup < 0:
        p.error("--loop-warmup must be >= 0")
    for name in ("env_steps", "loop_warmup"):
        if getattr(args, name) % args.num_envs:
            p.error(f"--{name.replace('_', '-')} must be a multiple of --num-envs")
    return args


def _overrides(args, log_root: str) -> list[str]:
    prefill_iters = max(args.prefill // args.num_envs, JWM["seq_len"])
    total_iters = prefill_iters + (args.loop_warmup + args.env_steps) // args.num_envs
    return [
        "exp=dreamer_v3", "env=gym", "env.id=CartPole-v1",
        f"env.num_envs={args.num_envs}", f"env.sync_env={not args.async_envs}",
        "env.capture_video=False",
        # vector observations only: MLP encoder/decoder
        "algo.cnn_keys.encoder=[]", "algo.cnn_keys.decoder=[]",
        "algo.mlp_keys.encoder=[state]", "algo.mlp_keys.decoder=[state]",
        # sizes
        f"algo.dense_units={JWM['units']}", f"algo.mlp_layers={JWM['layers']}",
        f"algo.world_model.recurrent_model.recurrent_state_size={JWM['deter']}",
        f"algo.world_model.recurrent_model.dense_units={JWM['hidden']}",
        f"algo.world_model.transition_model.hidden_size={JWM['hidden']}",
        f"algo.world_model.representation_model.hidden_size={JWM['hidden']}",
        f"algo.world_model.stochastic_size={JWM['stoch']}",
        f"algo.world_model.discrete_size={JWM['classes']}",
        f"algo.world_model.reward_model.bins={JWM['num_bins']}",
        f"algo.critic.bins={JWM['num_bins']}",
        # training recipe
        f"algo.per_rank_batch_size={JWM['batch_size']}",
        f"algo.per_rank_sequence_length={JWM['seq_len']}",
        f"algo.horizon={JWM['horizon']}", f"algo.gamma={JWM['gamma']}",
        f"algo.lmbda={JWM['lambda']}",
        f"algo.world_model.optimizer.lr={JWM['model_lr']}",
        f"algo.actor.optimizer.lr={JWM['actor_lr']}",
        f"algo.critic.optimizer.lr={JWM['critic_lr']}",
        f"algo.replay_ratio={JWM['train_steps'] / JWM['train_every']}",
        f"algo.learning_starts={prefill_iters * args.num_envs}",
        f"algo.per_rank_pretrain_steps={args.warmup + args.updates}",
        f"algo.total_steps={total_iters * args.num_envs}",
        "algo.compile.enabled=False",
        "algo.run_test=False",
        # no logging, checkpoints, memmaps or model registry
        "buffer.size=100000", "buffer.memmap=False", "buffer.checkpoint=False",
        "checkpoint.every=0", "checkpoint.save_last=False",
        "metric.log_level=0", "model_manager.disabled=True",
        "fabric.accelerator=cpu", "fabric.devices=1",
        f"num_threads={args.threads}", f"seed={args.seed}",
        f"log_root={log_root}", "run_name=bench",
    ]


def _differences(args, cfg) -> list[str]:
    wm = cfg.algo.world_model
    out = [
        f"GRU blocks: sheeprl's LayerNormGRUCell is one dense GRU (1 block, "
        f"{3 * wm.recurrent_model.recurrent_state_size} gates from "
        f"{wm.recurrent_model.recurrent_state_size}+{wm.recurrent_model.dense_units} inputs); "
        f"jwm's is block-diagonal with {JWM['blocks']} blocks; sheeprl has no blocks option",
        "GRU input layer: sheeprl has one Linear+LayerNorm+SiLU of concat(stoch, action) -> "
        f"{wm.recurrent_model.dense_units} and the GRU takes concat(deter, it); jwm has three "
        "(deter, stoch, action -> 64 each, 192 in all)",
        "encoder: sheeprl's is 2 x (Linear, LayerNorm, SiLU) with the last hidden layer (64) as "
        "the embedding; jwm's NormMLP adds an output Linear 64 -> 64",
        "initial recurrent state: learned in sheeprl (learnable_initial_recurrent_state=True, "
        "every sampled sequence starts from it)",
        "envs: gymnasium CartPole-v1 (Python) in a "
        + ("AsyncVectorEnv" if args.async_envs
           else "SyncVectorEnv (sheeprl's gym default is Async)")
        + f" of {args.num_envs}; jwm's are JAX envs inside its jitted loop",
        "compute: eager PyTorch float32 (sheeprl's default, algo.compile off); jwm is jitted "
        "by XLA",
        "replay: sheeprl's loop also stores the final observation of every episode as a row "
        "(with a zero action)",
        f"prefill: {cfg.algo.learning_starts} random env steps (jwm {JWM['prefill']})"
        if cfg.algo.learning_starts != JWM["prefill"] else None,
        "optimizer eps: sheeprl's world model 1e-8, actor and critic 1e-5 (its defaults)",
    ]
    if args.num_envs != JWM["num_envs"]:
        out.append(f"num_envs {args.num_envs} (jwm {JWM['num_envs']})")
    return [d for d in out if d]


def main(argv=None) -> dict:
    args = _parse(argv)
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(args.threads)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    load_start = os.getloadavg()
    t_process = time.perf_counter()

    import torch

    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    from hydra import compose, initialize_config_module
    from omegaconf import OmegaConf
    from sheeprl import cli
    from sheeprl.algos.dreamer_v3 import dreamer_v3 as dv3
    from sheeprl.utils.utils import dotdict
    from importlib.metadata import version

    log_root = tempfile.mkdtemp(prefix="sheeprl_bench_")
    with initialize_config_module(config_module="sheeprl.configs", version_base="1.3"):
        cfg = compose(config_name="config", overrides=_overrides(args, log_root))
    cfg = dotdict(OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True))
    cli.check_configs(cfg)

    rec = {"train": [], "act": [], "close": None, "models": None}
    orig_train, orig_build, orig_vec = dv3.train, dv3.build_agent, dv3.get_vector_env_cls

    def timed_train(*a, **k):
        if not rec["train"]:
            data = a[8] if len(a) > 8 else k["data"]
            rec["batch_shape"] = {key: list(v.shape) for key, v in data.items()}
        t0 = time.perf_counter()
        orig_train(*a, **k)
        rec["train"].append((t0, time.perf_counter()))

    def stamped_build_agent(*a, **k):
        out = orig_build(*a, **k)
        rec["models"] = out
        player = out[-1]
        get_actions = player.get_actions

        def stamped_get_actions(*a, **k):
            rec["act"].append(time.perf_counter())
            return get_actions(*a, **k)

        player.get_actions = stamped_get_actions
        return out

    def stamped_vector_env_cls(sync_env):
        cls = orig_vec(sync_env)

        def make(env_fns):
            envs = cls(env_fns)
            close = envs.close

            def stamped_close(*a, **k):
                if rec["close"] is None:
                    rec["close"] = time.perf_counter()
                return close(*a, **k)

            envs.close = stamped_close
            return envs

        return make

    dv3.train, dv3.build_agent, dv3.get_vector_env_cls = (
        timed_train, stamped_build_agent, stamped_vector_env_cls)
    try:
        t_run = time.perf_counter()
        cli.run_algorithm(cfg)
        t_end = time.perf_counter()
    finally:
        dv3.train, dv3.build_agent, dv3.get_vector_env_cls = orig_train, orig_build, orig_vec
        shutil.rmtree(log_root, ignore_errors=True)
    load_end = os.getloadavg()

    # (a) the pretraining burst: warmup + updates consecutive gradient steps
    burst = rec["train"][: args.warmup + args.updates]
    if len(burst) < args.warmup + args.updates:
        raise RuntimeError(f"expected {args.warmup + args.updates} updates in the burst, "
                           f"got {len(burst)}")
    burst_s = burst[-1][1] - burst[args.warmup - 1][1]
    timed = burst[args.warmup:]
    train_call_s = sum(e - s for s, e in timed) / len(timed)
    # (b) the interleaved loop: player calls from loop_warmup env steps on, to the close
    skip = args.loop_warmup // args.num_envs
    acts = rec["act"]
    if len(acts) <= skip or rec["close"] is None:
        raise RuntimeError(f"the loop made {len(acts)} player calls, expected more than {skip}")
    loop_t0 = acts[skip]
    loop_s = rec["close"] - loop_t0
    loop_steps = (len(acts) - skip) * args.num_envs
    loop_updates = [(s, e) for s, e in rec["train"][len(burst):] if s >= loop_t0]
    loop_train_s = sum(e - s for s, e in loop_updates)

    world_model, actor, critic = rec["models"][:3]
    count = lambda m: int(sum(p.numel() for p in m.parameters()))  # noqa: E731
    wm, al, cr = cfg.algo.world_model, cfg.algo.actor, cfg.algo.critic
    result = {
        "library": "sheeprl",
        "algorithm": "DreamerV3 (sheeprl.algos.dreamer_v3)",
        "sheeprl_version": version("sheeprl"),
        "torch_version": torch.__version__,
        "python": sys.version.split()[0],
        "threads": args.threads,
        "torch_num_threads": torch.get_num_threads(),
        "env": "gymnasium CartPole-v1",
        "config": {
            "deter": wm.recurrent_model.recurrent_state_size,
            "gru_blocks": 1,
            "hidden": {"gru_input": wm.recurrent_model.dense_units,
                       "prior": wm.transition_model.hidden_size,
                       "posterior": wm.representation_model.hidden_size},
            "stoch": wm.stochastic_size, "classes": wm.discrete_size,
            "units": {"encoder": wm.encoder.dense_units,
                      "decoder": wm.observation_model.dense_units,
                      "reward": wm.reward_model.dense_units,
                      "continue": wm.discount_model.dense_units,
                      "actor": al.dense_units, "critic": cr.dense_units},
            "layers": {"encoder": wm.encoder.mlp_layers,
                       "decoder": wm.observation_model.mlp_layers,
                       "reward": wm.reward_model.mlp_layers,
                       "continue": wm.discount_model.mlp_layers,
                       "actor": al.mlp_layers, "critic": cr.mlp_layers},
            "reward_bins": wm.reward_model.bins, "critic_bins": cr.bins,
            "batch_size": cfg.algo.per_rank_batch_size,
            "seq_len": cfg.algo.per_rank_sequence_length,
            "horizon": cfg.algo.horizon, "gamma": cfg.algo.gamma, "lambda": cfg.algo.lmbda,
            "lr": {"world_model": wm.optimizer.lr, "actor": al.optimizer.lr,
                   "critic": cr.optimizer.lr},
            "num_envs": cfg.env.num_envs, "sync_env": cfg.env.sync_env,
            "replay_ratio_updates_per_env_step": cfg.algo.replay_ratio,
            "replay_ratio_replayed_steps_per_env_step": cfg.algo.replay_ratio
            * cfg.algo.per_rank_batch_size * cfg.algo.per_rank_sequence_length,
            "prefill": cfg.algo.learning_starts,
            "compile": cfg.algo.compile.enabled,
            "precision": cfg.fabric.precision,
        },
        "differences": _differences(args, cfg),
        "batch_shapes": rec.get("batch_shape"),
        "params": {"world_model": count(world_model), "actor": count(actor),
                   "critic": count(critic)},
        "warmup_updates": args.warmup,
        "timed_updates": args.updates,
        "updates_per_s": args.updates / burst_s,
        "seconds_per_update": burst_s / args.updates,
        "train_call_s_mean": train_call_s,
        "env_steps": loop_steps,
        "env_steps_per_s": loop_steps / loop_s,
        "loop_seconds": loop_s,
        "loop_updates": len(loop_updates),
        "loop_train_fraction": loop_train_s / loop_s,
        "startup_s": t_run - t_process,
        "run_s": t_end - t_run,
        "loadavg_start": list(load_start),
        "loadavg_end": list(load_end),
        "command": [sys.executable] + sys.argv,
    }
    text = json.dumps(result, indent=2)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    print(f"sheeprl {result['sheeprl_version']} torch {result['torch_version']} "
          f"threads {args.threads}: {result['updates_per_s']:.2f} updates/s "
          f"({1e3 * result['seconds_per_update']:.0f} ms/update), "
          f"{result['env_steps_per_s']:.1f} env steps/s at replay ratio "
          f"{result['config']['replay_ratio_replayed_steps_per_env_step']:.0f} "
          f"({len(loop_updates)} updates in {loop_steps} env steps)", flush=True)
    if not args.out:
        print(text)
    return result


if __name__ == "__main__":
    main()

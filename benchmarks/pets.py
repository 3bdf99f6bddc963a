"""Benchmark: one PETS planning step (CEM on a probabilistic ensemble), jwm vs mbrl-lib,
and whole PETS runs for several seeds, vmapped vs sequential.

Part 1, one planning step on a Pendulum-sized problem (obs 3, action 1): CEM with
population 400, horizon 25, 5 iterations, elite ratio 0.1, alpha 0.1, on an ensemble of
5 probabilistic members with 20 particles propagated TS-inf (mbrl-lib:
``fixed_model``), learned reward, no termination, for hidden sizes 4x200 and 3x64.
Random weights (nothing is fitted): the cost of a plan does not depend on them.

* ``jwm``   -- ``jwm.planners.cem(jwm.models.ensemble_model(...)).plan``, jitted.
* ``mbrl``  -- mbrl-lib's ``GaussianMLP`` -> ``OneDTransitionRewardModel`` ->
               ``ModelEnv`` -> ``TrajectoryOptimizerAgent`` with a ``CEMOptimizer``,
               built directly (no hydra app; mbrl-lib itself instantiates the optimizer
               from an OmegaConf node), timed as ``agent.act(obs)``, torch on every core
               (and, as a diagnostic, on one), denormals flushed as in XLA.
* ``matmul_chain`` -- the machine's own throughput on exactly the model's matmuls: a
               jitted loop over the ``H * iterations`` model steps of one plan, each the
               chain of batched matmuls ``[E, rows, in] x [E, in, out]`` of the member
               MLP (``rows = population * particles / E``), nothing else.

Targets: ``mbrl/jwm >= 1`` at 4x200 and ``>= 3`` at 3x64; ``jwm`` reaching >= 70 % of
the machine's matmul throughput (model matmul FLOPs per plan, counted analytically,
divided by jwm's time, over the same FLOPs divided by ``matmul_chain``'s time).
Diagnostics split a jwm step into matmuls, activations and the rest (sampling, noise,
top-k, reductions) by timing the same chain with the activations, and jwm's evaluator
alone.

Part 2, whole PETS runs (``jwm.agents.pets(...).run``, one pure function) for 8 seeds
(``--run-seeds``): ``jax.vmap`` over the keys vs as many sequential calls of the
single-seed function, and the
ahead-of-time compile time of each (target <= 60 s).

All timed callables of a part run round-robin in one schedule, so a busy shared machine
slows all of them alike; medians are the headline numbers and ``os.getloadavg()`` is
recorded at the start and end.

Usage::

    python benchmarks/pets.py [--repeats 7] [--repeats-small 15] [--out benchmarks/results]

Needs ``pip install -e .[peers] && pip install --no-deps mbrl==0.2.0``. mbrl-lib 0.2.0
pins old hydra-core/omegaconf/gymnasium that no longer install (a resolver would fall
back to the empty ``mbrl==0.0.1``); its planning code runs on hydra-core 1.3 and
gymnasium 1.x. Writes ``pets.json`` and ``pets.md`` into ``--out``. No XLA flags are
set; whatever ``XLA_FLAGS`` the caller exported is recorded.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import os
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import jwm
from common import (blocking, check_target, device_info, device_text, time_interleaved,
                    timed_compile, timing_stats, write_results)
from jwm.planners.objective import population_returns

ENV_NAME = "gymnax:Pendulum-v1"
OBS_DIM, ACTION_DIM = 3, 1
ENSEMBLE = 5
PARTICLES = 20
POPULATION = 400
HORIZON = 25
ITERATIONS = 5
ELITE_RATIO = 0.1
ALPHA = 0.1  # mbrl-lib's PETS configs use alpha 0.1
HIDDEN = {"4x200": (200, 200, 200, 200), "3x64": (64, 64, 64)}
# mbrl-lib seconds per planning step measured on this machine when the issue was filed.
MBRL_REFERENCE_S = {"4x200": 3.5, "3x64": 0.9}
WARMUP_CALLS = 1

TARGETS = {
    "mbrl_over_jwm_4x200": (">=", 1.0),
    "mbrl_over_jwm_3x64": (">=", 3.0),
    "jwm_matmul_efficiency_4x200": (">=", 0.7),
    "jwm_matmul_efficiency_3x64": (">=", 0.7),
    "pets_compile_s_single": ("<=", 60.0),
    "pets_compile_s_vmapped": ("<=", 60.0),
}

# A small whole-PETS configuration: a few minutes for 8 seeds twice over.
RUN_CONFIG = dict(episodes=3, random_episodes=1, steps_per_episode=200, seeds=8,
                  hidden=(64, 64, 64), ensemble=5, particles=10, population=50, horizon=10,
                  iterations=3, epochs=5, batch_size=32)


# --------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------


def _print_round(r, samples):
    """Running medians after each timing round: a multi-minute benchmark shows progress."""
    print(f"  round {r + 1}: " + ", ".join(
        f"{n} {np.median(v) * 1e3:.0f} ms" for n, v in samples.items()), flush=True)


# --------------------------------------------------------------------------------------
# FLOPs and the matmul reference
# --------------------------------------------------------------------------------------


def layer_dims(hidden):
    """``[(in, out)]`` of one member MLP: (obs+action) -> hidden... -> 2*(obs+reward)."""
    dims = (OBS_DIM + ACTION_DIM,) + tuple(hidden) + (2 * (OBS_DIM + 1),)
    return list(zip(dims[:-1], dims[1:]))


def plan_matmul_flops(hidden) -> dict:
    """Multiply-add FLOPs (2 per MAC) of the model's matmuls in one jwm plan step.

    Per model step every one of the ``population * particles`` rows passes through one
    member: ``2 * rows * sum(in * out)``; ``horizon * iterations`` steps for the
    population, plus ``horizon`` steps of ``particles`` rows for jwm's re-scoring of the
    final mean (``return_mode="mean"``; mbrl-lib does not re-score).
    """
    per_row = 2 * sum(a * b for a, b in layer_dims(hidden))
    population_rows = POPULATION * PARTICLES * HORIZON * ITERATIONS
    final_rows = PARTICLES * HORIZON
    return {"flops_per_row": per_row, "population_flops": per_row * population_rows,
            "final_mean_flops": per_row * final_rows,
            "total_flops": per_row * (population_rows + final_rows)}


def make_matmul_chain(hidden, key, activation=None):
    """A jitted ``run(weights, x)`` doing the plan's ``H * iterations`` model steps as
    bare batched matmuls ``[E, rows, in] x [E, in, out]`` (optionally with the hidden
    activations), each step fed by the last one so none can be skipped."""
    rows = POPULATION * PARTICLES // ENSEMBLE
    keys = jax.random.split(key, len(layer_dims(hidden)) + 1)
    weights = [jax.random.normal(k, (ENSEMBLE, a, b), jnp.float32) / np.sqrt(a)
               for k, (a, b) in zip(keys[1:], layer_dims(hidden))]
    x0 = jax.random.normal(keys[0], (ENSEMBLE, rows, OBS_DIM + ACTION_DIM), jnp.float32)
    in_dim = OBS_DIM + ACTION_DIM

    def run(weights, x):
        def body(_, x):
            h = x
            for i, w in enumerate(weights):
                h = jnp.einsum("erk,eko->ero", h, w)
                if activation is not None and i < len(weights) - 1:
                    h = activation(h)
                # One matmul per layer as in the model: without the barrier XLA may
                # merge the bare chain into one library call or reassociate it.
                h = jax.lax.optimization_barrier(h)
            # tanh keeps the fed-back state bounded (a bare chain of random matmuls
            # drifts to overflow or denormals within the 125 steps); it touches only
            # [E, rows, in] elements, negligible next to the hidden layers.
            return jnp.tanh(h[..., :in_dim])

        return jax.lax.fori_loop(0, HORIZON * ITERATIONS, body, x)

    return jax.jit(run), (weights, x0)


def single_matmul_throughput(hidden, key) -> dict:
    """GFLOP/s of each distinct layer shape alone (50 chained calls per jit), for the record."""
    rows = POPULATION * PARTICLES // ENSEMBLE
    out = {}
    for a, b in sorted(set(layer_dims(hidden))):
        x = jax.random.normal(key, (ENSEMBLE, rows, a), jnp.float32)
        w = jax.random.normal(key, (ENSEMBLE, a, b), jnp.float32) / np.sqrt(a)
        reps = 50

        def run(x, w):
            def body(i, acc):
                return acc + jnp.einsum("erk,eko->ero", x + acc[0, 0, 0] * 0, w)[:, :1, :1]
            return jax.lax.fori_loop(0, reps, body, jnp.zeros((ENSEMBLE, 1, 1)))

        f = jax.jit(run)
        jax.block_until_ready(f(x, w))
        ts = []
        for _ in range(5):
            t0 = time.perf_counter()
            jax.block_until_ready(f(x, w))
            ts.append(time.perf_counter() - t0)
        flops = 2 * ENSEMBLE * rows * a * b * reps
        out[f"[{ENSEMBLE},{rows},{a}]x[{ENSEMBLE},{a},{b}]"] = flops / np.median(ts) / 1e9
    return out


# --------------------------------------------------------------------------------------
# jwm
# --------------------------------------------------------------------------------------


def make_jwm(env, hidden, key):
    model = jwm.models.ensemble_model(env.observation_space, env.action_space,
                                      ensemble_size=ENSEMBLE, hidden_sizes=hidden,
                                      probabilistic=True, propagation="ts_inf",
                                      particles=PARTICLES, activation="silu")
    planner = jwm.planners.cem(model, env.action_space, horizon=HORIZON,
                               population=POPULATION, iterations=ITERATIONS,
                               elite_frac=ELITE_RATIO, alpha=ALPHA, sampling="clip",
                               return_mode="mean", warm_start=True)
    k_init, k_obs = jax.random.split(key)
    params = model.init(k_init)
    obs = jax.random.uniform(k_obs, (OBS_DIM,), minval=-1.0, maxval=1.0)
    latent = model.encode(params, obs)
    plan_state = planner.init(key)
    plan = jax.jit(planner.plan)
    compiled, compile_s = timed_compile(plan, plan_state, params, latent, key)

    actions = jnp.zeros((POPULATION, HORIZON, ACTION_DIM), jnp.float32)

    def evaluator(params, latent, actions, key):
        """The ``iterations`` population evaluations of a plan alone (no sampling,
        top-k or refit)."""
        def body(i, acc):
            r, _ = population_returns(model, params, latent, actions + acc * 0,
                                      jax.random.fold_in(key, i))
            return acc + r.mean()
        return jax.lax.fori_loop(0, ITERATIONS, body, jnp.zeros(()))

    eval_fn = jax.jit(evaluator)
    jax.block_until_ready(eval_fn(params, latent, actions, key))
    action, _, info = compiled(plan_state, params, latent, key)
    assert np.all(np.isfinite(np.asarray(action))), action
    return {
        "plan": blocking(compiled, plan_state, params, latent, key),
        "evaluator": blocking(eval_fn, params, latent, actions, key),
        "compile_s": compile_s,
        "obs": np.asarray(obs, np.float32),
        "first_action": float(np.asarray(action).reshape(-1)[0]),
        "num_nonfinite": int(info.num_nonfinite),
    }


# --------------------------------------------------------------------------------------
# mbrl-lib
# --------------------------------------------------------------------------------------


def make_mbrl(hidden, seed):
    """mbrl-lib's PETS planning stack for ``hidden``, built without a hydra app.

    Returns ``(act, details)``: ``act(obs)`` is one ``TrajectoryOptimizerAgent.act`` call
    (one CEM planning step); ``details`` records what was built and checked.
    """
    import gymnasium as gym
    import omegaconf
    import torch
    from mbrl.models import GaussianMLP, ModelEnv, OneDTransitionRewardModel
    from mbrl.planning import CEMOptimizer, TrajectoryOptimizerAgent

    torch.manual_seed(seed)
    if len(set(hidden)) != 1:
        raise ValueError("mbrl-lib's GaussianMLP has one hidden width")
    net = GaussianMLP(in_size=OBS_DIM + ACTION_DIM, out_size=OBS_DIM + 1, device="cpu",
                      num_layers=len(hidden), ensemble_size=ENSEMBLE, hid_size=hidden[0],
                      deterministic=False, propagation_method="fixed_model",
                      learn_logvar_bounds=False,
                      activation_fn_cfg={"_target_": "torch.nn.SiLU"})
    dynamics = OneDTransitionRewardModel(net, target_is_delta=True, normalize=True,
                                         learned_rewards=True)

    class _Spaces:  # all ModelEnv reads of the env
        observation_space = gym.spaces.Box(-np.inf, np.inf, (OBS_DIM,), np.float32)
        action_space = gym.spaces.Box(-2.0, 2.0, (ACTION_DIM,), np.float32)

    def never_terminates(act, next_obs):
        return torch.zeros(next_obs.shape[0], 1, dtype=torch.bool, device=next_obs.device)

    generator = torch.Generator(device="cpu")
    generator.manual_seed(seed)
    model_env = ModelEnv(_Spaces(), dynamics, never_terminates, reward_fn=None,
                         generator=generator)
    optimizer_cfg = omegaconf.OmegaConf.create({
        "_target_": "mbrl.planning.CEMOptimizer",
        "num_iterations": ITERATIONS,
        "elite_ratio": ELITE_RATIO,
        "population_size": POPULATION,
        "alpha": ALPHA,
        "lower_bound": "???",
        "upper_bound": "???",
        "return_mean_elites": True,
        "clipped_normal": True,
        "device": "cpu",
    })
    agent = TrajectoryOptimizerAgent(optimizer_cfg, action_lb=[-2.0], action_ub=[2.0],
                                     planning_horizon=HORIZON, replan_freq=1,
                                     verbose=False, keep_last_solution=True)
    assert isinstance(agent.optimizer.optimizer, CEMOptimizer)
    seen = {}

    def trajectory_eval_fn(initial_state, action_sequences):
        seen["action_sequences_shape"] = tuple(action_sequences.shape)
        return model_env.evaluate_action_sequences(action_sequences,
                                                   initial_state=initial_state,
                                                   num_particles=PARTICLES)

    agent.set_trajectory_eval_fn(trajectory_eval_fn)
    details = {
        "model": repr(net).replace("\n", " ")[:400],
        "elite_num": int(agent.optimizer.optimizer.elite_num),
        "num_parameters": int(sum(p.numel() for p in net.parameters())),
    }

    def act(obs, threads=None):
        previous = torch.get_num_threads()
        if threads is not None:
            torch.set_num_threads(threads)
        try:
            with torch.no_grad():
                return agent.act(obs)
        finally:
            torch.set_num_threads(previous)

    return act, details, seen


def torch_matmul_chain(hidden, seed):
    """The matmul chain of `make_matmul_chain` in torch (``torch.bmm``), for reference."""
    import torch

    g = torch.Generator().manual_seed(seed)
    rows = POPULATION * PARTICLES // ENSEMBLE
    weights = [torch.randn(ENSEMBLE, a, b, generator=g) / np.sqrt(a)
               for a, b in layer_dims(hidden)]
    x0 = torch.randn(ENSEMBLE, rows, OBS_DIM + ACTION_DIM, generator=g)

    def run():
        with torch.no_grad():
            x = x0
            for _ in range(HORIZON * ITERATIONS):
                h = x
                for w in weights:
                    h = torch.bmm(h, w)
                x = torch.tanh(h[..., :OBS_DIM + ACTION_DIM])
            return x

    return run


# --------------------------------------------------------------------------------------
# Part 1: one planning step
# --------------------------------------------------------------------------------------


def plan_step_part(env, key, repeats: dict, seed) -> dict:
    import torch

    out = {}
    for name, hidden in HIDDEN.items():
        print(f"[plan step {name}] building", flush=True)
        k_jwm, k_mm = jax.random.split(jax.random.fold_in(key, len(hidden) * 1000 + hidden[0]))
        j = make_jwm(env, hidden, k_jwm)
        mbrl_act, mbrl_details, seen = make_mbrl(hidden, seed)
        obs = j["obs"]
        mbrl_action = mbrl_act(obs)
        assert seen["action_sequences_shape"] == (POPULATION, HORIZON, ACTION_DIM), seen
        assert np.all(np.isfinite(mbrl_action)), mbrl_action
        chain, chain_args = make_matmul_chain(hidden, k_mm)
        chain_silu, chain_silu_args = make_matmul_chain(hidden, k_mm, activation=jax.nn.silu)
        methods = {
            "jwm": j["plan"],
            "mbrl": lambda: mbrl_act(obs),
            "matmul_chain": blocking(chain, *chain_args),
        }
        diagnostics = {
            # torch's OpenMP barriers suffer most when the shared machine is
            # oversubscribed: the same mbrl-lib step on one thread.
            "mbrl_1_thread": lambda: mbrl_act(obs, threads=1),
            "matmul_silu_chain": blocking(chain_silu, *chain_silu_args),
            "jwm_evaluator_only": j["evaluator"],
            "torch_bmm_chain": torch_matmul_chain(hidden, seed),
        }
        # One call of every method per round: a change of the shared machine's load
        # between rounds hits all of them alike.
        print(f"[plan step {name}] timing, {repeats[name]} rounds", flush=True)
        stats, _ = time_interleaved({**methods, **diagnostics}, repeats[name], repeats[name],
                                    WARMUP_CALLS, on_round=_print_round)
        flops = plan_matmul_flops(hidden)
        pop_flops = flops["population_flops"]  # what the chains compute
        t = {k: stats[k]["median_ms"] / 1e3 for k in stats}
        machine_gflops = pop_flops / t["matmul_chain"] / 1e9
        jwm_gflops = flops["total_flops"] / t["jwm"] / 1e9
        out[name] = {
            "hidden_sizes": list(hidden),
            "layer_dims": layer_dims(hidden),
            "timings": {k: stats[k] for k in methods},
            "diagnostics": {k: stats[k] for k in diagnostics},
            "flops": flops,
            "machine_matmul_gflops": machine_gflops,
            "jwm_matmul_gflops": jwm_gflops,
            "mbrl_matmul_gflops": flops["population_flops"] / t["mbrl"] / 1e9,
            "torch_bmm_gflops": pop_flops / t["torch_bmm_chain"] / 1e9,
            "single_matmul_gflops": single_matmul_throughput(hidden, k_mm),
            "jwm_matmul_efficiency": jwm_gflops / machine_gflops,
            "mbrl_over_jwm": t["mbrl"] / t["jwm"],
            "mbrl_1_thread_over_jwm": t["mbrl_1_thread"] / t["jwm"],
            # What the targets are checked on: mbrl-lib at its faster thread setting.
            "best_mbrl_over_jwm": min(t["mbrl"], t["mbrl_1_thread"]) / t["jwm"],
            "breakdown_of_jwm_step": {
                "matmul_fraction": t["matmul_chain"] / t["jwm"],
                "activation_fraction": (t["matmul_silu_chain"] - t["matmul_chain"]) / t["jwm"],
                "rest_of_model_step_fraction":
                    (t["jwm_evaluator_only"] - t["matmul_silu_chain"]) / t["jwm"],
                "planner_outside_evaluation_fraction":
                    (t["jwm"] - t["jwm_evaluator_only"]) / t["jwm"],
            },
            # What the targets ask of jwm's step, against the least any XLA program
            # computing the same network takes here: its matmuls and SiLUs alone, with
            # no sampling, normalisation or planner (matmul_silu_chain).
            "reachability": {
                "speed_target_needs_ms": 1e3 * min(t["mbrl"], t["mbrl_1_thread"])
                / TARGETS[f"mbrl_over_jwm_{name}"][1],
                "efficiency_target_needs_ms": 1e3 * t["matmul_chain"]
                / TARGETS[f"jwm_matmul_efficiency_{name}"][1],
                "network_alone_ms": 1e3 * t["matmul_silu_chain"],
            },
            "jwm_compile_s": j["compile_s"],
            "jwm_first_action": j["first_action"],
            "jwm_num_nonfinite": j["num_nonfinite"],
            "mbrl_first_action": float(np.asarray(mbrl_action).reshape(-1)[0]),
            "mbrl_details": mbrl_details,
            "mbrl_reference_s_from_issue": MBRL_REFERENCE_S[name],
        }
        print(f"[plan step {name}] jwm {t['jwm']:.3f} s, mbrl {t['mbrl']:.3f} s, "
              f"matmul chain {t['matmul_chain']:.3f} s, efficiency "
              f"{out[name]['jwm_matmul_efficiency']:.2f}", flush=True)
    out["torch_num_threads"] = torch.get_num_threads()
    out["torch_flush_denormal"] = True
    return out


# --------------------------------------------------------------------------------------
# Part 2: whole PETS runs, seeds vmapped vs sequential
# --------------------------------------------------------------------------------------


def pets_run_part(env, key, repeats, seeds=RUN_CONFIG["seeds"]) -> dict:
    c = dict(RUN_CONFIG, seeds=seeds)
    model = jwm.models.ensemble_model(env.observation_space, env.action_space,
                                      ensemble_size=c["ensemble"], hidden_sizes=c["hidden"],
                                      probabilistic=True, propagation="ts_inf",
                                      particles=c["particles"])
    planner = jwm.planners.cem(model, env.action_space, horizon=c["horizon"],
                               population=c["population"], iterations=c["iterations"],
                               elite_frac=ELITE_RATIO, alpha=ALPHA)
    agent = jwm.agents.pets(env, model, planner,
                            total_steps=c["episodes"] * c["steps_per_episode"],
                            prefill=c["random_episodes"] * c["steps_per_episode"],
                            steps_per_episode=c["steps_per_episode"],
                            fit_options=dict(epochs=c["epochs"], batch_size=c["batch_size"]))
    keys = jax.random.split(key, c["seeds"])
    print("[pets run] compiling single-seed run", flush=True)
    single, compile_single = timed_compile(jax.jit(agent.run), keys[0])
    print(f"[pets run] single compiled in {compile_single:.1f} s; compiling vmapped run",
          flush=True)
    vmapped, compile_vmapped = timed_compile(jax.jit(jax.vmap(agent.run)), keys)
    print(f"[pets run] vmapped compiled in {compile_vmapped:.1f} s", flush=True)

    results = {}

    def sequential():
        results["sequential"] = [jax.block_until_ready(single(k)) for k in keys]

    def batched():
        results["vmapped"] = jax.block_until_ready(vmapped(keys))

    samples = {"sequential": [], "vmapped": []}
    fns = {"sequential": sequential, "vmapped": batched}
    gc.disable()
    try:
        for r in range(repeats):
            order = list(fns) if r % 2 == 0 else list(fns)[::-1]
            for name in order:
                t0 = time.perf_counter()
                fns[name]()
                samples[name].append(time.perf_counter() - t0)
                print(f"[pets run] {name} {samples[name][-1]:.1f} s", flush=True)
    finally:
        gc.enable()
    seq_returns = np.stack([np.asarray(metrics.eval_return) for _, metrics in results["sequential"]])
    vm_returns = np.asarray(results["vmapped"][1].eval_return)
    stats = {k: timing_stats(v) for k, v in samples.items()}
    return {
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in c.items()},
        "compile_s_single": compile_single,
        "compile_s_vmapped": compile_vmapped,
        "timings": stats,
        "vmapped_speedup": stats["sequential"]["median_ms"] / stats["vmapped"]["median_ms"],
        "episode_return_vmapped": vm_returns.tolist(),
        "episode_return_sequential": seq_returns.tolist(),
        "max_abs_return_diff_vmapped_vs_sequential": float(np.max(np.abs(vm_returns - seq_returns))),
    }


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------


def checks(plan: dict, run: dict) -> dict:
    values = {
        "mbrl_over_jwm_4x200": plan["4x200"]["best_mbrl_over_jwm"],
        "mbrl_over_jwm_3x64": plan["3x64"]["best_mbrl_over_jwm"],
        "jwm_matmul_efficiency_4x200": plan["4x200"]["jwm_matmul_efficiency"],
        "jwm_matmul_efficiency_3x64": plan["3x64"]["jwm_matmul_efficiency"],
        "pets_compile_s_single": run["compile_s_single"],
        "pets_compile_s_vmapped": run["compile_s_vmapped"],
    }
    return {name: check_target(value, *TARGETS[name]) for name, value in values.items()}


def markdown(result: dict) -> str:
    dev = result["device"]
    plan = result["plan_step"]
    run = result["pets_run"]
    lines = [
        f"# {result['benchmark']}",
        "",
        f"Pendulum-sized (obs {OBS_DIM}, action {ACTION_DIM}); CEM population {POPULATION}, "
        f"horizon {HORIZON}, {ITERATIONS} iterations, elite ratio {ELITE_RATIO}, alpha "
        f"{ALPHA}; ensemble of {ENSEMBLE} probabilistic SiLU MLPs, {PARTICLES} particles "
        f"TS-inf, learned reward, no termination. Device: {device_text(dev)}, "
        f"jax {dev['jax_version']}, torch {dev.get('torch_version')} "
        f"({plan['torch_num_threads']} threads), mbrl {dev.get('mbrl_version')}. "
        f"Load average {result['loadavg_start'][0]:.2f} at start, "
        f"{result['loadavg_end'][0]:.2f} at end. {result['timestamp']}.",
        "",
        "## One planning step",
        "",
        "| hidden | method | median ms | min ms | p90 ms | repeats | vs jwm |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name in HIDDEN:
        p = plan[name]
        jwm_t = p["timings"]["jwm"]["median_ms"]
        for method, s in {**p["timings"], **p["diagnostics"]}.items():
            lines.append(f"| {name} | {method} | {s['median_ms']:.1f} | {s['min_ms']:.1f} | "
                         f"{s['p90_ms']:.1f} | {s['repeats']} | {s['median_ms'] / jwm_t:.2f}x |")
    lines += ["", "| hidden | model matmul GFLOP/plan | machine matmul GFLOP/s | jwm GFLOP/s | "
              "mbrl GFLOP/s | torch bmm GFLOP/s | jwm efficiency | jwm compile s |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name in HIDDEN:
        p = plan[name]
        lines.append(f"| {name} | {p['flops']['total_flops'] / 1e9:.1f} | "
                     f"{p['machine_matmul_gflops']:.1f} | {p['jwm_matmul_gflops']:.1f} | "
                     f"{p['mbrl_matmul_gflops']:.1f} | {p['torch_bmm_gflops']:.1f} | "
                     f"{p['jwm_matmul_efficiency']:.2f} | {p['jwm_compile_s']:.1f} |")
    lines += ["", "Where a jwm step goes (fractions of its median, from the chains above):", "",
              "| hidden | matmuls | activations | rest of model step | planner outside evaluation |",
              "|---|---:|---:|---:|---:|"]
    for name in HIDDEN:
        b = plan[name]["breakdown_of_jwm_step"]
        lines.append(f"| {name} | {b['matmul_fraction']:.2f} | {b['activation_fraction']:.2f} | "
                     f"{b['rest_of_model_step_fraction']:.2f} | "
                     f"{b['planner_outside_evaluation_fraction']:.2f} |")
    lines += ["", "What the targets ask of a jwm step, against the network alone (its matmuls "
              "and SiLUs in XLA on the same shapes, nothing else): a target below that "
              "floor is out of reach for any XLA program computing this network here.", "",
              "| hidden | speed target needs ms | efficiency target needs ms | "
              "network alone ms | jwm ms |", "|---|---:|---:|---:|---:|"]
    for name in HIDDEN:
        r = plan[name]["reachability"]
        lines.append(f"| {name} | {r['speed_target_needs_ms']:.1f} | "
                     f"{r['efficiency_target_needs_ms']:.1f} | {r['network_alone_ms']:.1f} | "
                     f"{plan[name]['timings']['jwm']['median_ms']:.1f} |")
    c = run["config"]
    lines += [
        "",
        "## Whole PETS runs",
        "",
        f"{c['seeds']} seeds; {c['episodes']} episodes of {c['steps_per_episode']} steps "
        f"({c['random_episodes']} random); ensemble {c['ensemble']} x {c['hidden']}, "
        f"{c['particles']} particles; CEM population {c['population']}, horizon "
        f"{c['horizon']}, {c['iterations']} iterations; fit {c['epochs']} epochs.",
        "",
        "| mode | median s | min s | repeats | compile s |",
        "|---|---:|---:|---:|---:|",
    ]
    for mode, comp in (("sequential", run["compile_s_single"]),
                       ("vmapped", run["compile_s_vmapped"])):
        s = run["timings"][mode]
        lines.append(f"| {mode} | {s['median_ms'] / 1e3:.1f} | {s['min_ms'] / 1e3:.1f} | "
                     f"{s['repeats']} | {comp:.1f} |")
    lines += ["", f"vmapped speedup over sequential: {run['vmapped_speedup']:.2f}x; "
              f"largest episode-return difference between the two: "
              f"{run['max_abs_return_diff_vmapped_vs_sequential']:.3g}.",
              "", "## Targets", "", "| check | value | target | pass |", "|---|---:|---:|:---:|"]
    for name, r in result["checks"].items():
        lines.append(f"| {name} | {r['value']:.2f} | {r['target']} | "
                     f"{'yes' if r['pass'] else 'NO'} |")
    lines += ["", "Differences between the two planners:", ""]
    lines += [f"- {d}" for d in result["differences"]]
    return "\n".join(lines) + "\n"


DIFFERENCES = [
    "Sampling: both clip a Gaussian to the bounds with initial std 1 (jwm: a quarter of "
    "the range; mbrl-lib: clipped_normal=True). mbrl-lib's PETS default is its truncated "
    "normal (clipped_normal=False).",
    "Refit: jwm's elite std is the population std (ddof 0), mbrl-lib's torch.std is "
    "unbiased (ddof 1); both use alpha 0.1 on mean and std and 40 elites (ceil(0.1 * 400)).",
    "Returned plan: both act on the final mean (mbrl-lib return_mean_elites=True); jwm also "
    "re-scores that mean (20 particles x 25 steps, counted in jwm's FLOPs) for PlanInfo.",
    "TS-inf: jwm gives particle p to member p // (P/E) (contiguous groups, no gather); "
    "mbrl-lib fixed_model draws a random permutation per evaluation and gathers/scatters "
    "the rows every step.",
    "Normalisation: jwm normalises inputs and denormalises targets (identity statistics "
    "here); mbrl-lib normalises inputs only. Non-finite returns: jwm -> lowest float, "
    "mbrl-lib NaN -> -1e-10.",
    "torch runs with set_flush_denormal(True), as XLA's CPU runtime flushes denormals; "
    "the mbrl_over_jwm checks use mbrl-lib at its faster thread count (2 threads, the "
    "headline, or 1, a diagnostic), both timed in the same schedule.",
    "Noise: jwm draws the particles' Gaussian noise with its counter-based hash generator, "
    "mbrl-lib with torch.normal.",
]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7,
                        help="timed planning steps per method at 4x200 (default 7)")
    parser.add_argument("--repeats-small", type=int, default=15,
                        help="timed planning steps per method at 3x64 (default 15)")
    parser.add_argument("--run-repeats", type=int, default=2,
                        help="timed PETS runs of --run-seeds seeds per mode (default 2)")
    parser.add_argument("--run-seeds", type=int, default=RUN_CONFIG["seeds"],
                        help=f"seeds per whole PETS run (default {RUN_CONFIG['seeds']})")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.run_seeds < 1:
        parser.error("--run-seeds must be at least 1")

    import torch

    torch.set_num_threads(os.cpu_count())
    # XLA's CPU runtime flushes denormals to zero; without the same in torch, random
    # weights drive mbrl-lib's SiLUs into denormal territory and its step is several
    # times slower for a reason a trained model would rarely meet.
    torch.set_flush_denormal(True)
    load_start = os.getloadavg()
    key = jax.random.key(args.seed)
    k_plan, k_run = jax.random.split(key)
    env = jwm.envs.make(ENV_NAME)
    assert env.observation_space.shape == (OBS_DIM,) and env.action_space.shape == (ACTION_DIM,)

    repeats = {"4x200": args.repeats, "3x64": args.repeats_small}
    plan = plan_step_part(env, k_plan, repeats, args.seed)
    run = pets_run_part(env, k_run, args.run_repeats, args.run_seeds)
    load_end = os.getloadavg()
    info = device_info("mbrl", "torch", "hydra-core", "omegaconf")
    result = {
        "benchmark": ("pets: one PETS planning step, jwm vs mbrl-lib; "
                      f"{args.run_seeds}-seed PETS runs"),
        "device": info,
        "config": {
            "env": ENV_NAME, "obs_dim": OBS_DIM, "action_dim": ACTION_DIM,
            "ensemble_size": ENSEMBLE, "particles": PARTICLES, "population": POPULATION,
            "horizon": HORIZON, "iterations": ITERATIONS, "elite_ratio": ELITE_RATIO,
            "alpha": ALPHA, "propagation": "ts_inf (mbrl-lib fixed_model)",
            "activation": "silu", "hidden": {k: list(v) for k, v in HIDDEN.items()},
            "repeats": repeats, "rounds": "one call per method per round",
            "warmup_calls": WARMUP_CALLS,
            "run_repeats": args.run_repeats, "seed": args.seed,
            "timing": "perf_counter per call, blocking, gc off, round-robin",
        },
        "plan_step": plan,
        "pets_run": run,
        "checks": checks(plan, run),
        "differences": DIFFERENCES,
        "loadavg_start": list(load_start),
        "loadavg_end": list(load_end),
        "timestamp": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    write_results(args.out, "pets", result, markdown(result))
    return result


if __name__ == "__main__":
    main()

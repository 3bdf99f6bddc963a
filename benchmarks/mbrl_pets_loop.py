"""Peer: mbrl-lib's whole PETS loop on gymnasium's Pendulum-v1, timed, for comparison
with jwm's whole PETS run (``jwm.recipes.pets`` / ``jwm.agents.pets``).

The loop is the one of mbrl-lib's own ``mbrl.algorithms.pets.train``, put together
from the same mbrl-lib helpers (no hydra app; the configuration is an OmegaConf node
built here, which is what those helpers read):

1. ``mbrl.util.common.create_one_dim_tr_model`` -> a ``GaussianMLP`` ensemble wrapped in
   a ``OneDTransitionRewardModel`` (delta targets, normalised inputs, learned reward);
   ``create_replay_buffer``;
2. ``rollout_agent_trajectories`` with ``mbrl.planning.RandomAgent`` for the first
   ``random_episodes`` episodes (the replay buffer's seed data);
3. ``ModelEnv`` (no termination) and ``create_trajectory_optim_agent_for_model`` ->
   ``TrajectoryOptimizerAgent`` with a ``CEMOptimizer``, replanning every step;
4. per planned episode: ``train_model_and_save_model_and_data`` (a ``ModelTrainer`` fit
   on all data so far for a fixed ``epochs`` epochs: ``patience=0`` turns mbrl-lib's
   early stopping off), then ``steps_per_episode`` x ``step_env_and_add_to_buffer``.

The settings mirror jwm's PETS recipe for Pendulum (``src/jwm/recipes/pets.py``,
``jwm.models.fit``): 5 probabilistic SiLU members of 3 x 64 with learned log-variance
bounds, 20 particles TS-inf (mbrl-lib ``fixed_model``), CEM population 200, horizon 25,
5 iterations, elite ratio 0.1, alpha 0.1, clipped-normal sampling; fits of 100 epochs,
batch 32 per member, bootstrap, 10 % hold-out, lr 1e-3, weight decay 5e-5.
``DIFFERENCES`` (also in the result) lists what cannot be matched.

Timing: ``fit_s`` is the model fitting (normaliser update, data split and
``ModelTrainer.train``), ``plan_s`` the ``agent.act`` calls of the planned episodes,
``act_s`` the planned episodes' whole loop (``plan_s`` plus env steps and buffer adds),
``random_s`` the random episodes, ``setup_s`` building the model, buffer, env and agent,
``total_s`` all of it (from before the build to the end; imports excluded).

Usage::

    python benchmarks/mbrl_pets_loop.py --episodes 10 --threads 1 --out FILE.json

Needs torch, gymnasium, hydra-core, omegaconf (``pip install -e .[peers]``) and
``pip install --no-deps mbrl==0.2.0``. Imports neither jwm nor jax.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from importlib import metadata
from pathlib import Path

import numpy as np

ENV_ID = "Pendulum-v1"

DIFFERENCES = [
    "Optimiser: mbrl-lib's ModelTrainer uses torch.optim.Adam with weight_decay as a "
    "coupled L2 term, and keeps one optimiser (and its Adam moments) across all fits of "
    "the run; jwm uses optax.adamw (decoupled weight decay) with a fresh state per fit. "
    "Same lr 1e-3 and weight decay 5e-5.",
    "Loss: mbrl-lib's Gaussian NLL is mean((mu-y)^2 exp(-logvar) + logvar) per member, "
    "jwm's is half that; both add 0.01 * (sum max_logvar - sum min_logvar), so the "
    "bounds' penalty weighs twice as much relative to the NLL in jwm.",
    "Normalisation: mbrl-lib normalises the model inputs only (in float64, its PETS "
    "default normalize_double_precision=True) and fits raw delta/reward targets; jwm "
    "normalises inputs and targets (float32).",
    "Model selection: mbrl-lib evaluates the hold-out after every epoch and keeps the "
    "whole ensemble's state from the last epoch in which any member improved its best "
    "hold-out MSE by > 1 % (relative); jwm keeps each member's own best epoch. Hold-out "
    "size: mbrl-lib int(0.1 * n), jwm max(floor(0.1 * n), 1); both score the mean "
    "prediction's MSE and train on per-member bootstrap resamples, batch 32 per member.",
    "Fit schedule: mbrl-lib's train fits before each planned episode (episodes - "
    "random_episodes fits); jwm's agent fits after every episode, the last one included "
    "(episodes fits, the last unused for acting). final_fit=True adds that last fit here.",
    "TS-inf: mbrl-lib's fixed_model draws a random particle-to-member assignment per "
    "evaluation and gathers/scatters rows every step; jwm assigns contiguous groups.",
    "CEM: both sample a clipped Gaussian (mbrl-lib clipped_normal=True; its PETS configs "
    "default to a truncated normal) with initial std a quarter of the action range, "
    "alpha 0.1, act on the final mean and warm-start from the shifted previous "
    "solution; mbrl-lib's elite std is unbiased (ddof 1), jwm's ddof 0; jwm also "
    "re-scores the final mean; non-finite returns: mbrl-lib NaN -> -1e-10, jwm -> lowest.",
    "Particles: 20 as the brief asks (jwm's generic PETS default); jwm's Pendulum recipe "
    "(ENV_DEFAULTS) uses 10, so compare with jwm run at the same particles.",
    "Environment: gymnasium's Pendulum-v1 (NumPy, reset(seed) once) vs gymnax's "
    "Pendulum-v1 (JAX); the same dynamics and reward, different random initial states.",
    "Weights: mbrl-lib's truncated-normal initialisation vs jwm's; both start the "
    "learned log-variance bounds at [-10, 0.5], but mbrl-lib's bounds are shared by the "
    "members ([1, out]) and jwm's are per member ([E, out]).",
    "Noise and randomness: torch.Generator / NumPy vs jwm's counter-based keys; torch "
    "runs with set_flush_denormal(True), as XLA's CPU runtime flushes denormals.",
]


def _version(name):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _config(*, ensemble_size, hidden_layers, hidden_size, population, horizon, iterations,
            epochs, batch_size, particles, elite_ratio, alpha, lr, weight_decay,
            holdout_ratio, seed, num_steps, steps_per_episode):
    """The OmegaConf node mbrl-lib's helpers read, as its PETS hydra configs lay it out
    (algorithm/pets.yaml, dynamics_model/gaussian_mlp_ensemble.yaml, action_optimizer/cem.yaml,
    an ``overrides`` group), with this benchmark's values."""
    import omegaconf

    return omegaconf.OmegaConf.create({
        "seed": seed,
        "device": "cpu",
        "dynamics_model": {
            "_target_": "mbrl.models.GaussianMLP",
            # hydra-core >= 1.1 instantiates nested configs by default and would hand
            # GaussianMLP a built SiLU where it expects the activation's config (mbrl-lib
            # 0.2.0 was written for hydra-core 1.0, which did not recurse).
            "_recursive_": False,
            "device": "cpu",
            "num_layers": hidden_layers,
            "in_size": None,  # filled by create_one_dim_tr_model: obs + action
            "out_size": None,  # obs + 1 (learned reward)
            "ensemble_size": ensemble_size,
            "hid_size": hidden_size,
            "deterministic": False,
            "propagation_method": "fixed_model",  # TS-inf
            "learn_logvar_bounds": True,
            "activation_fn_cfg": {"_target_": "torch.nn.SiLU"},
        },
        "algorithm": {
            "name": "pets",
            "agent": {
                "_target_": "mbrl.planning.TrajectoryOptimizerAgent",
                "_recursive_": False,  # the agent instantiates optimizer_cfg itself
                "action_lb": "???",  # filled by complete_agent_cfg from the env
                "action_ub": "???",
                "planning_horizon": horizon,
                "optimizer_cfg": {
                    "_target_": "mbrl.planning.CEMOptimizer",
                    "num_iterations": iterations,
                    "elite_ratio": elite_ratio,
                    "population_size": population,
                    "alpha": alpha,
                    "lower_bound": "???",
                    "upper_bound": "???",
                    "return_mean_elites": True,
                    "device": "cpu",
                    "clipped_normal": True,
                },
                "replan_freq": 1,
                "verbose": False,
            },
            "normalize": True,
            "normalize_double_precision": True,
            "target_is_delta": True,
            "learned_rewards": True,
            "num_particles": particles,
            "dataset_size": num_steps,
        },
        "overrides": {
            "learned_rewards": True,
            "trial_length": steps_per_episode,
            "num_steps": num_steps,
            "model_lr": lr,
            "model_wd": weight_decay,
            "model_batch_size": batch_size,
            "validation_ratio": holdout_ratio,
            "num_epochs_train_model": epochs,
            "patience": 0,  # falsy: ModelTrainer.train never stops early
            "bootstrap_permutes": False,  # bootstrap with replacement
            "planning_horizon": horizon,
        },
    })


def run_mbrl_pets(episodes=10, steps_per_episode=200, ensemble_size=5, hidden_layers=3,
                  hidden_size=64, population=200, horizon=25, iterations=5, epochs=100,
                  batch_size=32, seed=0, threads=None, *, particles=20, random_episodes=1,
                  elite_ratio=0.1, alpha=0.1, lr=1e-3, weight_decay=5e-5,
                  holdout_ratio=0.1, final_fit=False, verbose=True) -> dict:
    """Runs mbrl-lib's PETS loop on Pendulum-v1 and returns settings, timings and returns.

    ``episodes`` counts every episode, the ``random_episodes`` random ones included (as
    jwm's ``episodes``). ``final_fit`` adds a fit after the last episode, as jwm does.
    """
    import gymnasium as gym
    import torch

    import mbrl
    import mbrl.env.termination_fns
    import mbrl.models
    import mbrl.planning
    import mbrl.util.common

    if not 1 <= random_episodes < episodes:
        raise ValueError(f"need 1 <= random_episodes ({random_episodes}) < episodes ({episodes})")
    if (population * particles) % ensemble_size:
        raise ValueError("population * particles must be a multiple of ensemble_size")
    if threads is not None:
        torch.set_num_threads(int(threads))
    torch.set_flush_denormal(True)
    torch.manual_seed(seed)
    num_steps = episodes * steps_per_episode
    settings = dict(
        env=f"gymnasium:{ENV_ID}", episodes=episodes, random_episodes=random_episodes,
        steps_per_episode=steps_per_episode, ensemble_size=ensemble_size,
        hidden_layers=hidden_layers, hidden_size=hidden_size, activation="silu",
        probabilistic=True, learn_logvar_bounds=True, propagation="fixed_model (TS-inf)",
        particles=particles, learned_reward=True, termination="never",
        population=population, horizon=horizon, iterations=iterations,
        elite_ratio=elite_ratio, alpha=alpha, clipped_normal=True, replan_every=1,
        epochs=epochs, early_stopping=False, batch_size=batch_size, lr=lr,
        weight_decay=weight_decay, holdout_ratio=holdout_ratio, bootstrap=True,
        final_fit=final_fit, seed=seed,
    )
    cfg = _config(ensemble_size=ensemble_size, hidden_layers=hidden_layers,
                  hidden_size=hidden_size, population=population, horizon=horizon,
                  iterations=iterations, epochs=epochs, batch_size=batch_size,
                  particles=particles, elite_ratio=elite_ratio, alpha=alpha, lr=lr,
                  weight_decay=weight_decay, holdout_ratio=holdout_ratio, seed=seed,
                  num_steps=num_steps, steps_per_episode=steps_per_episode)

    def log(msg):
        if verbose:
            print(f"[mbrl pets] {msg}", flush=True)

    loadavg_start = list(os.getloadavg())
    t_start = time.perf_counter()
    # ---- as mbrl.algorithms.pets.train: initialisation ----
    env = gym.make(ENV_ID, max_episode_steps=steps_per_episode)
    env.reset(seed=seed)
    env.action_space.seed(seed)
    obs_shape, act_shape = env.observation_space.shape, env.action_space.shape
    rng = np.random.default_rng(seed=seed)
    torch_generator = torch.Generator(device="cpu")
    torch_generator.manual_seed(seed)
    dynamics_model = mbrl.util.common.create_one_dim_tr_model(cfg, obs_shape, act_shape)
    dtype = np.double  # cfg.algorithm.normalize_double_precision
    replay_buffer = mbrl.util.common.create_replay_buffer(
        cfg, obs_shape, act_shape, rng=rng, obs_type=dtype, action_type=dtype,
        reward_type=dtype)
    model_env = mbrl.models.ModelEnv(env, dynamics_model,
                                     mbrl.env.termination_fns.no_termination, None,
                                     generator=torch_generator)
    model_trainer = mbrl.models.ModelTrainer(dynamics_model, optim_lr=lr,
                                             weight_decay=weight_decay, logger=None)
    agent = mbrl.planning.create_trajectory_optim_agent_for_model(
        model_env, cfg.algorithm.agent, num_particles=particles)
    setup_s = time.perf_counter() - t_start

    # ---- seed data: random episodes ----
    t0 = time.perf_counter()
    random_returns = mbrl.util.common.rollout_agent_trajectories(
        env, random_episodes * steps_per_episode, mbrl.planning.RandomAgent(env), {},
        trial_length=steps_per_episode, replay_buffer=replay_buffer)
    random_s = time.perf_counter() - t0
    log(f"random episodes: returns {[round(float(r), 1) for r in random_returns]} "
        f"({random_s:.2f} s)")

    def fit():
        t = time.perf_counter()
        mbrl.util.common.train_model_and_save_model_and_data(
            dynamics_model, model_trainer, cfg.overrides, replay_buffer, work_dir=None)
        return time.perf_counter() - t

    # ---- training loop: fit on everything so far, then one planned episode ----
    per_episode = [{"episode": i, "random": True, "return": float(r), "steps": steps_per_episode,
                    "fit_s": 0.0, "plan_s": 0.0, "act_s": 0.0}
                   for i, r in enumerate(random_returns)]
    env_steps = random_episodes * steps_per_episode
    fit_s = plan_s = act_s = 0.0
    num_fits = 0
    for episode in range(random_episodes, episodes):
        ep_fit_s = fit()
        num_fits += 1
        t_act = time.perf_counter()
        obs, _ = env.reset()
        agent.reset()
        terminated = truncated = False
        total_reward, steps, ep_plan_s = 0.0, 0, 0.0
        while not terminated and not truncated:
            # mbrl.util.common.step_env_and_add_to_buffer, with agent.act timed apart.
            t = time.perf_counter()
            action = agent.act(obs)
            ep_plan_s += time.perf_counter() - t
            next_obs, reward, terminated, truncated, _ = env.step(action)
            replay_buffer.add(obs, action, next_obs, reward, terminated, truncated)
            obs = next_obs
            total_reward += float(reward)
            steps += 1
        ep_act_s = time.perf_counter() - t_act
        env_steps += steps
        fit_s += ep_fit_s
        plan_s += ep_plan_s
        act_s += ep_act_s
        per_episode.append({"episode": episode, "random": False, "return": total_reward,
                            "steps": steps, "fit_s": ep_fit_s, "plan_s": ep_plan_s,
                            "act_s": ep_act_s})
        log(f"episode {episode}: return {total_reward:.1f}, fit {ep_fit_s:.1f} s, "
            f"act {ep_act_s:.1f} s (plan {ep_plan_s:.1f} s), data {replay_buffer.num_stored}")
    final_fit_s = 0.0
    if final_fit:
        final_fit_s = fit()
        num_fits += 1
        fit_s += final_fit_s
    total_s = time.perf_counter() - t_start
    env.close()
    returns = [e["return"] for e in per_episode]
    return {
        "peer": "mbrl-lib PETS loop (mbrl.algorithms.pets.train's steps)",
        "settings": settings,
        "differences": list(DIFFERENCES),
        "versions": {"mbrl": _version("mbrl") or getattr(mbrl, "__version__", None),
                     "torch": torch.__version__, "gymnasium": _version("gymnasium"),
                     "hydra-core": _version("hydra-core"), "omegaconf": _version("omegaconf"),
                     "numpy": np.__version__, "python": platform.python_version()},
        "threads": torch.get_num_threads(),
        "threads_requested": threads,
        "interop_threads": torch.get_num_interop_threads(),
        "flush_denormal": True,
        "cpu_count": os.cpu_count(),
        "loadavg_start": loadavg_start,
        "loadavg_end": list(os.getloadavg()),
        "total_s": total_s,
        "setup_s": setup_s,
        "random_s": random_s,
        "fit_s": fit_s,
        "plan_s": plan_s,
        "act_s": act_s,
        "final_fit_s": final_fit_s,
        "num_fits": num_fits,
        "env_steps": env_steps,
        "planned_steps": env_steps - random_episodes * steps_per_episode,
        "episode_returns": returns,
        "per_episode": per_episode,
    }


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--steps-per-episode", type=int, default=200)
    parser.add_argument("--ensemble-size", type=int, default=5)
    parser.add_argument("--hidden-layers", type=int, default=3)
    parser.add_argument("--hidden-size", type=int, default=64)
    parser.add_argument("--population", type=int, default=200)
    parser.add_argument("--horizon", type=int, default=25)
    parser.add_argument("--iterations", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--particles", type=int, default=20)
    parser.add_argument("--random-episodes", type=int, default=1)
    parser.add_argument("--final-fit", action="store_true",
                        help="fit once more after the last episode, as jwm's agent does")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch.set_num_threads (default: torch's own)")
    parser.add_argument("--out", type=Path, default=None, help="write the result as JSON")
    parser.add_argument("--quiet", action="store_true")
    a = parser.parse_args(argv)
    result = run_mbrl_pets(
        episodes=a.episodes, steps_per_episode=a.steps_per_episode,
        ensemble_size=a.ensemble_size, hidden_layers=a.hidden_layers,
        hidden_size=a.hidden_size, population=a.population, horizon=a.horizon,
        iterations=a.iterations, epochs=a.epochs, batch_size=a.batch_size, seed=a.seed,
        threads=a.threads, particles=a.particles, random_episodes=a.random_episodes,
        final_fit=a.final_fit, verbose=not a.quiet)
    print(f"[mbrl pets] total {result['total_s']:.1f} s: fit {result['fit_s']:.1f} s, "
          f"act {result['act_s']:.1f} s (plan {result['plan_s']:.1f} s), random "
          f"{result['random_s']:.2f} s, setup {result['setup_s']:.2f} s; {result['threads']} "
          f"threads; returns {[round(r, 1) for r in result['episode_returns']]}", flush=True)
    if a.out is not None:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()

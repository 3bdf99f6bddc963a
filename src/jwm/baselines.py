"""Model-free baselines.

`run_ppo`: rejax's PPO on a gymnax env, every seed vmapped into one jitted program,
the evaluation return recorded every ``eval_freq`` env steps; returns a results
record in the schema of docs/design.md.

The sample-efficiency measure they are compared by is `jwm.curves.steps_to_threshold`.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import numpy as np

from jwm.device import device_name

__all__ = ["PPO_CONFIGS", "ppo_config", "make_ppo", "run_ppo"]

# Per-env PPO hyperparameters, starting from rejax's own tuned gymnax configs
# (configs/gymnax/{cartpole,pendulum}.yaml in the rejax repository), with budgets and
# evaluation grids of our choosing. CartPole: rejax's values unchanged (500 env steps
# per update from 5 envs, small tanh networks). Pendulum: rejax's values (observation
# normalisation, swish, gamma 0.995) but 16 envs x 128 steps per update instead of
# 100 x 100 and learning rate 5e-4 instead of 1e-3: with rejax's batch of 10k steps,
# 2 of 5 seeds were still spinning the pole (-480, -690) after 500k steps, while this
# makes 5x more updates per env step and all 5 seeds passed -250 by 390k (a 500k trial).
# PPO needs a few hundred thousand steps here, so the budget is 1M.
PPO_CONFIGS: dict[str, dict[str, Any]] = {
    "gymnax:CartPole-v1": {
        "total_timesteps": 200_000, "eval_freq": 2_000, "eval_episodes": 64,
        "agent_kwargs": {"activation": "tanh", "hidden_layer_sizes": [64, 64]},
        "num_envs": 5, "num_steps": 100, "num_epochs": 5, "num_minibatches": 5,
        "learning_rate": 0.00075, "max_grad_norm": 0.5, "gamma": 0.99, "gae_lambda": 0.95,
        "clip_eps": 0.2, "ent_coef": 0.01, "vf_coef": 0.5, "normalize_rewards": False,
    },
    "gymnax:Pendulum-v1": {
        "total_timesteps": 1_000_000, "eval_freq": 10_000, "eval_episodes": 64,
        "agent_kwargs": {"activation": "swish", "hidden_layer_sizes": [64, 64]},
        "num_envs": 16, "num_steps": 128, "num_epochs": 10, "num_minibatches": 16,
        "learning_rate": 0.0005, "max_grad_norm": 10.0, "gamma": 0.995, "gae_lambda": 0.95,
        "clip_eps": 0.2, "ent_coef": 0.0, "vf_coef": 0.5, "normalize_observations": True,
        "normalize_rewards": False,
    },
    # rejax ships no MinAtar config; these are the usual PPO-on-MinAtar settings (the
    # PureJaxRL / gymnax baselines family: 64 envs x 128 steps, 4 epochs of 8 minibatches,
    # lr 5e-4, entropy 0.01) with rejax's flattening MLP widened to 256 x 256 for the
    # 10 x 10 x 4 image.
    "gymnax:Breakout-MinAtar": {
        "total_timesteps": 1_000_000, "eval_freq": 10_000, "eval_episodes": 64,
        "agent_kwargs": {"activation": "relu", "hidden_layer_sizes": [256, 256]},
        "num_envs": 64, "num_steps": 128, "num_epochs": 4, "num_minibatches": 8,
        "learning_rate": 0.0005, "max_grad_norm": 0.5, "gamma": 0.99, "gae_lambda": 0.95,
        "clip_eps": 0.2, "ent_coef": 0.01, "vf_coef": 0.5, "normalize_rewards": False,
    },
}


def _env_name(env: str) -> str:
    """``"CartPole-v1"`` or ``"gymnax:CartPole-v1"`` -> ``"gymnax:CartPole-v1"``."""
    name = env if ":" in str(env) else f"gymnax:{env}"
    if name not in PPO_CONFIGS:
        raise ValueError(f"env: no PPO configuration for {env!r}; known: {sorted(PPO_CONFIGS)}")
    return name


def ppo_config(env: str, **overrides) -> dict:
    """The PPO configuration for ``env`` (a copy), with ``overrides`` (None values are
    ignored) replacing top-level keys. Raises ValueError for an unknown env or key."""
    config = copy.deepcopy(PPO_CONFIGS[_env_name(env)])
    unknown = sorted(set(overrides) - set(config))
    if unknown:
        raise ValueError(f"overrides: {unknown} are not PPO settings; allowed: {sorted(config)}")
    config.update({k: v for k, v in overrides.items() if v is not None})
    for key in ("total_timesteps", "eval_freq", "eval_episodes"):
        value = config[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{key} must be a positive int, got {value!r}")
    return config


class _DoneEnv:
    """A gymnax env whose ``step`` returns rejax's 5-tuple ``(obs, state, reward, done,
    info)``. gymnax 1.0 returns ``terminated`` and ``truncated`` apart (a 6-tuple), which
    rejax 0.1.3 cannot unpack; ``done`` is their union, as in gymnax before 1.0, so PPO
    sees the env exactly as rejax's tuned configs did (a time limit ends the episode)."""

    def __init__(self, env):
        self._env = env

    def step(self, key, state, action, params=None):
        obs, state, reward, terminated, truncated, info = self._env.step(key, state, action, params)
        return obs, state, reward, terminated | truncated, info

    def __getattr__(self, name):  # reset, spaces, default_params, name, ...
        if name.startswith("__") or name == "_env":
            # copy.deepcopy (rejax copies its config) probes dunders on a bare instance.
            raise AttributeError(name)
        return getattr(self._env, name)


def make_ppo(env: str, config: dict):
    """A rejax ``PPO`` for ``env`` whose ``train(key)`` returns ``(train_state,
    (env_steps [E], greedy_return [E], sampled_return [E]))``: E = 1 + ceil(
    total_timesteps / eval_freq) evaluations, the first before any training. Each is
    the mean return of ``config["eval_episodes"]`` episodes: greedy takes the policy's
    mode (argmax logits, or the Gaussian mean clipped to the action box), sampled draws
    from the policy as rejax's own evaluation does."""
    import gymnax
    import jax.numpy as jnp
    from rejax import PPO
    from rejax.evaluate import evaluate

    name = _env_name(env)
    gym_env, env_params = gymnax.make(name.split(":", 1)[1])
    settings = {k: copy.deepcopy(v) for k, v in config.items() if k != "eval_episodes"}
    episodes = config["eval_episodes"]
    algo = PPO.create(env=_DoneEnv(gym_env), env_params=env_params, **settings)

    def greedy_act(algo, ts):
        space = algo.env.action_space(algo.env_params)

        def act(obs, key):
            if algo.normalize_observations:
                obs = algo.normalize_obs(ts.obs_rms_state, obs)
            mode = algo.actor.apply(ts.actor_ts.params, obs[None],
                                    method=lambda m, x: m._action_dist(x).mode())[0]
            return mode if algo.discrete else jnp.clip(mode, space.low, space.high)

        return act

    def eval_callback(algo, ts, key):
        # The env-step counter comes from the train state, so the grid is what PPO
        # actually consumed (eval_freq is rounded up to whole updates of num_envs x num_steps).
        # Both policies see the same episode keys, so they differ only in the actions.
        limit = algo.env_params.max_steps_in_episode
        _, greedy = evaluate(greedy_act(algo, ts), key, algo.env, algo.env_params, episodes, limit)
        _, sampled = evaluate(algo.make_act(ts), key, algo.env, algo.env_params, episodes, limit)
        return ts.global_step, greedy.mean(), sampled.mean()

    return algo.replace(eval_callback=eval_callback)


def _check_seeds(seeds) -> None:
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"seeds must be a positive int, got {seeds!r}")


def run_ppo(env: str, *, seeds: int, seed: int = 0, **overrides) -> dict:
    """Trains PPO for ``seeds`` seeds as one jitted, vmapped program.

    ``overrides`` replace entries of `ppo_config` (``total_timesteps=``, ``eval_freq=``,
    ``eval_episodes=``, ``learning_rate=``, ...). Returns a results record in the schema
    of docs/design.md: ``env``, ``algorithm``, ``config``, ``seeds``, ``env_steps [E]``,
    ``eval_returns [seeds][E]`` (greedy policy; ``eval_returns_sampled`` beside it),
    ``wall_time_s`` (compile + run), ``compile_time_s``,
    ``device``.
    """
    import jax


    _check_seeds(seeds)
    name = _env_name(env)
    config = ppo_config(name, **overrides)
    algo = make_ppo(name, config)
    keys = jax.random.split(jax.random.key(seed), seeds)
    start = time.perf_counter()
    train = jax.jit(jax.vmap(algo.train)).lower(keys).compile()
    compiled = time.perf_counter()
    _, (env_steps, greedy, sampled) = jax.block_until_ready(train(keys))
    end = time.perf_counter()
    env_steps = np.asarray(env_steps)
    return {
        "env": name,
        "algorithm": "PPO (rejax, model-free)",
        "config": config, "seeds": seeds, "seed": seed,
        "env_steps": env_steps[0].astype(int).tolist(),
        "eval_policy": "greedy (policy mode); eval_returns_sampled: actions drawn from the policy",
        "eval_returns": np.asarray(greedy, np.float64).tolist(),
        "eval_returns_sampled": np.asarray(sampled, np.float64).tolist(),
        "wall_time_s": end - start, "compile_time_s": compiled - start,
        "device": device_name(), "jax": jax.__version__,
    }

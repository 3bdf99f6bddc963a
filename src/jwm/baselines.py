"""Model-free baselines.

`run_baseline`: rejax's PPO or SAC on a gymnax or brax env, every seed vmapped into
one jitted program, the evaluation return recorded every ``eval_freq`` env steps;
returns a results record in the schema of docs/design.md. `run_ppo` is PPO with the
tuned configuration of its env.

The sample-efficiency measure they are compared by is `jwm.curves.steps_to_threshold`.
"""

from __future__ import annotations

import copy
import time
from typing import Any, NamedTuple

import numpy as np

from jwm.device import device_name

__all__ = ["BASELINES", "PPO_CONFIGS", "SAC_CONFIG", "baseline_config", "make_baseline",
           "make_ppo", "ppo_config", "run_baseline", "run_ppo"]

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


# Every other task takes the configuration of its action space: PPO CartPole's for
# discrete actions and PPO Pendulum's for continuous ones (one set per action space,
# as jwm's own agents have), the budget and evaluation grid set by the caller.
PPO_BY_ACTIONS = {"discrete": "gymnax:CartPole-v1", "continuous": "gymnax:Pendulum-v1"}

# SAC (continuous actions): rejax's SAC defaults (one env, a 256-transition batch, one
# update per env step, polyak 0.99, automatic entropy) with 256 x 256 relu networks,
# the usual SAC widths; rejax ships no gymnax SAC config to start from.
SAC_CONFIG: dict[str, Any] = {
    "total_timesteps": 50_000, "eval_freq": 2_500, "eval_episodes": 16,
    "agent_kwargs": {"activation": "relu", "hidden_layer_sizes": [256, 256]},
    "num_envs": 1, "learning_rate": 0.0003, "gamma": 0.99, "polyak": 0.99,
    "buffer_size": 100_000, "fill_buffer": 1_000, "batch_size": 256,
    "target_entropy_ratio": 0.98, "normalize_observations": False,
}
BASELINES = ("ppo", "sac")


class _EnvParams(NamedTuple):
    max_steps_in_episode: int


class _GymnaxView:
    """A jwm env (`jwm.envs.Env`) seen as a gymnax env, for rejax: ``reset(key,
    params) -> (obs, state)``, and ``step`` returning ``(obs, state, reward, done,
    info)`` that resets itself when an episode ends, as gymnax's does. Written here
    because rejax's own brax adapter calls a gymnax 0.x method that gymnax 1.x no
    longer has; through jwm's env contract every suite jwm makes (brax included)
    runs the baselines the same way."""

    def __init__(self, env):
        import gymnax

        from jwm import spaces

        self._env = env
        self.default_params = _EnvParams(int(env.max_episode_steps or 1000))
        space = env.action_space
        if isinstance(space, spaces.Discrete):
            self._actions = gymnax.environments.spaces.Discrete(int(space.n))
        else:
            self._actions = gymnax.environments.spaces.Box(space.low, space.high, space.shape)
        obs = env.observation_space
        self._observations = gymnax.environments.spaces.Box(obs.low, obs.high, obs.shape)
        self.name = env.name

    def reset(self, key, params=None):
        state, obs = self._env.reset(key)
        return obs, state

    def step(self, key, state, action, params=None):
        import jax

        key_step, key_reset = jax.random.split(key)
        t = self._env.transition(key_step, state, action)
        fresh_state, fresh_obs = self._env.reset(key_reset)
        done = t.terminated | t.truncated
        state = jax.tree.map(lambda a, b: jax.numpy.where(done, a, b), fresh_state, t.state)
        obs = jax.numpy.where(done, fresh_obs, t.obs)
        return obs, state, t.reward, done, {}

    def action_space(self, params=None):
        return self._actions

    def observation_space(self, params=None):
        return self._observations


def _rejax_env(env: str):
    """``(gymnax-style env, params)`` of a jwm env name: gymnax's own env for
    ``gymnax:<id>`` (as rejax's tuned configs saw it), any other through
    `_GymnaxView`."""
    suite, _, name = str(env).partition(":")
    if not name:
        suite, name = "gymnax", suite
    if suite == "gymnax":
        import gymnax

        return gymnax.make(name)
    from jwm import envs

    view = _GymnaxView(envs.make(env))
    return view, view.default_params


def _is_discrete(env: str) -> bool:
    import gymnax

    gym_env, params = _rejax_env(env)
    return isinstance(gym_env.action_space(params), gymnax.environments.spaces.Discrete)


def baseline_config(algorithm: str, env: str, **overrides) -> dict:
    """The configuration of baseline ``algorithm`` (``"ppo"`` or ``"sac"``) on
    ``env``: a tuned one where `PPO_CONFIGS` has the env, else that of its action
    space; ``overrides`` (None values ignored) replace top-level keys. With
    ``total_timesteps`` given and ``eval_freq`` not, about twenty evaluations are
    spread over the budget in whole updates.

    Raises:
      ValueError: an unknown algorithm or key, a bad budget.
      TypeError: SAC on discrete actions.
    """
    if algorithm not in BASELINES:
        raise ValueError(f"algorithm must be one of {BASELINES}, got {algorithm!r}")
    name = env if ":" in str(env) else f"gymnax:{env}"
    discrete = _is_discrete(name)
    if algorithm == "sac":
        if discrete:
            raise TypeError(f"env: SAC takes continuous actions; {name} has discrete ones")
        base = SAC_CONFIG
    else:
        base = PPO_CONFIGS.get(name) or PPO_CONFIGS[
            PPO_BY_ACTIONS["discrete" if discrete else "continuous"]]
    config = copy.deepcopy(base)
    overrides = {k: v for k, v in overrides.items() if v is not None}
    unknown = sorted(set(overrides) - set(config))
    if unknown:
        raise ValueError(f"overrides: {unknown} are not {algorithm.upper()} settings; "
                         f"allowed: {sorted(config)}")
    config.update(overrides)
    if "total_timesteps" in overrides and "eval_freq" not in overrides:
        config["eval_freq"] = _twentieth(algorithm, config)
    for key in ("total_timesteps", "eval_freq", "eval_episodes"):
        value = config[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{key} must be a positive int, got {value!r}")
    return config


def _twentieth(algorithm: str, config: dict) -> int:
    """About a twentieth of the budget between evaluations, in whole updates: rejax
    runs at least one update (``num_envs x num_steps`` env steps for PPO) between
    evaluations, so a shorter interval would run past the budget."""
    batch = config["num_envs"] * (config["num_steps"] if algorithm == "ppo" else 1)
    updates = -(-config["total_timesteps"] // batch)
    return -(-updates // min(20, updates)) * batch


def _env_name(env: str) -> str:
    """``"CartPole-v1"`` or ``"gymnax:CartPole-v1"`` -> ``"gymnax:CartPole-v1"``."""
    name = env if ":" in str(env) else f"gymnax:{env}"
    if name not in PPO_CONFIGS:
        raise ValueError(f"env: no PPO configuration for {env!r}; known: {sorted(PPO_CONFIGS)}")
    return name


def ppo_config(env: str, **overrides) -> dict:
    """The tuned PPO configuration for ``env`` (a copy), with ``overrides`` (None
    values are ignored) replacing top-level keys. Raises ValueError for an unknown
    env or key."""
    _env_name(env)
    overrides.setdefault("eval_freq", PPO_CONFIGS[_env_name(env)]["eval_freq"])
    return baseline_config("ppo", env, **overrides)


class _DoneEnv:
    """A gymnax env whose ``step`` returns rejax's 5-tuple ``(obs, state, reward, done,
    info)``. gymnax 1.0 returns ``terminated`` and ``truncated`` apart (a 6-tuple), which
    rejax 0.1.3 cannot unpack; ``done`` is their union, as in gymnax before 1.0, so the
    baselines see the env exactly as rejax's tuned configs did (a time limit ends the
    episode)."""

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


def make_baseline(algorithm: str, env: str, config: dict):
    """A rejax ``PPO`` or ``SAC`` for ``env`` whose ``train(key)`` returns
    ``(train_state, (env_steps [E], greedy_return [E], sampled_return [E]))``: E = 1 +
    ceil(total_timesteps / eval_freq) evaluations, the first before any training. Each
    is the mean return of ``config["eval_episodes"]`` episodes: greedy takes the
    policy's mode (argmax logits; the Gaussian mean, squashed by SAC's tanh, inside the
    action box), sampled draws from the policy as rejax's own evaluation does."""
    import jax.numpy as jnp
    from rejax import PPO, SAC
    from rejax.evaluate import evaluate

    gym_env, env_params = _rejax_env(env)
    if str(env).partition(":")[0] in ("gymnax", str(env)):
        gym_env = _DoneEnv(gym_env)
    settings = {k: copy.deepcopy(v) for k, v in config.items() if k != "eval_episodes"}
    episodes = config["eval_episodes"]
    algo = {"ppo": PPO, "sac": SAC}[algorithm].create(env=gym_env, env_params=env_params,
                                                       **settings)

    def greedy_act(algo, ts):
        space = algo.env.action_space(algo.env_params)

        def act(obs, key):
            if getattr(algo, "normalize_observations", False):
                obs = algo.normalize_obs(ts.obs_rms_state, obs)
            mode = algo.actor.apply(ts.actor_ts.params, obs[None],
                                    method=lambda m, x: m._action_dist(x).mode())[0]
            if algorithm == "sac":
                mode = (space.low + space.high) / 2 + jnp.tanh(mode) * (space.high - space.low) / 2
            return mode if algo.discrete else jnp.clip(mode, space.low, space.high)

        return act

    def eval_callback(algo, ts, key):
        # The env-step counter comes from the train state, so the grid is what the
        # algorithm actually consumed (eval_freq is rounded up to whole updates).
        # Both policies see the same episode keys, so they differ only in the actions.
        limit = algo.env_params.max_steps_in_episode
        _, greedy = evaluate(greedy_act(algo, ts), key, algo.env, algo.env_params, episodes, limit)
        _, sampled = evaluate(algo.make_act(ts), key, algo.env, algo.env_params, episodes, limit)
        return ts.global_step, greedy.mean(), sampled.mean()

    return algo.replace(eval_callback=eval_callback)


def make_ppo(env: str, config: dict):
    """`make_baseline` of PPO."""
    return make_baseline("ppo", env, config)


def _check_seeds(seeds) -> None:
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"seeds must be a positive int, got {seeds!r}")


def run_baseline(algorithm: str, env: str, *, seeds: int, seed: int = 0, **overrides) -> dict:
    """Trains baseline ``algorithm`` (``"ppo"`` or ``"sac"``) for ``seeds`` seeds as one
    jitted, vmapped program.

    ``overrides`` replace entries of `baseline_config` (``total_timesteps=``,
    ``eval_freq=``, ``eval_episodes=``, ``learning_rate=``, ...). Returns a results
    record in the schema of docs/design.md: ``env``, ``algorithm``, ``config``,
    ``seeds``, ``env_steps [E]``, ``eval_returns [seeds][E]`` (greedy policy;
    ``eval_returns_sampled`` beside it), ``wall_time_s`` (compile + run),
    ``compile_time_s``, ``device``.
    """
    import jax

    _check_seeds(seeds)
    name = env if ":" in str(env) else f"gymnax:{env}"
    config = baseline_config(algorithm, name, **overrides)
    algo = make_baseline(algorithm, name, config)
    keys = jax.random.split(jax.random.key(seed), seeds)
    start = time.perf_counter()
    train = jax.jit(jax.vmap(algo.train)).lower(keys).compile()
    compiled = time.perf_counter()
    _, (env_steps, greedy, sampled) = jax.block_until_ready(train(keys))
    end = time.perf_counter()
    env_steps = np.asarray(env_steps)
    return {
        "env": name,
        "algorithm": f"{algorithm.upper()} (rejax, model-free)", "agent": algorithm,
        "config": config, "seeds": seeds, "seed": seed,
        "env_steps": env_steps[0].astype(int).tolist(),
        "eval_policy": "greedy (policy mode); eval_returns_sampled: actions drawn from the policy",
        "eval_returns": np.asarray(greedy, np.float64).tolist(),
        "eval_returns_sampled": np.asarray(sampled, np.float64).tolist(),
        "wall_time_s": end - start, "compile_time_s": compiled - start,
        "device": device_name(), "jax": jax.__version__,
    }


def run_ppo(env: str, *, seeds: int, seed: int = 0, **overrides) -> dict:
    """`run_baseline` of PPO with the tuned configuration of ``env`` (`ppo_config`)."""
    _env_name(env)
    overrides.setdefault("eval_freq", PPO_CONFIGS[_env_name(env)]["eval_freq"])
    return run_baseline("ppo", env, seeds=seeds, seed=seed, **overrides)

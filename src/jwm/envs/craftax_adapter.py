"""Craftax (Matthews et al., 2024), the JAX benchmark of open-ended survival and
crafting built for world models and exploration, behind the `Env` record.

``make("craftax:Craftax-Classic-Symbolic-v1")`` (the Crafter rules, a flat symbolic
observation of 1,345 features) and the other names craftax registers. Its rules are
pure functions, so `jwm.models.true_model` plans with them.
"""

from __future__ import annotations

import jax

from jwm.envs.base import Env, scalar_transition
from jwm.envs.gymnax_adapter import gymnax_space
from jwm.keys import with_typed_key

__all__ = ["NAMES", "from_craftax"]

NAMES = ("Craftax-Classic-Symbolic-v1", "Craftax-Classic-Pixels-v1", "Craftax-Symbolic-v1",
         "Craftax-Pixels-v1")


def from_craftax(env, env_params=None, *, name: str | None = None) -> Env:
    """Wraps a craftax environment built without auto-reset.

    Craftax ends an episode when the player dies or after ``max_timesteps`` steps
    (10,000 by default) and reports both as ``done``; here the time limit is
    ``truncated`` and death ``terminated``, as the other adapters keep them apart.
    """
    params = env.default_params if env_params is None else env_params
    with jax.ensure_compile_time_eval():
        action_space = gymnax_space(env.action_space(params))
        observation_space = gymnax_space(env.observation_space(params))

    def reset(key):
        obs, state = env.reset_env(key, params)
        return state, obs

    def transition(key, state, action):
        obs, next_state, reward, done, _ = env.step_env(key, state, action, params)
        truncated = next_state.timestep >= params.max_timesteps
        return scalar_transition(next_state, obs, reward, done & ~truncated, truncated)

    name = name or f"craftax:{env.name}"
    return Env(reset=with_typed_key(reset, 0, where=f"{name} reset"),
               transition=with_typed_key(transition, 0, where=f"{name} transition"),
               observation_space=observation_space, action_space=action_space,
               max_episode_steps=int(params.max_timesteps), name=name,
               observe=env.get_obs)

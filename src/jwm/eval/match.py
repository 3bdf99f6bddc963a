"""Matches between two players of a two-player zero-sum game (`Env` with
``num_players=2``, e.g. ``jwm.envs.make("pgx:connect_four")``).

A player is a `Policy` and its params: a trained agent (``agent.policy``,
``agent.policy_params(state)``), `random_player`, `rollout_mcts_player`, or any
user's `Policy`. `match` plays ``games`` games, half with each player moving first,
every half as one vmapped batch, and reports player A's wins, draws and losses with
95% Wilson intervals.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jwm.checks import check_int
from jwm.keys import as_typed_key
from jwm.policy import Policy, planner_policy
from jwm.records import record_repr

__all__ = ["MatchResult", "match", "play_both_sides", "play_games", "random_player", "rollout_mcts_player",
           "wilson_interval"]


class MatchResult(NamedTuple):
    """Player A's results over the games of a `match`.

    Attributes:
      wins, draws, losses: ints, A's.
      games: int, their sum.
      win_rate, loss_rate: fractions of the games.
      win_interval, loss_interval: 95% Wilson score intervals of those rates.
      outcomes: ``[games]`` +1 / 0 / -1 from A's side; the first half with A moving
        first.
      lengths: ``[games]`` plies played.
    """

    wins: int
    draws: int
    losses: int
    games: int
    win_rate: float
    loss_rate: float
    win_interval: tuple
    loss_interval: tuple
    outcomes: Any
    lengths: Any

    __repr__ = record_repr


def wilson_interval(successes: int, trials: int, z: float = 1.959964) -> tuple:
    """The Wilson score interval of a binomial rate (95% by default); unlike the
    normal approximation it stays inside [0, 1] and is not empty at 0 or n successes."""
    if trials == 0:
        return (0.0, 1.0)
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return (max(0.0, centre - half), min(1.0, centre + half))


def random_player(env) -> tuple[Policy, Any]:
    """``(policy, params)`` of a player choosing uniformly among the legal actions."""
    legal = _legal_fn(env, "random_player")

    def act(params, carry, state, key):
        mask = legal(state)
        action = jax.random.categorical(key, jnp.where(mask, 0.0, -jnp.inf))
        return action.astype(jnp.int32), carry, ()

    return Policy(init=lambda params, key: (), act=act, observes_state=True), ()


def rollout_mcts_player(env, *, num_simulations: int, rollout_depth: int | None = None,
                        rule: str = "uct") -> tuple[Policy, Any]:
    """``(policy, params)`` of classic MCTS on the true rules: UCT (by default) whose
    leaves are valued by one uniformly random rollout to the end of the game
    (``rollout_depth`` plies, default the game's longest length), acting by the most
    visited move."""
    from jwm.models import true_model
    from jwm.planners import mcts

    _legal_fn(env, "rollout_mcts_player")
    depth = env.max_episode_steps if rollout_depth is None else rollout_depth
    model = true_model(env)
    planner = mcts(model, env.action_space, num_simulations=num_simulations, rule=rule,
                   rollout_depth=check_int("rollout_mcts_player", "rollout_depth",
                                                    depth),
                   temperature=0.0)
    return planner_policy(model, planner), ()


def _legal_fn(env, where):
    if getattr(env, "num_players", 1) != 2 or getattr(env, "legal_actions", None) is None:
        raise ValueError(f"{where}: env must be a two-player game with legal_actions "
                         f"(e.g. jwm.envs.make('pgx:tic_tac_toe')), got {env.name!r}")
    return env.legal_actions


def play_games(env, first, second, key, *, games: int, plies: int):
    """``games`` games with ``first`` moving first, vmapped (pure; jit it):
    ``(first's outcome [games] in {-1, 0, 1}, plies played [games])``."""
    (p1, params1), (p2, params2) = first, second

    def one_game(key):
        k_reset, k1, k2, k_plies = jax.random.split(key, 4)
        state, obs = env.reset(k_reset)
        carries = (p1.init(params1, k1), p2.init(params2, k2))

        def move(policy, params, carry, state, obs, done, key, sign):
            k_act, k_env = jax.random.split(key)
            seen = state if policy.observes_state else obs
            action, carry, _ = policy.act(params, carry, seen, k_act)
            t = env.transition(k_env, state, action)
            keep = lambda new, old: jax.tree.map(lambda a, b: jnp.where(done, b, a), new, old)
            score = jnp.where(done, 0.0, sign * t.reward)
            return (keep(t.state, state), keep(t.obs, obs), carry, done | t.done, score,
                    (~done).astype(jnp.int32))

        def pair(loop, key):
            state, obs, (c1, c2), done, score, length = loop
            ka, kb = jax.random.split(key)
            state, obs, c1, done, s1, n1 = move(p1, params1, c1, state, obs, done, ka, 1.0)
            state, obs, c2, done, s2, n2 = move(p2, params2, c2, state, obs, done, kb, -1.0)
            return (state, obs, (c1, c2), done, score + s1 + s2, length + n1 + n2), None

        loop = (state, obs, carries, jnp.zeros((), bool), jnp.zeros(()), jnp.zeros((), jnp.int32))
        (_, _, _, _, score, length), _ = jax.lax.scan(
            pair, loop, jax.random.split(k_plies, (plies + 1) // 2))
        return jnp.sign(score), length

    return jax.vmap(one_game)(jax.random.split(key, games))


def play_both_sides(env, player_a, player_b, key, *, games: int, plies: int):
    """`play_games` with A moving first in the first ``games // 2`` (rounded up) games
    and B in the rest (pure; jit it): ``(A's outcome [games], plies played [games])``."""
    k_first, k_second = jax.random.split(key)
    a_first = -(-games // 2)
    outcomes, lengths = play_games(env, player_a, player_b, k_first, games=a_first,
                                   plies=plies)
    if games == a_first:
        return outcomes, lengths
    b_outcomes, b_lengths = play_games(env, player_b, player_a, k_second,
                                       games=games - a_first, plies=plies)
    return (jnp.concatenate([outcomes, -b_outcomes]),
            jnp.concatenate([lengths, b_lengths]))


def match(env, player_a, player_b, key, *, games: int, max_plies: int | None = None
          ) -> MatchResult:
    """Plays ``games`` games of ``env`` between ``player_a`` and ``player_b`` (each a
    ``(Policy, params)`` pair); A moves first in the first ``games // 2`` (rounded
    up), B in the rest. ``max_plies`` bounds a game (default the env's
    ``max_episode_steps``); a game still running then counts as a draw. Runs one
    jitted program of two vmapped batches (`play_both_sides`). Typed or legacy keys."""
    _legal_fn(env, "match")
    games = check_int("match", "games", games)
    plies = check_int("match", "max_plies (or the env's max_episode_steps)",
                               env.max_episode_steps if max_plies is None else max_plies)
    (policy_a, params_a), (policy_b, params_b) = player_a, player_b
    outcomes, lengths = jax.jit(lambda x, y, k: play_both_sides(
        env, (policy_a, x), (policy_b, y), k, games=games, plies=plies))(
        params_a, params_b, as_typed_key(key, where="match"))
    wins, losses = int((outcomes > 0).sum()), int((outcomes < 0).sum())
    return MatchResult(wins=wins, draws=games - wins - losses, losses=losses, games=games,
                       win_rate=wins / games, loss_rate=losses / games,
                       win_interval=wilson_interval(wins, games),
                       loss_interval=wilson_interval(losses, games),
                       outcomes=outcomes, lengths=lengths)

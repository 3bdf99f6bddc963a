"""MuZero (Schrittwieser et al., 2020) with Gumbel MuZero's search (Danihelka et al.,
2022) and reanalyse: self-play with `jwm.planners.mcts` inside a learned model, a
prioritised replay of sequences, K-step unrolled training.

An `Agent`: ``init`` builds the network, its optimizer and target copy, and fills the
replay with ``prefill`` self-play steps of the untrained network; each iteration
(``step``) takes ``eval_every`` env steps in phases of ``train_every`` (self-play in
``num_envs`` parallel envs, then ``train_steps`` updates) and ends with an evaluation
of the search without exploration noise.

One update: sample ``batch_size`` sequences of ``unroll_steps + n_step + 1`` rows by
priority (flashbax); compute n-step value targets bootstrapped from the target
network (`jwm.models.muzero_loss`); for the first ``reanalyse_fraction`` of the batch,
search the first ``unroll_steps + 1`` observations again with the current network and
use those search policies as targets instead of the stored ones (MuZero Reanalyse);
take one optimizer step on the unrolled loss; set the sampled sequences' priorities
to their value error; copy the network to the target every ``target_update_every``
updates.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import NamedTuple

import flashbax
import jax
import jax.numpy as jnp
import optax

from jwm.agents.checks import check_schedule, check_spaces, part_config
from jwm.agents.contract import Agent, AgentState, ModelOptState, SearchMetrics, strong_types
from jwm.agents.episode import evaluate
from jwm.agents.muzero_parts import MuZeroSearch, muzero_optimizer, muzero_search
from jwm.agents.muzero_update import make_update
from jwm.agents.self_play import self_play
from jwm.checks import check_fields, check_int, check_real
from jwm.eval.match import play_both_sides, random_player
from jwm.keys import as_typed_key
from jwm.models.muzero_loss import MuZeroLossMetrics
from jwm.policy import planner_policy
from jwm.records import record_repr

__all__ = ["MuZeroMetrics", "muzero"]


class MuZeroMetrics(NamedTuple):
    """What one MuZero iteration (``eval_every`` env steps) measured.

    Attributes:
      env_steps: int32 env steps collected (summed over the parallel envs), the
        prefill included.
      eval_return: mean undiscounted return of ``eval_episodes`` episodes acting by
        search without exploration noise (two-player games: the mean outcome against
        the opponent).
      train_return: mean return of the self-play episodes that ended in the
        iteration (NaN if none did; two-player games: the fraction decisive).
      num_nonfinite: int32 non-finite model outputs met by self-play searches.
      model: `MuZeroLossMetrics` of the iteration's last update (its ``priorities``
        averaged).
      search: `SearchMetrics` of the iteration's self-play.
    """

    env_steps: jax.Array
    eval_return: jax.Array
    train_return: jax.Array
    num_nonfinite: jax.Array
    model: MuZeroLossMetrics
    search: SearchMetrics

    __repr__ = record_repr


def _default_temperature(prefill, run_steps):
    """MuZero's schedule over env steps: 1, then 0.5 after half the run after the
    prefill (``run_steps``), 0.25 after three quarters."""
    return optax.piecewise_constant_schedule(
        1.0, {prefill + run_steps // 2: 0.5, prefill + (3 * run_steps) // 4: 0.5})


def muzero(env, model, *, search: MuZeroSearch | None = None, optimizer=None,
           total_steps: int = 50_120, num_envs: int = 8, unroll_steps: int = 5,
           n_step: int = 5, batch_size: int = 256, train_every: int = 40,
           train_steps: int = 10, value_coef: float = 0.25, target_update_every: int = 100,
           reanalyse_fraction: float = 0.0, priority_exponent: float = 1.0,
           importance_exponent: float = 1.0, capacity: int | None = None,
           prefill: int | None = None, eval_every: int = 5_000, eval_episodes: int = 8,
           eval_steps: int | None = None, random_opening: int = 0, opponent=None) -> Agent:
    """Builds the MuZero `Agent`.

    Args:
      env: an `Env` with Discrete actions.
      model: a `MuZeroModel` for ``env``'s spaces (`jwm.models.muzero_model`).
      search: the `MuZeroSearch` (self-play and greedy searches, how self-play acts,
        the discount), default `muzero_search(model, env.action_space)`: Gumbel
        MuZero, 16 simulations, discount 0.997.
      optimizer: the network's optax optimizer, or a function of the run's number of
        updates returning one (for a schedule over the run, e.g.
        ``functools.partial(muzero_optimizer, final_learning_rate=3e-4)``); default
        `muzero_optimizer`: AdamW 3e-3, weight decay 1e-4, global-norm clip 5.
      total_steps: env steps of a full run, summed over envs, the prefill (as
        collected, in whole phases of ``train_every``) included: the prefill plus
        ``agent.iterations`` periods of ``eval_every`` (the default: a prefill of 120
        env steps, then 10 periods of 5,000).
      num_envs: environments in self-play, stepped in parallel.
      unroll_steps: K, the dynamics steps unrolled per sequence.
      n_step: steps of the bootstrapped value targets.
      batch_size: sequences per update.
      train_every: env steps (summed over envs) between training phases; a multiple of
        ``num_envs``. The replay ratio is ``train_steps * batch_size / train_every``
        sequences per env step.
      train_steps: updates per phase.
      value_coef: weight of the value loss.
      target_update_every: updates between copies of the network to the target
        network that bootstraps the value targets.
      reanalyse_fraction: in [0, 1]; that fraction of each batch gets fresh policy
        targets from a search with the current network.
      priority_exponent: alpha in (0, 1]: sequences are sampled with probability
        proportional to ``priority ** alpha`` (priority = value error at the first step;
        new rows get the largest seen).
      importance_exponent: beta >= 0 of the importance weights ``(p_min / p) ** beta``
        (normalised by the batch's largest).
      capacity: rows the replay keeps (default: the whole run).
      prefill: self-play steps of the untrained network before the first update
        (default: enough for one sequence per env), collected in whole phases of
        ``train_every``.
      eval_every: env steps between evaluations, after the prefill; a multiple of
        ``train_every``.
      eval_episodes: evaluation episodes, run in parallel; ``eval_steps`` their
        length (default the env's time limit).
      random_opening: plies at the start of every self-play episode played uniformly
        at random among the legal moves (searched all the same, for their targets);
        board games use it so that self-play meets every opening.
      opponent: two-player games only: the ``(Policy, params)`` evaluated against
        (default `jwm.eval.random_player`).

    AlphaZero is this agent with `jwm.models.alphazero_model` (the true rules as the
    dynamics, ``unroll_steps=0``). In a two-player game (``env.num_players == 2``)
    self-play plays both sides with one network, value targets flip sign every ply
    (the discount of the targets is ``-discount``), ``eval_return`` is the mean outcome
    (+1 win, 0 draw, -1 loss) of ``eval_episodes`` games against ``opponent``, half of
    them moving first, and ``train_return`` the fraction of decisive self-play games.

    Returns:
      an `Agent` (``name="muzero"``, or ``"alphazero"`` with the true rules as model)
      whose ``step`` returns `MuZeroMetrics`; its policy is the greedy search, params
      ``model_params``.
    """
    name = "muzero" if getattr(model, "recurrent", None) is not None else "alphazero"
    _check_parts(name, env, model)
    if search is None:
        search = muzero_search(model, env.action_space)
    check_fields(name, "search", search, ("self_play", "greedy", "temperature", "discount"),
                 what="a MuZeroSearch (jwm.agents.muzero_search)")
    c = _settings(name, env, model, search, dict(
        total_steps=total_steps, num_envs=num_envs, unroll_steps=unroll_steps,
        n_step=n_step, batch_size=batch_size, train_every=train_every,
        train_steps=train_steps, value_coef=value_coef,
        target_update_every=target_update_every, reanalyse_fraction=reanalyse_fraction,
        priority_exponent=priority_exponent, importance_exponent=importance_exponent,
        capacity=capacity, prefill=prefill, eval_every=eval_every,
        eval_episodes=eval_episodes, eval_steps=eval_steps, random_opening=random_opening))
    if optimizer is None:
        optimizer = muzero_optimizer
    tx = optimizer if isinstance(optimizer, optax.GradientTransformation) else optimizer(
        c.num_updates)
    sequence = c.unroll_steps + c.n_step + 1
    replay = flashbax.make_prioritised_trajectory_buffer(
        add_batch_size=c.num_envs, sample_batch_size=c.batch_size,
        sample_sequence_length=sequence, period=1, min_length_time_axis=sequence,
        max_length_time_axis=c.capacity // c.num_envs, priority_exponent=c.priority_exponent)
    policy = planner_policy(model, search.greedy)
    players = self_play(env, model, search.self_play, num_envs=c.num_envs,
                        steps=c.train_every // c.num_envs, sample_action=c.samples,
                        random_opening=c.random_opening)
    update = make_update(model, search.greedy, replay, tx, discount=c.target_discount,
                         n_step=c.n_step, unroll_steps=c.unroll_steps,
                         reanalysed=c.reanalysed, value_coef=c.value_coef,
                         importance_exponent=c.importance_exponent,
                         target_update_every=c.target_update_every)

    evaluation = _evaluation(env, policy, opponent, c.eval_episodes, c.eval_steps)
    init, step = _loop(name, model, c, players, replay, update, tx, evaluation)
    return Agent(name=name, init=init, step=step, iterations=c.iterations,
                 policy=policy, policy_params=lambda state: state.model_params,
                 config=dict(env=env.name, **c.config, search=search.config,
                             optimizer=_optimizer_config(optimizer),
                             model=part_config(model)))


def _loop(name, model, c, players, replay, update, tx, evaluation):
    """``(init, step)`` of the agent from its parts: self-play ``players``, the
    ``replay``, one ``update`` by ``tx``, and the ``evaluation(params, key)``."""

    def collect(state: AgentState, key):
        temp = c.temperature_schedule(state.env_steps)
        env_carry, rows, finished, nonfinite = players.collect(state.env, state.model_params,
                                                               key, temp)
        state = state._replace(env=env_carry, buffer=replay.add(state.buffer, rows),
                               env_steps=state.env_steps + c.train_every)
        return state, (finished, nonfinite, rows.root_value.mean(), temp)

    def phase(state: AgentState, key):
        k_collect, k_train = jax.random.split(key)
        state, collected = collect(state, k_collect)
        state, losses = jax.lax.scan(update, state, jax.random.split(k_train, c.train_steps))
        return state, (collected, jax.tree.map(lambda x: x[-1], losses))

    def init(key) -> AgentState:
        key, k_model, k_env, k_prefill = jax.random.split(
            as_typed_key(key, where=f"{name}.init"), 4)
        params = model.init(k_model)
        env_carry = players.init(k_env)
        rows = jax.eval_shape(lambda: players.collect(env_carry, params, k_prefill, 1.0)[1])
        example = jax.tree.map(lambda s: jnp.zeros(s.shape[2:], s.dtype), rows)
        zero = jnp.zeros((), jnp.int32)
        state = AgentState(key=key, iteration=zero, env_steps=zero, updates=zero,
                           model_params=params,
                           model_opt=ModelOptState(optimizer=tx.init(params),
                                                   target_params=params),
                           learner=(), buffer=replay.init(example), env=env_carry)
        state, _ = jax.lax.scan(lambda s, k: (collect(s, k)[0], None), state,
                                jax.random.split(k_prefill, c.prefill_chunks))
        return strong_types(state)

    def step(state: AgentState):
        key, k_phases, k_eval = jax.random.split(state.key, 3)
        state, ((finished, nonfinite, root_value, temp), losses) = jax.lax.scan(
            phase, state, jax.random.split(k_phases, c.eval_every // c.train_every))
        eval_return = evaluation(state.model_params, k_eval)
        ended = ~jnp.isnan(finished)
        count = ended.sum()
        metrics = MuZeroMetrics(
            env_steps=state.env_steps, eval_return=eval_return,
            train_return=jnp.where(count > 0, jnp.where(ended, finished, 0.0).sum()
                                   / jnp.maximum(count, 1), jnp.nan),
            num_nonfinite=nonfinite.sum(), model=jax.tree.map(lambda x: x[-1], losses),
            search=SearchMetrics(root_value=root_value.mean(),
                                 temperature=temp[-1] if c.samples else jnp.float32(0.0)))
        return state._replace(key=key, iteration=state.iteration + 1), metrics

    return init, step


def _settings(name, env, model, search, options: dict) -> SimpleNamespace:
    """`muzero`'s ``options`` checked (ValueError naming the parameter) and resolved:
    the options themselves (``eval_steps``, ``prefill``, ``capacity`` filled in; for
    ``capacity``, rows over all envs) plus ``target_discount``, ``reanalysed`` (batch
    rows), ``prefill_chunks``, ``iterations``, ``num_updates``, ``samples`` (self-play
    samples the search policy), ``temperature_schedule`` and ``config`` (what the
    agent records)."""
    o = dict(options)
    for param in ("total_steps", "num_envs", "n_step", "batch_size", "train_every",
                  "train_steps", "target_update_every", "eval_every", "eval_episodes"):
        o[param] = check_int(name, param, o[param])
    o["unroll_steps"] = check_int(name, "unroll_steps", o["unroll_steps"], minimum=0)
    learned = model.recurrent is not None
    if learned and o["unroll_steps"] == 0:
        raise ValueError(f"{name}: unroll_steps must be >= 1 for a learned model (its "
                         "dynamics learn only from unrolls)")
    if not learned and o["unroll_steps"]:
        raise ValueError(f"{name}: unroll_steps must be 0 for a model whose dynamics are "
                         f"the true rules (jwm.models.alphazero_model), got "
                         f"{o['unroll_steps']}")
    for param, bounds in (("value_coef", dict(low=0.0)),
                          # The re-searched rows of a batch: a shape.
                          ("reanalyse_fraction", dict(low=0.0, high=1.0, static=True)),
                          ("priority_exponent", dict(low=0.0, high=1.0, low_open=True)),
                          ("importance_exponent", dict(low=0.0))):
        o[param] = check_real(name, param, o[param], **bounds)
    if o["reanalyse_fraction"] and model.observes_state:
        raise ValueError(f"{name}: reanalyse_fraction must be 0 when the model searches from "
                         "env states (the replay keeps observations, not states)")
    o["eval_steps"] = check_int(
        name, "eval_steps (or the env's max_episode_steps)",
        env.max_episode_steps if o["eval_steps"] is None else o["eval_steps"])
    o["random_opening"] = check_int(name, "random_opening", o["random_opening"], minimum=0)
    two_player = getattr(env, "num_players", 1) == 2

    sequence = o["unroll_steps"] + o["n_step"] + 1
    minimum = sequence * o["num_envs"]
    o["prefill"] = minimum if o["prefill"] is None else check_int(
        name, "prefill", o["prefill"], minimum=minimum)
    iterations, prefilled = check_schedule(
        name, num_envs=o["num_envs"], train_every=o["train_every"], eval_every=o["eval_every"],
        total_steps=o["total_steps"], prefill=o["prefill"])
    run_steps = o["total_steps"] - prefilled
    schedule, temperature = _temperature(search.temperature, prefilled, run_steps)
    if o["capacity"] is None:
        o["capacity"] = o["total_steps"]
    o["capacity"] = check_int(name, "capacity", o["capacity"], minimum=minimum)
    config = dict(o, replay_ratio=o["train_steps"] * o["batch_size"] / o["train_every"],
                  two_player=two_player, temperature=temperature)
    discount = search.discount
    return SimpleNamespace(
        **o, config=config, prefill_chunks=prefilled // o["train_every"], iterations=iterations,
        num_updates=run_steps // o["train_every"] * o["train_steps"],
        samples=search.temperature is not None, temperature_schedule=schedule,
        # A value is the player to move's: across a ply of a two-player game it flips sign.
        target_discount=-discount if two_player else discount,
        reanalysed=int(round(o["reanalyse_fraction"] * o["batch_size"])))


def _optimizer_config(optimizer):
    """What the agent records of its optimizer: the settings of a
    ``functools.partial(muzero_optimizer, ...)``, else None (an optax record keeps
    none)."""
    keywords = getattr(optimizer, "keywords", None)
    if keywords is not None:
        return {"function": getattr(optimizer.func, "__name__", "optimizer"), **keywords}
    return part_config(optimizer)


def _check_parts(name, env, model):
    if not (hasattr(env.action_space, "n") and tuple(env.action_space.shape) == ()):
        raise TypeError(f"{name}: env must have a Discrete action space, got "
                        f"{env.action_space!r}")
    for field in ("represent", "predict", "prior_fn", "value_fn", "scalar"):
        if not callable(getattr(model, field, None)):
            raise TypeError(f"{name}: model must be a MuZeroModel (jwm.models.muzero_model "
                            f"or alphazero_model), missing {field!r}")
    check_spaces(name, env, model, kind="a MuZeroModel (jwm.models.muzero_model or "
                                        "alphazero_model)")


def _evaluation(env, policy, opponent, games, plies):
    """``evaluation(params, key) -> scalar``: the mean return of ``games`` episodes, or
    in a two-player game the mean outcome of ``games`` games against ``opponent``."""
    if getattr(env, "num_players", 1) != 2:
        if opponent is not None:
            raise ValueError("muzero: opponent is for two-player games only")
        return lambda params, key: evaluate(env, policy, params, key, episodes=games,
                                            num_steps=plies).mean()
    opponent = random_player(env) if opponent is None else opponent

    def evaluation(params, key):
        return play_both_sides(env, (policy, params), opponent, key, games=games,
                               plies=plies)[0].mean()

    return evaluation


def _temperature(temperature, prefill, run_steps):
    """``(schedule(env_steps) -> T, its config entry)`` of a `MuZeroSearch`'s
    ``temperature`` (None: self-play takes the search's own action, T unused)."""
    if temperature is None:
        return (lambda env_steps: jnp.float32(0.0)), None
    if isinstance(temperature, str):  # "muzero", the one named schedule
        return (_default_temperature(prefill, run_steps),
                "1/0.5/0.25 at 0/50/75% of the env steps after the prefill")
    if callable(temperature):
        return temperature, getattr(temperature, "__name__", "schedule")
    return (lambda env_steps: jnp.float32(temperature)), temperature

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
from typing import Callable, NamedTuple

import flashbax
import jax
import jax.numpy as jnp
import numpy as np
import optax

from jwm.agents.checks import check_schedule, check_spaces, part_config, prefill_steps
from jwm.agents.contract import Agent, AgentState, ModelOptState, SearchMetrics, strong_types
from jwm.agents.episode import evaluate
from jwm.agents.self_play import self_play
from jwm.checks import check_choice, check_int, check_real, is_traced
from jwm.eval.match import play_both_sides, random_player
from jwm.keys import as_typed_key
from jwm.models.muzero_loss import (MuZeroLossMetrics, UnrollTargets, unroll_loss,
                                    unroll_targets)
from jwm.planners.mcts import mcts
from jwm.policy import planner_policy
from jwm.records import record_repr

__all__ = ["MuZeroMetrics", "muzero", "replay_targets", "SEARCH_RULES"]

SEARCH_RULES = ("gumbel", "puct")


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


def muzero(env, model, *, total_steps: int = 50_120, num_envs: int = 8,
           num_simulations: int = 16, search: str = "gumbel", discount: float = 0.997,
           unroll_steps: int = 5, n_step: int = 5, batch_size: int = 256,
           train_every: int = 40, train_steps: int = 10, learning_rate: float = 3e-3,
           final_learning_rate: float | None = None,
           weight_decay: float = 1e-4, grad_clip: float = 5.0, value_coef: float = 0.25,
           target_update_every: int = 100, reanalyse_fraction: float = 0.0,
           priority_exponent: float = 1.0, importance_exponent: float = 1.0,
           capacity: int | None = None, prefill: int | None = None,
           eval_every: int = 5_000, eval_episodes: int = 8, eval_steps: int | None = None,
           max_num_considered_actions: int = 16, gumbel_scale: float = 1.0,
           dirichlet_alpha: float = 0.25, dirichlet_fraction: float = 0.25,
           temperature: float | Callable | None = None, random_opening: int = 0,
           opponent=None) -> Agent:
    """Builds the MuZero `Agent`.

    Args:
      env: an `Env` with Discrete actions.
      model: a `MuZeroModel` for ``env``'s spaces (`jwm.models.muzero_model`).
      total_steps: env steps of a full run, summed over envs, the prefill (as
        collected, in whole phases of ``train_every``) included: the prefill plus
        ``agent.iterations`` periods of ``eval_every`` (the default: a prefill of 120
        env steps, then 10 periods of 5,000).
      num_envs: environments in self-play, stepped in parallel.
      num_simulations: simulations per search (self-play, reanalyse, evaluation).
      search: ``"gumbel"`` (Gumbel MuZero: Gumbel-top-k root with sequential halving,
        policy targets ``softmax(logits + completed Q)``, acts by the Gumbel argmax)
        or ``"puct"`` (visit-count targets, Dirichlet root noise, actions sampled at
        ``temperature``).
      discount: per-step discount of returns, in the search and the targets.
      unroll_steps: K, the dynamics steps unrolled per sequence.
      n_step: steps of the bootstrapped value targets.
      batch_size: sequences per update.
      train_every: env steps (summed over envs) between training phases; a multiple of
        ``num_envs``. The replay ratio is ``train_steps * batch_size / train_every``
        sequences per env step.
      train_steps: updates per phase.
      learning_rate, weight_decay, grad_clip: AdamW and its global-norm clip.
      final_learning_rate: None keeps ``learning_rate`` constant; a float in
        ``[0, learning_rate]`` decays it to that value along a cosine over the run's
        updates (``train_steps`` per ``train_every`` env steps after the prefill) and
        holds it after.
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
      max_num_considered_actions, gumbel_scale: Gumbel MuZero's root (see `mcts`).
      dirichlet_alpha, dirichlet_fraction: PUCT's root noise.
      temperature: PUCT's action temperature: a float, a schedule ``f(env_steps)``
        (an optax schedule; env steps count the prefill), or None for MuZero's
        1 / 0.5 / 0.25 after 0 / 50 / 75% of the env steps after the prefill.
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
      whose ``step`` returns `MuZeroMetrics`; its policy
      is the search without noise (Gumbel's argmax, or PUCT's most visited action),
      params ``model_params``.
    """
    name = "muzero" if getattr(model, "recurrent", None) is not None else "alphazero"
    _check_parts(name, env, model)
    c = _settings(name, env, model, dict(
        total_steps=total_steps, num_envs=num_envs, num_simulations=num_simulations,
        search=search, discount=discount, unroll_steps=unroll_steps, n_step=n_step,
        batch_size=batch_size, train_every=train_every, train_steps=train_steps,
        learning_rate=learning_rate, final_learning_rate=final_learning_rate,
        weight_decay=weight_decay, grad_clip=grad_clip, value_coef=value_coef,
        target_update_every=target_update_every, reanalyse_fraction=reanalyse_fraction,
        priority_exponent=priority_exponent, importance_exponent=importance_exponent,
        capacity=capacity, prefill=prefill, eval_every=eval_every,
        eval_episodes=eval_episodes, eval_steps=eval_steps,
        max_num_considered_actions=max_num_considered_actions, gumbel_scale=gumbel_scale,
        dirichlet_alpha=dirichlet_alpha, dirichlet_fraction=dirichlet_fraction,
        temperature=temperature, random_opening=random_opening))
    sequence = c.unroll_steps + c.n_step + 1
    replay = flashbax.make_prioritised_trajectory_buffer(
        add_batch_size=c.num_envs, sample_batch_size=c.batch_size,
        sample_sequence_length=sequence, period=1, min_length_time_axis=sequence,
        max_length_time_axis=c.capacity // c.num_envs, priority_exponent=c.priority_exponent)
    search_options = dict(num_simulations=c.num_simulations, rule=c.search,
                          prior_fn=model.prior_fn, value_fn=model.value_fn,
                          discount=c.discount,
                          max_num_considered_actions=c.max_num_considered_actions,
                          dirichlet_alpha=c.dirichlet_alpha)
    explorer = mcts(model, env.action_space, gumbel_scale=c.gumbel_scale,
                    dirichlet_fraction=c.dirichlet_fraction, **search_options)
    # Evaluation and reanalyse search without noise: Gumbel's top-k by prior only,
    # PUCT without Dirichlet noise, acting by the most visited action.
    greedy = mcts(model, env.action_space, gumbel_scale=0.0, dirichlet_fraction=0.0,
                  temperature=0.0, **search_options)
    policy = planner_policy(model, greedy)
    players = self_play(env, model, explorer, num_envs=c.num_envs,
                        steps=c.train_every // c.num_envs, sample_action=c.search == "puct",
                        random_opening=c.random_opening)
    tx = _optimizer(c)
    update = _update(model, greedy, replay, tx, discount=c.target_discount, n_step=c.n_step,
                     unroll_steps=c.unroll_steps, reanalysed=c.reanalysed,
                     value_coef=c.value_coef, importance_exponent=c.importance_exponent,
                     target_update_every=c.target_update_every)

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
                           model_opt=ModelOptState(optimizer=tx.init(params), target_params=params),
                           learner=(),
                           buffer=replay.init(example), env=env_carry)
        state, _ = jax.lax.scan(lambda s, k: (collect(s, k)[0], None), state,
                                jax.random.split(k_prefill, c.prefill_chunks))
        return strong_types(state)

    evaluation = _evaluation(env, policy, opponent, c.eval_episodes, c.eval_steps)

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
                                 temperature=jnp.where(c.search == "puct", temp[-1], 0.0)))
        return state._replace(key=key, iteration=state.iteration + 1), metrics

    return Agent(name=name, init=init, step=step, iterations=c.iterations,
                 policy=policy, policy_params=lambda state: state.model_params,
                 config=dict(env=env.name, **c.config, model=part_config(model)))


def _settings(name, env, model, options: dict) -> SimpleNamespace:
    """`muzero`'s ``options`` checked (ValueError naming the parameter) and resolved:
    the options themselves (``eval_steps``, ``prefill``, ``capacity`` filled in; for
    ``capacity``, rows over all envs) plus ``target_discount``, ``reanalysed`` (batch
    rows), ``prefill_chunks``, ``temperature_schedule`` and ``config`` (what the agent
    records)."""
    o = dict(options)
    for param in ("total_steps", "num_envs", "num_simulations", "n_step", "batch_size",
                  "train_every", "train_steps", "target_update_every", "eval_every",
                  "eval_episodes", "max_num_considered_actions"):
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
    o["search"] = check_choice(name, "search", o["search"], SEARCH_RULES)
    for param, bounds in (("discount", dict(low=0.0, high=1.0)),
                          ("learning_rate", dict(low=0.0, low_open=True)),
                          ("weight_decay", dict(low=0.0)),
                          ("grad_clip", dict(low=0.0, low_open=True)),
                          ("value_coef", dict(low=0.0)),
                          # The re-searched rows of a batch: a shape.
                          ("reanalyse_fraction", dict(low=0.0, high=1.0, static=True)),
                          ("priority_exponent", dict(low=0.0, high=1.0, low_open=True)),
                          ("importance_exponent", dict(low=0.0))):
        o[param] = check_real(name, param, o[param], **bounds)
    if o["final_learning_rate"] is not None:
        o["final_learning_rate"] = check_real(name, "final_learning_rate",
                                              o["final_learning_rate"], low=0.0,
                                              high=np.inf if is_traced(o["learning_rate"])
                                              else o["learning_rate"])
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
    if o["train_every"] % o["num_envs"] == 0:  # else check_schedule says why
        prefilled = prefill_steps(o["prefill"], o["train_every"])
    else:
        prefilled = o["prefill"]
    iterations = check_schedule(name, num_envs=o["num_envs"], train_every=o["train_every"],
                                eval_every=o["eval_every"], total_steps=o["total_steps"],
                                prefill=prefilled)
    run_steps = o["total_steps"] - prefilled
    schedule, o["temperature"] = _temperature(name, o["temperature"], prefilled, run_steps)
    if o["capacity"] is None:
        o["capacity"] = o["total_steps"]
    o["capacity"] = check_int(name, "capacity", o["capacity"], minimum=minimum)
    config = dict(o, replay_ratio=o["train_steps"] * o["batch_size"] / o["train_every"],
                  two_player=two_player)
    return SimpleNamespace(
        **o, config=config, prefill_chunks=prefilled // o["train_every"], iterations=iterations,
        num_updates=run_steps // o["train_every"] * o["train_steps"],
        temperature_schedule=schedule,
        # A value is the player to move's: across a ply of a two-player game it flips sign.
        target_discount=-o["discount"] if two_player else o["discount"],
        reanalysed=int(round(o["reanalyse_fraction"] * o["batch_size"])))


def _optimizer(c):
    """AdamW after a global-norm clip; the step size constant or cosine-decayed to
    ``final_learning_rate`` over the run's updates."""
    step_size = c.learning_rate
    if c.final_learning_rate is not None:
        step_size = optax.cosine_decay_schedule(
            c.learning_rate, c.num_updates,
            alpha=c.final_learning_rate / c.learning_rate)
    return optax.chain(optax.clip_by_global_norm(c.grad_clip),
                       optax.adamw(step_size, weight_decay=c.weight_decay))


def _update(model, planner, replay, tx, *, discount, n_step, unroll_steps, reanalysed,
            value_coef, importance_exponent, target_update_every):
    """``update(state, key) -> (state, MuZeroLossMetrics)``: one prioritised batch, its
    targets (`replay_targets`), one optimizer step, new priorities, and the target
    network's copy every ``target_update_every`` updates."""

    def update(state: AgentState, key):
        k_sample, k_reanalyse = jax.random.split(key)
        params, target_params = state.model_params, state.model_opt.target_params
        sample = replay.sample(state.buffer, k_sample)
        rows = sample.experience
        targets = replay_targets(model, planner, params, target_params, rows, k_reanalyse,
                                 discount=discount, n_step=n_step, unroll_steps=unroll_steps,
                                 reanalysed=reanalysed)
        # Importance weights (p_min / p) ** beta: the batch's least likely sequence
        # weighs 1, so no weight exceeds 1.
        probs = jnp.maximum(sample.probabilities, 1e-12)
        weights = (probs.min() / probs) ** importance_exponent
        grads, metrics = jax.grad(
            lambda p: unroll_loss(model, p, rows.obs[:, 0], targets, value_coef=value_coef,
                                  importance_weights=weights), has_aux=True)(params)
        updates, opt_state = tx.update(grads, state.model_opt.optimizer, params)
        params = optax.apply_updates(params, updates)
        buffer = replay.set_priorities(state.buffer, sample.indices, metrics.priorities + 1e-6)
        count = state.updates + 1
        target_params = jax.tree.map(
            lambda new, old: jnp.where(count % target_update_every == 0, new, old),
            params, target_params)
        state = state._replace(model_params=params, buffer=buffer, updates=count,
                               model_opt=ModelOptState(opt_state, target_params))
        return state, metrics._replace(priorities=metrics.priorities.mean())

    return update


def replay_targets(model, planner, params, target_params, rows, key, *, discount,
                   n_step: int, unroll_steps: int, reanalysed: int) -> UnrollTargets:
    """The `UnrollTargets` ``[B]`` of replayed sequences.

    Args:
      model: the `MuZeroModel`.
      planner: the search that reanalyses (an `mcts` over ``model``).
      params, target_params: the current network (reanalyse) and the target network
        (value bootstraps).
      rows: `SearchRow` ``[B, L]``, ``L = unroll_steps + n_step + 1``.
      key: PRNG key of the reanalyse searches.
      discount, n_step, unroll_steps: as in `muzero`.
      reanalysed: static; the first ``reanalysed`` sequences get the policies of a fresh
        search of their first ``unroll_steps + 1`` observations with ``params`` as
        targets, instead of the stored ones (MuZero Reanalyse).
    """
    search_policy = rows.search_policy
    if reanalysed:
        obs = jax.tree.map(lambda x: x[:reanalysed, :unroll_steps + 1], rows.obs)
        flat = jax.tree.map(lambda x: x.reshape((-1,) + x.shape[2:]), obs)

        def search(o, k):
            return planner.plan((), params, model.encode(params, o), k)[2].action_weights

        fresh = jax.vmap(search)(flat, jax.random.split(key, reanalysed * (unroll_steps + 1)))
        search_policy = search_policy.at[:reanalysed, :unroll_steps + 1].set(
            fresh.reshape((reanalysed, unroll_steps + 1) + fresh.shape[1:]))
    bootstrap = _bootstrap_values(model, target_params, rows, n_step=n_step,
                                  unroll_steps=unroll_steps)
    return jax.vmap(lambda a, r, te, tr, p, v: unroll_targets(
        a, r, te, tr, p, v, discount=discount, n_step=n_step, unroll_steps=unroll_steps))(
        rows.action, rows.reward, rows.terminated, rows.truncated, search_policy, bootstrap)


def _bootstrap_values(model, target_params, rows, *, n_step: int, unroll_steps: int):
    """``[B, L]`` the target network's values of the rows the n-step targets read, 0
    elsewhere: rows ``n .. n + K`` (the ends of full n-step windows) and each
    sequence's first end if it is a truncation (a cut window bootstraps there; windows
    past a sequence's first end are masked or absorbed, so no other row is read). That
    is ``K + 2`` of the ``K + n + 1`` rows through the network."""
    batch, length = rows.reward.shape
    done = rows.terminated | rows.truncated
    first_end = jnp.argmax(done, axis=1)                                  # [B]
    window = jnp.arange(n_step, n_step + unroll_steps + 1)
    read = jnp.concatenate([jnp.broadcast_to(window, (batch, window.size)),
                            first_end[:, None]], axis=1)                  # [B, K + 2]
    obs = jax.tree.map(lambda x: jnp.take_along_axis(
        x, read.reshape(read.shape + (1,) * (x.ndim - 2)), axis=1), rows.obs)
    values = jax.lax.stop_gradient(model.scalar(
        model.predict(target_params, model.represent(target_params, obs))[1]))
    return jnp.zeros((batch, length), values.dtype).at[
        jnp.arange(batch)[:, None], read].set(values)


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


def _temperature(name, temperature, prefill, run_steps):
    """``(schedule(env_steps) -> T, its config entry)``."""
    if temperature is None:
        return (_default_temperature(prefill, run_steps),
                "1/0.5/0.25 at 0/50/75% of the env steps after the prefill")
    if callable(temperature):
        return temperature, getattr(temperature, "__name__", "schedule")
    value = check_real(name, "temperature", temperature, low=0.0)
    return (lambda env_steps: jnp.float32(value)), value

"""MuZero's update: one prioritised batch of replayed sequences, its n-step value
targets bootstrapped from the target network (and, for a fraction of the batch, fresh
search policies: Reanalyse), one optimizer step on the unrolled loss, new priorities,
and the target network's periodic copy."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from jwm.agents.contract import AgentState, ModelOptState
from jwm.models.muzero_loss import UnrollTargets, unroll_loss, unroll_targets

__all__ = ["make_update", "replay_targets"]


def make_update(model, planner, replay, tx, *, discount, n_step, unroll_steps, reanalysed,
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

"""Dreamer's trainer: one update is one world-model step on a replayed batch of
``[batch_size, seq_len]`` rows (`jwm.models.rssm_train.world_model_loss`, Adam after
a global-norm clip), then one learner step (`jwm.imagination.Learner.update`) imagined
from every posterior state of that batch with the updated model.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax

from jwm.agents.contract import AgentState
from jwm.checks import check_real
from jwm.models.rssm_train import Sequences, world_model_loss

__all__ = ["Trainer", "dreamer_optimizer", "trainer"]


class Trainer(NamedTuple):
    """Pure functions of Dreamer's training.

    Attributes:
      init: ``init(model_params) -> model_opt``, the model's optimiser state.
      update: ``update(state, key) -> (state, (WorldModelMetrics, LearnerMetrics))``:
        one update of ``state.model_params``/``model_opt`` and ``state.learner`` from
        a batch sampled from ``state.buffer``, counted in ``state.updates``. The
        learner's metrics come without ``last_latents`` (``()``), so that a scan over
        updates stacks scalars only.
    """

    init: Callable
    update: Callable


def dreamer_optimizer(learning_rate=1e-4, grad_clip=1000.0) -> optax.GradientTransformation:
    """Dreamer's world-model optimizer: Adam (eps 1e-8) after a global-norm clip.
    ``learning_rate`` may be traced (a sweep batches it); both are checked when
    concrete."""
    check_real("dreamer_optimizer", "learning_rate", learning_rate, low=0.0, low_open=True)
    check_real("dreamer_optimizer", "grad_clip", grad_clip, low=0.0, low_open=True)
    return optax.chain(optax.clip_by_global_norm(grad_clip), optax.adam(learning_rate, eps=1e-8))


def trainer(model, behavior, buffer, model_tx: optax.GradientTransformation) -> Trainer:
    """The `Trainer` of ``model`` (an `RSSMModel`) and ``behavior`` (a
    `jwm.imagination.Learner` over its latents), sampling from ``buffer``
    (`jwm.agents.dreamer_collect.replay`), the model trained by ``model_tx``."""

    def update(state: AgentState, key):
        model_params, model_opt, learner_state = (state.model_params, state.model_opt,
                                                  state.learner)
        k_sample, k_model, k_learner = jax.random.split(key, 3)
        rows = buffer.sample(state.buffer, k_sample).experience
        batch = Sequences(obs=rows.obs, prev_action=rows.prev_action, reward=rows.reward,
                          is_first=rows.is_first, is_terminal=rows.is_terminal)
        grads, (wm_metrics, posts) = jax.grad(
            lambda p: world_model_loss(model, p, batch, k_model), has_aux=True)(model_params)
        updates, model_opt = model_tx.update(grads, model_opt, model_params)
        model_params = optax.apply_updates(model_params, updates)
        # Every posterior state of the batch starts an imagined trajectory; a terminal
        # one has nothing after it to learn from.
        starts = jax.tree.map(lambda x: x.reshape((-1,) + x.shape[2:]), posts)
        weights = 1.0 - rows.is_terminal.reshape(-1).astype(jnp.float32)
        learner_state, learner_metrics = behavior.update(
            learner_state, model, model_params, starts, k_learner, start_weights=weights)
        state = state._replace(model_params=model_params, model_opt=model_opt,
                               learner=learner_state, updates=state.updates + 1)
        return state, (wm_metrics, learner_metrics._replace(last_latents=()))

    return Trainer(init=model_tx.init, update=update)

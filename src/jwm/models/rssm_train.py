"""Training the RSSM on replayed sequences: filtering with the posterior, and the
DreamerV3 world-model loss (prediction + KL balancing with free bits)."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from jwm.models.rssm import RSSMState
from jwm.models.twohot import symlog, twohot_loss

__all__ = ["Sequences", "WorldModelMetrics", "observe_sequence", "world_model_loss"]


class Sequences(NamedTuple):
    """A batch of replayed sequences, ``[B, T]`` leading axes.

    Row ``t`` holds the observation ``obs[t]`` together with what led to it:
    ``prev_action[t]`` and ``reward[t]`` (both meaningless, and ignored as inputs, when
    ``is_first[t]``); ``is_terminal[t]`` marks a terminal observation (its continue
    target is 0).
    """

    obs: jax.Array
    prev_action: jax.Array
    reward: jax.Array
    is_first: jax.Array
    is_terminal: jax.Array


class WorldModelMetrics(NamedTuple):
    """Means over the batch of each loss term (``loss`` is the weighted total)."""

    loss: jax.Array
    decoder: jax.Array
    reward: jax.Array
    cont: jax.Array
    dyn: jax.Array
    rep: jax.Array
    kl: jax.Array


def observe_sequence(model, params, obs, prev_action, is_first, key, unroll: int = 4):
    """Filters one sequence with the posterior.

    Args:
      obs: ``[T, *obs_shape]``; prev_action: ``[T, *action_shape]``; is_first: ``[T]``
        bool, where the state restarts from ``model.initial()`` with a zero action.
        Step 0 always restarts (a replayed chunk starts without its history).
      unroll: time steps per iteration of the compiled loop (``lax.scan``'s
        ``unroll``); the same numbers, fewer loop iterations to dispatch.

    Returns:
      ``(posterior RSSMState [T], posterior stats [T, ...], prior stats [T, ...])``.
    """
    net, length = model.net, obs.shape[0]
    embed = net.apply(params, obs, method="embed")
    actions = model.encode_action(prev_action)
    restart = is_first.at[0].set(True)
    init = model.initial()

    def body(state, xs):
        embed_t, action_t, restart_t, key_t = xs
        state = jax.tree.map(lambda s, i: jnp.where(restart_t, i, s), state, init)
        action_t = jnp.where(restart_t, 0.0, action_t)
        deter = net.apply(params, state, action_t, method="sequence")
        post = net.apply(params, deter, embed_t, method="posterior")
        state = RSSMState(deter, model.sample(post, key_t))
        return state, (state, post)

    _, (states, post) = jax.lax.scan(body, init, (embed, actions, restart,
                                                  jax.random.split(key, length)),
                                     unroll=min(unroll, length))
    # The prior reads only the deterministic state: one call over all T steps.
    return states, post, net.apply(params, states.deter, method="prior")


def world_model_loss(model, params, batch: Sequences, key, *, free_nats: float = 1.0,
                     dyn_scale: float = 0.5, rep_scale: float = 0.1):
    """The DreamerV3 world-model loss of a batch of sequences.

    ``decoder`` is the symlog squared error summed over observation dimensions,
    ``reward`` the two-hot cross-entropy, ``cont`` the Bernoulli log-loss of not
    ``is_terminal``; ``dyn = max(free_nats, KL[sg(q) || p])`` trains the prior towards
    the posterior and ``rep = max(free_nats, KL[q || sg(p)])`` the posterior towards
    the prior (KL balancing; free bits stop both once the KL is small).

    Returns:
      ``(loss, (WorldModelMetrics, posterior RSSMState [B, T]))``; the states carry no
      gradient and serve as starts for imagination.
    """
    batch_size = batch.reward.shape[0]
    states, post, prior = jax.vmap(observe_sequence, in_axes=(None, None, 0, 0, 0, 0))(
        model, params, batch.obs, batch.prev_action, batch.is_first,
        jax.random.split(key, batch_size))
    net = model.net
    feat = model.features(states)
    recon = net.apply(params, feat, method="decode")
    target = jnp.asarray(batch.obs, jnp.float32)
    if len(model.obs_shape) == 1:
        target = symlog(target)
    decoder = jnp.sum((recon - target) ** 2, axis=tuple(range(2, recon.ndim)))
    reward = twohot_loss(net.apply(params, feat, method="reward_logits"), batch.reward,
                         model.bins)
    cont_logit = net.apply(params, feat, method="continue_logit")
    cont_target = 1.0 - batch.is_terminal.astype(jnp.float32)
    cont = -(cont_target * jax.nn.log_sigmoid(cont_logit)
             + (1.0 - cont_target) * jax.nn.log_sigmoid(-cont_logit))
    sg = jax.lax.stop_gradient
    # Both terms have the KL's value; they differ only in where gradients stop.
    kl = model.kl(sg(post), prior)
    dyn = jnp.maximum(free_nats, kl)
    rep = jnp.maximum(free_nats, model.kl(post, sg(prior)))
    terms = decoder + reward + cont + dyn_scale * dyn + rep_scale * rep
    metrics = WorldModelMetrics(loss=terms.mean(), decoder=decoder.mean(),
                                reward=reward.mean(), cont=cont.mean(), dyn=dyn.mean(),
                                rep=rep.mean(), kl=sg(kl).mean())
    return metrics.loss, (metrics, jax.tree.map(sg, states))

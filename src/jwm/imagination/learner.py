"""The one interface of the imagination learners: the `Learner` record, the
`LearnerState` it trains and the `LearnerMetrics` of one update.

`jwm.imagination.actor_critic` (Dreamer's: two-hot critic on latent features) and
`jwm.imagination.value_gradient` (SVG's: the return differentiated through the model)
both return a `Learner`, so an agent trains and acts with either through the same
calls::

    state = learner.init(key)
    state, metrics = learner.update(state, model, model_params, start_latents, key,
                                    start_weights=None)
    action = learner.act(state.actor, learner.inputs(latent), key, deterministic=True)

Like every jwm record it is open: any frozen record with these fields, built from a
user's own functions, is a learner to the agents.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, NamedTuple

import jax

from jwm.keys import with_typed_key
from jwm.records import record_repr

__all__ = ["Learner", "LearnerMetrics", "LearnerState", "make_learner"]


class LearnerState(NamedTuple):
    """What an imagination learner learns.

    Attributes:
      actor, critic: flax variables of the policy and the value network.
      target_critic: the EMA of ``critic`` (step ``target_tau`` per update).
        `actor_critic` pulls its critic towards it; `value_gradient`'s returns
        bootstrap from it.
      actor_opt, critic_opt: optax states.
      return_scale: float32 ``[]``, the running spread of the returns
        (`jwm.imagination.core.return_spread_ema`). `actor_critic` keeps the plain EMA
        (from 0) and divides by ``max(1, return_scale)``; `value_gradient` keeps it
        floored at 1 (from 1) and divides by it.
      steps: int32 ``[]``, updates done.
    """

    actor: Any
    critic: Any
    target_critic: Any
    actor_opt: Any
    critic_opt: Any
    return_scale: jax.Array
    steps: jax.Array


class LearnerMetrics(NamedTuple):
    """What one `Learner.update` measured: float32 scalars, but ``last_latents``.

    Both learners fill every field. Means are over the imagined steps, each weighted by
    the probability of reaching it where a learner says so.

    Attributes:
      actor_loss: the actor's loss: minus the scaled imagined return, minus the
        entropy bonus (for `actor_critic`'s REINFORCE, its surrogate).
      critic_loss: the critic's regression loss (two-hot cross-entropy towards the
        returns and the target critic for `actor_critic`; half the squared error to
        the returns for `value_gradient`).
      imagined_return: mean lambda-return of the start states.
      entropy: mean estimate of the policy's entropy (``-log pi(a|s)`` of the sampled
        actions for a tanh-Gaussian; exact for a categorical). `actor_critic` weights
        it by the reach of each step, `value_gradient` does not.
      value: the critic's mean value: of the start states (`actor_critic`), of every
        imagined state (`value_gradient`).
      return_scale: the state's ``return_scale`` after the update.
      actor_grad_norm, critic_grad_norm: global norms of the gradients, before
        clipping.
      last_latents: pytree of leaves ``[B, ...]``, the latents the imagined
        trajectories reached; a caller may start the next update from them (the SVG
        agent does, with a fixed model). A caller that keeps metrics across updates
        (a scan) drops it first.
    """

    actor_loss: jax.Array
    critic_loss: jax.Array
    imagined_return: jax.Array
    entropy: jax.Array
    value: jax.Array
    return_scale: jax.Array
    actor_grad_norm: jax.Array
    critic_grad_norm: jax.Array
    last_latents: Any

    __repr__ = record_repr


@dataclasses.dataclass(frozen=True)
class Learner:
    """An actor and a critic trained on trajectories imagined in a world model, as pure
    functions. ``B`` is the batch of start latents, ``I`` the shape of the actor's and
    the critic's input (``[F]`` latent features for `actor_critic`, ``[*obs_shape]``
    observations for `value_gradient`).

    ``act`` takes the actor's parameters and the actor's input, not the whole state
    and a latent. The parameters are all that acting reads, and a learner acts inside
    its own gradient: the imagined return is differentiated in the actor's parameters
    through ``act`` (Dreamer's dynamics gradient, SVG's reparameterised samples), so
    ``act`` must be a function of exactly what is differentiated. The evaluation
    policy's params then carry the actor alone, not the critic and optimiser states.
    The input, not a latent, because an agent acts on what it has in the real
    environment: SVG's policy reads the environment's observation directly, Dreamer's
    the features of its filtered latent; ``inputs`` maps a model latent to it.

    Attributes:
      init: ``init(key) -> LearnerState``: fresh networks, the target critic equal to
        the critic, 0 steps.
      update: ``update(state, model, model_params, start_latents, key,
        start_weights=None) -> (LearnerState, LearnerMetrics)``: one gradient step of
        the actor and of the critic on trajectories imagined from ``start_latents``
        (pytree of leaves ``[B, ...]``) inside ``model`` (a `WorldModel`) with
        ``model_params`` (constants to the update), then the target critic's EMA.
        ``start_weights [B]`` weighs each start (0 for a terminal start; default 1).
        Jit it once: it compiles once for a given batch.
      act: ``act(actor_params, inputs [..., *I], key, deterministic=False) -> action
        [..., *action_shape]`` in the env's units: a sample of the policy, or its
        mode when ``deterministic`` (a Python bool). Always a valid action, even for
        non-finite inputs (int32 for `Discrete`, inside the bounds of a `Box`).
      value: ``value(critic_params, inputs [..., *I]) -> [...]``, the critic's value.
      distribution: ``distribution(actor_params, inputs [..., *I]) -> distrax
        distribution`` over actions in ``[-1, 1]^D`` before the map into the box (a
        tanh-Gaussian), or over action indices (`Discrete`).
      actor_loss: ``actor_loss(actor_params, state, model, model_params, start_latents,
        key, start_weights=None) -> []``, the objective whose gradient at
        ``state.actor`` is the actor's step of ``update`` (same key, same
        trajectories); to inspect the actor's gradients.
      inputs: ``inputs(latent) -> [*I]``, what ``act`` and ``value`` read, from one
        model latent (vmap for a batch).
      model: the `WorldModel` the learner was built to imagine in (`value_gradient`),
        or None when it reads any model's latents through ``inputs``
        (`actor_critic`).
      config: the hyperparameters.
    """

    init: Callable[[jax.Array], LearnerState]
    update: Callable[..., tuple[LearnerState, LearnerMetrics]]
    act: Callable[..., jax.Array]
    value: Callable[[Any, jax.Array], jax.Array]
    distribution: Callable[[Any, jax.Array], Any]
    actor_loss: Callable[..., jax.Array]
    inputs: Callable[[Any], jax.Array]
    model: Any
    config: dict


def make_learner(name: str, *, init, update, act, value, distribution, actor_loss, inputs,
                 model, config: dict) -> Learner:
    """A `Learner` of these functions whose keyed ones (``init``, ``update``, ``act``,
    ``actor_loss``) take typed and legacy keys alike, errors naming ``name``."""
    return Learner(init=with_typed_key(init, 0, where=f"{name}.init"),
                   update=with_typed_key(update, 4, where=f"{name}.update"),
                   act=with_typed_key(act, 2, where=f"{name}.act"), value=value,
                   distribution=distribution,
                   actor_loss=with_typed_key(actor_loss, 5, where=f"{name}.actor_loss"),
                   inputs=inputs, model=model, config=config)

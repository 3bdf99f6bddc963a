"""Value gradients (SVG, stochastic value gradients): a policy trained by
differentiating the imagined return through the world model.

The actor's loss is minus the lambda-return of trajectories imagined with the policy
inside ``model`` over a short horizon, bootstrapped by a learned value. Actions are
reparameterised samples of a tanh-squashed Gaussian, so the return is a
differentiable function of the policy parameters: through the rewards, through the
model's dynamics from each action to every later state, and through the value of the
states reached (the "value gradient", as in Heess et al., 2015, SVG(H) with a learned
terminal value). The critic regresses the value of imagined states on the same
lambda-returns, computed with a slowly moving (EMA) copy of itself. The state, the
policy head, the return scale and the knob checks are `jwm.imagination.core`'s,
shared with `jwm.imagination.actor_critic`.

The learner is a record of pure functions in the optax style: ``init`` and ``update``
(one actor and one critic gradient step from a batch of start states), plus ``act``.
The policy acts on *observations*, so the same network drives the real environment;
``observe`` maps a model latent to the observation the policy sees.
"""

from __future__ import annotations

import dataclasses
import types
from typing import Any, Callable, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from jwm.keys import with_typed_key
from jwm.imagination.core import (ActorCriticState, apply_gradients, check_knobs,
                                  clipped_adam, init_state, reach_weights, return_divisor,
                                  return_spread_ema, tanh_gaussian)
from jwm.imagination.returns import lambda_returns
from jwm.imagination.rollout import imagine
from jwm.models.ensemble import _ACTIVATIONS

__all__ = ["ValueGradient", "ValueGradientInfo", "value_gradient"]


class _MLP(nn.Module):
    """``[..., in] -> [..., out]``; a plain MLP."""

    hidden_sizes: tuple[int, ...]
    out_dim: int
    activation: str
    zero_last: bool = False

    @nn.compact
    def __call__(self, x):
        act = _ACTIVATIONS[self.activation]
        for width in self.hidden_sizes:
            x = act(nn.Dense(width)(x))
        # A near-zero last layer starts the policy near the centre of the action box
        # with its initial spread everywhere, not at a random, possibly saturated, tanh
        # (not exactly zero, which would zero every other layer's first gradient).
        init = (nn.initializers.variance_scaling(1e-4, "fan_in", "truncated_normal")
                if self.zero_last else nn.initializers.lecun_normal())
        return nn.Dense(self.out_dim, kernel_init=init)(x)


class ValueGradientInfo(NamedTuple):
    """What one `ValueGradient.update` measured (scalars, but ``last_latents``).

    Attributes:
      actor_loss: minus the mean imagined lambda-return, minus the entropy bonus.
      critic_loss: mean squared error of the value against the lambda-returns (halved).
      imagined_return: mean lambda-return of the start states.
      entropy: mean estimate of the policy's entropy (``-log pi(a|s)`` of the samples).
      actor_grad_norm, critic_grad_norm: global norms before clipping.
      value: mean value of the imagined states.
      last_latents: pytree ``[B, ...]``, the latents the imagined trajectories
        reached; a caller may continue from them (the agent does, with a fixed model).
    """

    actor_loss: jax.Array
    critic_loss: jax.Array
    imagined_return: jax.Array
    entropy: jax.Array
    actor_grad_norm: jax.Array
    critic_grad_norm: jax.Array
    value: jax.Array
    last_latents: Any


@dataclasses.dataclass(frozen=True)
class ValueGradient:
    """A value-gradient learner as pure functions.

    Attributes:
      init: ``init(key) -> ActorCriticState`` (``return_scale`` starts at 1 and stays
        floored at 1).
      update: ``update(state, model_params, start_latents, key) -> (ActorCriticState,
        ValueGradientInfo)``: one gradient step of the actor and of the critic, then
        the EMA of the target. ``start_latents`` is a pytree of latents with a leading
        ``[B]`` axis, e.g. ``jax.vmap(model.encode, (None, 0))(model_params,
        observations)`` (environment states for the true model), or an earlier
        ``last_latents``.
      act: ``act(state, obs [*obs_shape], key, deterministic=False) -> action
        [*action_shape]``: a sample of the policy, or its mode (``tanh`` of the mean)
        when ``deterministic`` (a Python bool). Always inside the action box.
      actor_loss: ``actor_loss(actor_params, state, model_params, start_latents, key) ->
        (loss, (Imagined, returns [B, H], values [B, H + 1], entropy [B, H]))``, the
        differentiable objective ``update`` descends; exposed to inspect gradients.
      value: ``value(critic_params, obs [..., *obs_shape]) -> [...]``.
      model: the `WorldModel` it imagines in.
      observe: ``observe(latent) -> obs [*obs_shape]``.
      horizon, discount: the imagination settings.
      config: the hyperparameters.
    """

    init: Callable[[jax.Array], ActorCriticState]
    update: Callable[..., tuple[ActorCriticState, ValueGradientInfo]]
    act: Callable[..., jax.Array]
    actor_loss: Callable[..., Any]
    value: Callable[[Any, jax.Array], jax.Array]
    model: Any
    observe: Callable[[Any], jax.Array]
    horizon: int
    discount: float
    config: dict


def value_gradient(model, observation_space, action_space, *, horizon: int = 10,
                   discount: float = 0.99, lambda_: float = 0.95, observe=None,
                   actor_hidden_sizes=(64, 64), critic_hidden_sizes=(64, 64),
                   activation: str = "elu", actor_lr: float = 3e-4, critic_lr: float = 1e-3,
                   grad_clip: float = 100.0, entropy_coef: float = 1e-3,
                   init_std: float = 1.0, min_std: float = 0.05, target_tau: float = 0.02,
                   scale_rate: float = 0.01) -> ValueGradient:
    """Builds a value-gradient (SVG) learner.

    The knobs shared with `actor_critic` are checked by
    `jwm.imagination.core.check_knobs`.

    Args:
      model: a `WorldModel` whose ``step`` is differentiable in the latent and the
        action: `jwm.models.member_model` of a learned ensemble or MLP (one member per
        imagined trajectory), or `jwm.models.true_model` of an environment made with
        ``transition_gradients=True`` (e.g. gymnax Pendulum-v1).
      observation_space: a `Box` of observations ``[*obs_shape]`` (the policy's input).
      action_space: a bounded floating `Box`; the learner differentiates through the
        action, so a `Discrete` space is rejected.
      horizon: H, imagined steps per start.
      discount: gamma in (0, 1], multiplied by the model's own discount.
      lambda_: TD(lambda) mixing of the n-step returns in [0, 1]; 1 is the H-step
        return bootstrapped by the value at the last state (SVG(H)).
      observe: ``observe(latent) -> obs [*obs_shape]``. Default: the latent's ``obs``
        field reshaped to ``obs_shape`` (`MemberState`, or `Particles` of one
        particle). For the true model pass the environment's ``observe``.
      actor_hidden_sizes, critic_hidden_sizes: widths of the hidden layers.
      activation: ``"elu"``, ``"silu"``, ``"relu"`` or ``"tanh"``.
      actor_lr, critic_lr: Adam learning rates.
      grad_clip: global-norm clip of each gradient (``optax.clip_by_global_norm``);
        gradients through many model steps can spike.
      entropy_coef: weight of the policy's entropy in the actor's objective.
      init_std: the policy's initial standard deviation before the tanh
        (``softplus(raw + c) + min_std``, `jwm.imagination.core.tanh_gaussian`).
      min_std: its floor.
      target_tau: EMA step size of the target critic per update, in (0, 1].
      scale_rate: EMA step size, in (0, 1], of the return spread (95th minus 5th
        percentile) that divides the actor's returns.

    Returns:
      a `ValueGradient` record.

    Raises:
      TypeError: ``action_space`` is not a floating `Box`; ``model`` has no ``step``;
        ``observe`` is not callable.
      ValueError: a hyperparameter is out of range (the message names it).
    """
    config = dict(locals())             # first, while only the arguments are bound
    for arg in ("model", "observation_space", "action_space", "observe"):
        del config[arg]                 # the rest are the knobs
    name = "value_gradient"
    if not callable(getattr(model, "step", None)) or not callable(getattr(model, "encode", None)):
        raise TypeError(f"{name}: model must be a WorldModel (init, encode, step), "
                        f"got {type(model).__name__}")
    if hasattr(action_space, "n") or not hasattr(action_space, "low"):
        raise TypeError(f"{name}: action_space must be a continuous jwm.spaces.Box: the "
                        f"return is differentiated through the action; got {action_space!r}")
    if not np.issubdtype(np.dtype(action_space.dtype), np.floating):
        raise TypeError(f"{name}: action_space Box must be floating, got {action_space.dtype}")
    obs_shape = tuple(getattr(observation_space, "shape", ()) or ())
    if not hasattr(observation_space, "low") or not obs_shape:
        raise TypeError(f"{name}: observation_space must be a jwm.spaces.Box of arrays, "
                        f"got {observation_space!r}")
    config = check_knobs(name, config)
    horizon = config["horizon"]
    if activation not in _ACTIVATIONS:
        raise ValueError(f"{name}: activation must be one of {list(_ACTIVATIONS)}, "
                         f"got {activation!r}")
    if observe is None:
        def observe(latent):
            obs = getattr(latent, "obs", None)
            if obs is None or int(np.prod(jnp.shape(obs))) != int(np.prod(obs_shape)):
                raise ValueError(f"{name}: the model's latent has no 'obs' field of "
                                 f"{obs_shape} elements; pass observe=(latent -> obs)")
            return jnp.reshape(obs, obs_shape)
    elif not callable(observe):
        raise TypeError(f"{name}: observe must be callable or None, got {observe!r}")

    # value_gradient's recorded results map [-1, 1] into the box from its low end.
    head = tanh_gaussian(name, action_space, std="softplus", min_std=min_std,
                         init_std=init_std, anchor="low")
    action_shape = tuple(action_space.shape)
    action_dim = head.out_dim // 2
    obs_dim = int(np.prod(obs_shape))
    actor_net = _MLP(config["actor_hidden_sizes"], head.out_dim, activation, zero_last=True)
    critic_net = _MLP(config["critic_hidden_sizes"], 1, activation)
    actor_tx = clipped_adam(actor_lr, grad_clip)
    critic_tx = clipped_adam(critic_lr, grad_clip)

    def flat(obs):
        """``[..., *obs_shape] -> [..., obs_dim]`` float32, the networks' input."""
        return jnp.reshape(obs, obs.shape[:obs.ndim - len(obs_shape)]
                           + (obs_dim,)).astype(jnp.float32)

    def policy_dist(actor_params, obs):
        """tanh-squashed diagonal Gaussian over ``[-1, 1]^action_dim`` for ``obs``."""
        return head.distribution(actor_net.apply(actor_params, flat(obs)))

    def value(critic_params, obs):
        return critic_net.apply(critic_params, flat(obs))[..., 0]

    def init(key) -> ActorCriticState:
        return init_state(key, actor_net, critic_net, obs_dim, actor_tx, critic_tx, 1.0)

    def act(state, obs, key, deterministic: bool = False):
        dist = policy_dist(state.actor, jnp.asarray(obs, jnp.float32))
        return head.to_box(head.mode(dist) if deterministic else dist.sample(seed=key))

    def actor_loss(actor_params, state, model_params, latents, key):
        def policy_with_logp(latent, k):
            # Reparameterised sample: the action is a differentiable function of the
            # policy parameters, so d(return)/d(params) runs through model.step.
            u, log_prob = policy_dist(actor_params, observe(latent)).sample_and_log_prob(seed=k)
            # imagine() records only what the policy returns; the log-probability (for
            # the entropy bonus) rides along after the action and is split off again,
            # which saves a second policy evaluation (and an atanh of saturated actions).
            return jnp.concatenate([head.to_box(u).reshape(action_dim), log_prob[None]])

        stepper = _split_action_model(model, action_dim, action_shape)
        traj = imagine(stepper, model_params, policy_with_logp, latents, horizon, key)
        actions, log_probs = traj.actions[..., :action_dim], traj.actions[..., action_dim]
        traj = traj._replace(actions=actions.reshape(actions.shape[:2] + action_shape))
        obs = jax.vmap(jax.vmap(observe))(traj.latents)                   # [B, H+1, *obs]
        values = value(state.target_critic, obs)                          # [B, H+1]
        discounts = discount * traj.discounts
        returns = lambda_returns(traj.rewards, discounts, values, lambda_=lambda_)
        # The probability of reaching each step (the model's termination only; gamma
        # is inside the returns).
        reach = reach_weights(traj.discounts)
        entropy = -log_probs
        # Returns are divided by their running spread (as in DreamerV3), so that
        # entropy_coef and the learning rate mean the same whatever the reward scale.
        objective = (reach * (returns / state.return_scale + entropy_coef * entropy)).mean()
        return -objective, (traj, returns, values, entropy)

    def critic_loss(critic_params, obs, targets, weights):
        v = value(critic_params, obs)
        return 0.5 * (weights * (v - targets) ** 2).mean()

    def update(state, model_params, latents, key):
        (a_loss, (traj, returns, values, entropy)), a_grads = jax.value_and_grad(
            actor_loss, has_aux=True)(state.actor, state, model_params, latents, key)
        # The critic learns the value of the imagined states under the current policy;
        # states and targets are constants to it.
        obs = jax.lax.stop_gradient(jax.vmap(jax.vmap(observe))(traj.latents)[:, :-1])
        targets = jax.lax.stop_gradient(returns)
        c_loss, c_grads = jax.value_and_grad(critic_loss)(state.critic, obs, targets,
                                                          reach_weights(traj.discounts))
        # The scale divides the next update's returns (actor_critic's divides this
        # one's), and is kept floored at 1.
        scale = return_divisor(return_spread_ema(state.return_scale, targets, scale_rate))
        new = apply_gradients(state, a_grads, c_grads, actor_tx, critic_tx,
                              target_tau=target_tau, return_scale=scale)
        info = ValueGradientInfo(
            actor_loss=a_loss, critic_loss=c_loss, imagined_return=returns[:, 0].mean(),
            entropy=entropy.mean(), actor_grad_norm=optax.global_norm(a_grads),
            critic_grad_norm=optax.global_norm(c_grads), value=values.mean(),
            last_latents=jax.tree.map(lambda x: x[:, -1], traj.latents))
        return new, info

    return ValueGradient(init=with_typed_key(init, 0, where=f"{name}.init"),
                         update=with_typed_key(update, 3, where=f"{name}.update"),
                         act=with_typed_key(act, 2, where=f"{name}.act"),
                         actor_loss=with_typed_key(actor_loss, 4, where=f"{name}.actor_loss"),
                         value=value,
                         model=model, observe=observe, horizon=horizon, discount=discount,
                         config=config)


def _split_action_model(model, action_dim, action_shape):
    """``model`` stepping on ``[action, log_prob]`` vectors: drops the log-probability
    and restores the action's shape before ``model.step``."""

    def step(params, latent, packed, key):
        return model.step(params, latent, packed[:action_dim].reshape(action_shape), key)

    # imagine() reads only ``step``; any record with it will do.
    return types.SimpleNamespace(step=step)

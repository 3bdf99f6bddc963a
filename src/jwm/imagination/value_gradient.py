"""Value gradients (SVG, stochastic value gradients): a policy trained by
differentiating the imagined return through the world model.

The actor's loss is minus the lambda-return of trajectories imagined with the policy
inside ``model`` over a short horizon, bootstrapped by a learned value. Actions are
reparameterised samples of a tanh-squashed Gaussian, so the return is a
differentiable function of the policy parameters: through the rewards, through the
model's dynamics from each action to every later state, and through the value of the
states reached (the "value gradient", as in Heess et al., 2015, SVG(H) with a learned
terminal value). The critic regresses the value of imagined states on the same
lambda-returns, computed with a slowly moving (EMA) copy of itself.

The learner is a `jwm.imagination.Learner`, the interface it shares with
`jwm.imagination.actor_critic`; so are the policy head, the return scale and the knob
checks (`jwm.imagination.core`), and the networks (`jwm.models.layers.NormMLP`,
plain: no LayerNorm). The policy acts on *observations*, so the same network drives
the real environment; ``observe`` (the learner's ``inputs``) maps a model latent to
the observation the policy sees.
"""

from __future__ import annotations

import types

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jwm.imagination.core import (apply_gradients, check_knobs, clipped_adam, init_state,
                                  reach_weights, return_divisor, return_spread_ema,
                                  tanh_gaussian)
from jwm.imagination.learner import Learner, LearnerMetrics, LearnerState, make_learner
from jwm.imagination.returns import lambda_returns
from jwm.imagination.rollout import imagine
from jwm.models.layers import ACTIVATIONS, NormMLP

__all__ = ["value_gradient"]

# The actor's output layer starts tiny (`NormMLP`'s ``out_scale``): the policy starts
# near the centre of the box with its initial spread.
_ACTOR_OUT_SCALE = 1e-4


def value_gradient(model, observation_space, action_space, *, horizon: int = 10,
                   discount: float = 0.99, lambda_: float = 0.95, observe=None,
                   actor_hidden_sizes=(64, 64), critic_hidden_sizes=(64, 64),
                   activation: str = "elu", actor_lr: float = 3e-4, critic_lr: float = 1e-3,
                   grad_clip: float = 100.0, entropy_coef: float = 1e-3,
                   init_std: float = 1.0, min_std: float = 0.05, target_tau: float = 0.02,
                   scale_rate: float = 0.01) -> Learner:
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
      actor_hidden_sizes, critic_hidden_sizes: widths of the hidden layers (plain
        Dense layers with biases, no LayerNorm).
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
      a `Learner` whose ``inputs`` is ``observe``, ``model`` is ``model`` (pass it to
      ``update``), ``act`` reads observations ``[..., *obs_shape]`` (a tanh-Gaussian
      sample or its mode, inside the box) and whose state's ``return_scale`` starts at
      1 and stays floored at 1.

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
    if activation not in ACTIVATIONS:
        raise ValueError(f"{name}: activation must be one of {list(ACTIVATIONS)}, "
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
    actor_net = NormMLP(config["actor_hidden_sizes"], None, head.out_dim, norm=False,
                        activation=activation, out_scale=_ACTOR_OUT_SCALE, flatten=False)
    critic_net = NormMLP(config["critic_hidden_sizes"], None, 1, norm=False,
                         activation=activation, flatten=False)
    actor_tx = clipped_adam(actor_lr, grad_clip)
    critic_tx = clipped_adam(critic_lr, grad_clip)

    def flat(obs):
        """``[..., *obs_shape] -> [..., obs_dim]`` float32, the networks' input."""
        return jnp.reshape(obs, obs.shape[:obs.ndim - len(obs_shape)]
                           + (obs_dim,)).astype(jnp.float32)

    def policy_dist(actor_params, inputs):
        """tanh-squashed diagonal Gaussian over ``[-1, 1]^action_dim`` for the
        observations ``inputs [..., *obs_shape]``."""
        return head.distribution(actor_net.apply(actor_params, flat(inputs)))

    def value(critic_params, inputs):
        return critic_net.apply(critic_params, flat(inputs))[..., 0]

    def init(key) -> LearnerState:
        return init_state(key, actor_net, critic_net, obs_dim, actor_tx, critic_tx, 1.0)

    def act(actor_params, inputs, key, deterministic: bool = False):
        dist = policy_dist(actor_params, jnp.asarray(inputs, jnp.float32))
        return head.to_box(head.mode(dist) if deterministic else dist.sample(seed=key))

    def objective(actor_params, state, model, model_params, latents, key, start_weights):
        """``(actor loss, (Imagined, returns [B, H], values [B, H + 1], entropy [B, H]))``."""
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
        # is inside the returns), times the start's weight.
        reach = reach_weights(traj.discounts, start_weights)
        entropy = -log_probs
        # Returns are divided by their running spread (as in DreamerV3), so that
        # entropy_coef and the learning rate mean the same whatever the reward scale.
        gain = (reach * (returns / state.return_scale + entropy_coef * entropy)).mean()
        return -gain, (traj, returns, values, entropy)

    def critic_loss(critic_params, obs, targets, weights):
        v = value(critic_params, obs)
        return 0.5 * (weights * (v - targets) ** 2).mean()

    def update(state: LearnerState, model, model_params, start_latents, key,
               start_weights=None):
        start_weights = _weights(start_weights)
        (a_loss, (traj, returns, values, entropy)), a_grads = jax.value_and_grad(
            objective, has_aux=True)(state.actor, state, model, model_params, start_latents,
                                     key, start_weights)
        # The critic learns the value of the imagined states under the current policy;
        # states and targets are constants to it.
        obs = jax.lax.stop_gradient(jax.vmap(jax.vmap(observe))(traj.latents)[:, :-1])
        targets = jax.lax.stop_gradient(returns)
        c_loss, c_grads = jax.value_and_grad(critic_loss)(
            state.critic, obs, targets, reach_weights(traj.discounts, start_weights))
        # The scale divides the next update's returns (actor_critic's divides this
        # one's), and is kept floored at 1.
        scale = return_divisor(return_spread_ema(state.return_scale, targets, scale_rate))
        new = apply_gradients(state, a_grads, c_grads, actor_tx, critic_tx,
                              target_tau=target_tau, return_scale=scale)
        metrics = LearnerMetrics(
            actor_loss=a_loss, critic_loss=c_loss, imagined_return=returns[:, 0].mean(),
            entropy=entropy.mean(), value=values.mean(), return_scale=scale,
            actor_grad_norm=optax.global_norm(a_grads),
            critic_grad_norm=optax.global_norm(c_grads),
            last_latents=jax.tree.map(lambda x: x[:, -1], traj.latents))
        return new, metrics

    def actor_loss(actor_params, state: LearnerState, model, model_params, start_latents,
                   key, start_weights=None):
        return objective(actor_params, state, model, model_params, start_latents, key,
                         _weights(start_weights))[0]

    return make_learner(name, init=init, update=update, act=act, value=value,
                        distribution=policy_dist, actor_loss=actor_loss, inputs=observe,
                        model=model, config=config)


def _weights(start_weights):
    """``start_weights [B]`` as float32; None stays None (every start weighs 1)."""
    return None if start_weights is None else jnp.asarray(start_weights, jnp.float32)


def _split_action_model(model, action_dim, action_shape):
    """``model`` stepping on ``[action, log_prob]`` vectors: drops the log-probability
    and restores the action's shape before ``model.step``."""

    def step(params, latent, packed, key):
        return model.step(params, latent, packed[:action_dim].reshape(action_shape), key)

    # imagine() reads only ``step``; any record with it will do.
    return types.SimpleNamespace(step=step)

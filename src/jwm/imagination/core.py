"""What the imagination learners share besides their interface (`jwm.imagination.learner`):
the tanh-Gaussian policy head, the percentile return scale, the EMA of the critic, the
state's first value and its optimiser step, and the checks of their knobs.

Both `jwm.imagination.actor_critic` (Dreamer's, two-hot critic on latent features)
and `jwm.imagination.value_gradient` (SVG, squared-error critic on observations)
train an actor and a critic from imagined trajectories and keep

- a slow (EMA) copy of the critic, ``target_critic``, moved ``target_tau`` of the way
  to the critic after every update (`apply_gradients`);
- a running spread of the returns: an EMA with step ``scale_rate`` of the 95th minus
  5th percentile of a batch of returns (`return_spread_ema`); the actor's returns
  are divided by ``max(1, spread)`` (`return_divisor`), so that the entropy weight
  and the learning rate mean the same whatever the scale of the rewards.

Knob names, shared by both learners (`SHARED_KNOBS`, checked by `check_knobs`):
``horizon``, ``discount``, ``lambda_``, ``actor_hidden_sizes``,
``critic_hidden_sizes``, ``actor_lr``, ``critic_lr``, ``grad_clip``,
``entropy_coef``, ``min_std``, ``target_tau``, ``scale_rate``. The knobs that fix
shapes (``horizon``, the hidden sizes) must be Python ints; the others may also be
jax arrays, and tracers are accepted unchecked, so that a caller can trace through
them (e.g. vmap over learning rates).
"""

from __future__ import annotations

import dataclasses
import numbers
from typing import Callable

import distrax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from jwm.checks import check_int, check_real
from jwm.imagination.learner import LearnerState

__all__ = ["SHARED_KNOBS", "STD_PARAMETERISATIONS", "TanhGaussian",
           "apply_gradients", "check_int", "check_knobs", "check_sizes",
           "clipped_adam", "ema", "init_state", "reach_weights", "return_divisor",
           "return_spread_ema", "tanh_gaussian"]

STD_PARAMETERISATIONS = ("sigmoid", "softplus")


# ---------------------------------------------------------------------------------
# Knob checks.


def check_sizes(where: str, param: str, sizes) -> tuple[int, ...]:
    """Hidden widths as a tuple of positive ints (one int is one layer).

    Raises:
      ValueError: a width is not a positive int, or there is none.
    """
    if isinstance(sizes, numbers.Integral):
        sizes = (sizes,)
    try:
        sizes = tuple(sizes)
    except TypeError:
        raise ValueError(f"{where}: {param} must be a tuple of positive ints, "
                         f"got {sizes!r}") from None
    if not sizes or any(isinstance(w, bool) or not isinstance(w, numbers.Integral) or w < 1
                        for w in sizes):
        raise ValueError(f"{where}: {param} must be a tuple of positive ints, got {sizes!r}")
    return tuple(int(w) for w in sizes)


SHARED_KNOBS = ("horizon", "discount", "lambda_", "actor_hidden_sizes",
                "critic_hidden_sizes", "actor_lr", "critic_lr", "grad_clip", "entropy_coef",
                "min_std", "target_tau", "scale_rate")


def check_knobs(where: str, knobs: dict) -> dict:
    """Checks the knobs both learners take (`SHARED_KNOBS`, all present in ``knobs``).

    Ranges: ``horizon`` an int >= 1; ``discount`` in (0, 1]; ``lambda_`` in [0, 1];
    ``actor_lr``, ``critic_lr``, ``grad_clip``, ``min_std`` > 0; ``entropy_coef``
    >= 0; ``target_tau`` and ``scale_rate`` (EMA step sizes per update) in (0, 1];
    the hidden sizes tuples of positive ints. Other entries are the learner's to
    check.

    Returns:
      a copy of ``knobs`` (the start of a learner's ``config``) with ``horizon`` an
      int and the hidden sizes tuples; the numbers as given.

    Raises:
      TypeError, ValueError: naming the knob.
    """
    for param in ("discount", "target_tau", "scale_rate"):
        check_real(where, param, knobs[param], low=0.0, high=1.0, low_open=True)
    check_real(where, "lambda_", knobs["lambda_"], low=0.0, high=1.0)
    for param in ("actor_lr", "critic_lr", "grad_clip", "min_std"):
        check_real(where, param, knobs[param], low=0.0, low_open=True)
    check_real(where, "entropy_coef", knobs["entropy_coef"], low=0.0)
    return dict(knobs, horizon=check_int(where, "horizon", knobs["horizon"]),
                **{param: check_sizes(where, param, knobs[param])
                   for param in ("actor_hidden_sizes", "critic_hidden_sizes")})


# ---------------------------------------------------------------------------------
# The tanh-Gaussian policy head.


@dataclasses.dataclass(frozen=True)
class TanhGaussian:
    """A diagonal Gaussian squashed by tanh into ``[-1, 1]^D``, then mapped into a box.

    Attributes:
      out_dim: ``2 D``, the width of the network output it reads (means, raw stds).
      distribution: ``distribution(out [..., 2D]) -> distrax.Transformed`` over
        ``[-1, 1]^D``; its ``.distribution`` is the Gaussian before the tanh.
      mode: ``mode(dist) -> [..., D]``, tanh of the Gaussian's mean.
      to_box: ``to_box(unit [..., D]) -> [..., *action_shape]`` in the box; a
        non-finite ``unit`` (from a diverged input) gives the box's centre.
      from_box: ``from_box(action [..., *action_shape]) -> [..., D]``, the inverse of
        ``to_box``, kept ``1e-6`` inside ``+-1`` where the log-density is finite.
    """

    out_dim: int
    distribution: Callable[[jax.Array], distrax.Distribution]
    mode: Callable[[distrax.Distribution], jax.Array]
    to_box: Callable[[jax.Array], jax.Array]
    from_box: Callable[[jax.Array], jax.Array]


def tanh_gaussian(where: str, action_space, *, std: str, min_std, init_std=None,
                  anchor: str = "centre") -> TanhGaussian:
    """Builds the policy head for a bounded `Box` of actions.

    Args:
      where: the caller's name, for error messages.
      action_space: a `Box` with finite bounds, ``[*action_shape]``, ``D`` elements.
      std: how the network's raw output ``r`` becomes the standard deviation (before
        the tanh):

        - ``"sigmoid"``: ``(1 - min_std) sigmoid(r + 2) + min_std``, in
          ``[min_std, 1]`` (DreamerV3; ``init_std`` must be None, ``min_std < 1``);
        - ``"softplus"``: ``softplus(r + c) + min_std`` with ``c`` such that the std
          is ``init_std`` at ``r = 0`` (a near-zero last layer starts it there);
          unbounded above. ``init_std > min_std``, both concrete numbers.
      min_std: the floor of the standard deviation, > 0.
      init_std: see ``std``.
      anchor: ``to_box``'s float32 arithmetic, ``"centre"``: ``mid + half * u`` (exact
        for a box symmetric about 0), or ``"low"``: ``low + (u + 1) / 2 * (high - low)``.
        The same map up to rounding; each learner keeps the one its recorded
        results were computed with.

    Raises:
      ValueError: a bad ``std``, ``anchor``, ``min_std`` or ``init_std``, or an
        unbounded box.
    """
    if std not in STD_PARAMETERISATIONS:
        raise ValueError(f"{where}: std must be one of {STD_PARAMETERISATIONS}, got {std!r}")
    if anchor not in ("centre", "low"):
        raise ValueError(f"{where}: anchor must be 'centre' or 'low', got {anchor!r}")
    check_real(where, "min_std", min_std, low=0.0, low_open=True)
    if std == "sigmoid":
        if init_std is not None:
            raise ValueError(f"{where}: init_std is only for std='softplus' (the sigmoid "
                             f"std starts near 0.88), got {init_std!r}")
        check_real(where, "min_std", min_std, low=0.0, high=1.0, low_open=True, high_open=True)

        def std_of(raw):
            return (1.0 - min_std) * jax.nn.sigmoid(raw + 2.0) + min_std
    else:
        if isinstance(init_std, jax.core.Tracer) or isinstance(min_std, jax.core.Tracer):
            raise TypeError(f"{where}: init_std and min_std must be concrete numbers for "
                            f"std='softplus' (they fix the std's offset)")
        check_real(where, "init_std", init_std, low=0.0, low_open=True)
        if float(min_std) >= float(init_std):
            raise ValueError(f"{where}: min_std ({min_std}) must be below init_std "
                             f"({init_std})")
        # softplus(raw + shift) + min_std equals init_std at raw = 0; float64, once.
        shift = float(np.log(np.expm1(init_std - min_std)))

        def std_of(raw):
            return nn.softplus(raw + shift) + min_std

    if not hasattr(action_space, "low") or hasattr(action_space, "n") or not (
            np.isfinite(action_space.low).all() and np.isfinite(action_space.high).all()):
        raise ValueError(f"{where}: action_space must be a Box with finite bounds (the "
                         f"policy is tanh-squashed into them), got {action_space!r}")
    action_shape = tuple(action_space.shape)
    dim = int(np.prod(action_shape, dtype=np.int64))
    low = jnp.asarray(action_space.low, jnp.float32).reshape(dim)
    high = jnp.asarray(action_space.high, jnp.float32).reshape(dim)
    mid = jnp.asarray((action_space.high + action_space.low) / 2, jnp.float32).reshape(dim)
    half = jnp.asarray((action_space.high - action_space.low) / 2, jnp.float32).reshape(dim)

    def distribution(out):
        mean, raw_std = jnp.split(out, 2, -1)
        base = distrax.MultivariateNormalDiag(mean, std_of(raw_std))
        return distrax.Transformed(base, distrax.Block(distrax.Tanh(), 1))

    def mode(dist):
        return jnp.tanh(dist.distribution.loc)

    def to_box(unit):
        if anchor == "centre":
            a = mid + half * unit
        else:
            a = low + 0.5 * (unit + 1.0) * (high - low)
        # NaN (a diverged input) becomes the centre; tanh can round to exactly +-1 in
        # float32, and the clip keeps the box a hard guarantee.
        a = jnp.clip(jnp.where(jnp.isfinite(a), a, mid), low, high)
        return a.reshape(unit.shape[:-1] + action_shape)

    def from_box(action):
        flat = action.reshape(action.shape[:action.ndim - len(action_shape)] + (dim,))
        return jnp.clip((flat - mid) / half, -1.0 + 1e-6, 1.0 - 1e-6)

    return TanhGaussian(out_dim=2 * dim, distribution=distribution, mode=mode, to_box=to_box,
                        from_box=from_box)


# ---------------------------------------------------------------------------------
# Training steps.


def ema(old, new, rate):
    """``(1 - rate) old + rate new``, leaf by leaf (trees of arrays, or arrays)."""
    return optax.incremental_update(new, old, rate)


def return_spread_ema(scale: jax.Array, returns: jax.Array, rate) -> jax.Array:
    """``scale`` moved ``rate`` of the way to the 95th minus 5th percentile of all of
    ``returns [...]``; a constant to gradients. Returns ``[]``."""
    flat = jax.lax.stop_gradient(returns).reshape(-1)
    return ema(scale, jnp.percentile(flat, 95) - jnp.percentile(flat, 5), rate)


def return_divisor(scale: jax.Array) -> jax.Array:
    """What returns are divided by: ``max(1, scale)``, so that returns spread less than
    1 apart are not blown up."""
    return jnp.maximum(1.0, scale)


def reach_weights(discounts: jax.Array, start_weights: jax.Array | None = None) -> jax.Array:
    """``[B, H]`` weight of each imagined step: the product of ``start_weights [B]``
    (default 1) and the ``discounts [B, H]`` of the steps before it. A constant to
    gradients, as in Dreamer, so that nothing after an imagined termination is
    learned from."""
    start = (jnp.ones_like(discounts[:, :1]) if start_weights is None
             else start_weights[:, None])
    return jax.lax.stop_gradient(jnp.cumprod(jnp.concatenate([start, discounts[:, :-1]], 1), 1))


def clipped_adam(lr, grad_clip, eps: float = 1e-8) -> optax.GradientTransformation:
    """Adam after clipping the gradient's global norm to ``grad_clip``."""
    return optax.chain(optax.clip_by_global_norm(grad_clip), optax.adam(lr, eps=eps))


def init_state(key: jax.Array, actor_net: nn.Module, critic_net: nn.Module, in_dim: int,
               actor_tx: optax.GradientTransformation, critic_tx: optax.GradientTransformation,
               return_scale: float) -> LearnerState:
    """Fresh networks on an ``[in_dim]`` input, their optimiser states, the target
    critic equal to the critic, ``return_scale`` and 0 steps."""
    k_actor, k_critic = jax.random.split(key)
    x = jnp.zeros((in_dim,), jnp.float32)
    actor = actor_net.init(k_actor, x)
    critic = critic_net.init(k_critic, x)
    return LearnerState(actor=actor, critic=critic, target_critic=critic,
                            actor_opt=actor_tx.init(actor), critic_opt=critic_tx.init(critic),
                            return_scale=jnp.full((), return_scale, jnp.float32),
                            steps=jnp.zeros((), jnp.int32))


def apply_gradients(state: LearnerState, actor_grads, critic_grads,
                    actor_tx: optax.GradientTransformation,
                    critic_tx: optax.GradientTransformation, *, target_tau,
                    return_scale: jax.Array) -> LearnerState:
    """One optimiser step of the actor and of the critic, then the target critic's EMA
    towards the new critic; stores ``return_scale`` and counts the step."""
    actor_updates, actor_opt = actor_tx.update(actor_grads, state.actor_opt, state.actor)
    critic_updates, critic_opt = critic_tx.update(critic_grads, state.critic_opt, state.critic)
    actor = optax.apply_updates(state.actor, actor_updates)
    critic = optax.apply_updates(state.critic, critic_updates)
    return LearnerState(actor=actor, critic=critic,
                            target_critic=ema(state.target_critic, critic, target_tau),
                            actor_opt=actor_opt, critic_opt=critic_opt,
                            return_scale=return_scale, steps=state.steps + 1)

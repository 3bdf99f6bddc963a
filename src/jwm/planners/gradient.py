"""Gradient-based planning: Adam on action sequences through the model's dynamics."""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.extend.core import Var

from jwm.checks import check_choice, check_int, check_real
from jwm.planners.base import PlanInfo, Planner, make_planner, shift_plan, space_kind
from jwm.planners.objective import make_evaluator, worst_score

__all__ = ["gradient", "GradientState", "check_action_gradient", "make_ascent",
           "differentiable_box"]


class GradientState(NamedTuple):
    """Warm start carried between calls: the plan ``[H, *action_shape]`` in action units."""

    plan: jax.Array


def differentiable_box(planner: str, action_space):
    """``(to_actions, to_unit)`` for a Box: maps between actions and ``u`` in [-1, 1].

    Optimising ``u`` instead of the actions makes a learning rate a fraction of the
    half-range in every dimension, whatever the units. A Discrete space has no
    gradient: TypeError naming ``action_space``.
    """
    if space_kind(action_space, planner, allowed=("box", "discrete")) == "discrete":
        raise TypeError(f"{planner}: action_space must be a Box space: a gradient needs "
                        f"continuous actions (use cem or mcts for Discrete), got "
                        f"{action_space!r}")
    low = jnp.asarray(action_space.low)
    high = jnp.asarray(action_space.high)
    centre, half = (low + high) / 2, (high - low) / 2
    # A zero-width dimension has nothing to optimise; its u stays 0.
    safe_half = jnp.where(half > 0, half, 1.0)

    def to_actions(u):
        return jnp.clip(centre + half * u, low, high)

    def to_unit(actions):
        return jnp.clip((actions - centre) / safe_half, -1.0, 1.0)

    return to_actions, to_unit


def _model_name(model) -> str:
    step = getattr(model, "step", None)
    qualname = getattr(step, "__qualname__", None)
    if qualname is None:
        return repr(step)
    module = getattr(step, "__module__", None)
    return f"{module}.{qualname}" if module else qualname


def check_action_gradient(planner: str, model, returns_of: Callable, params, latent,
                          actions, key) -> None:
    """Raises a TypeError naming the model when ``returns_of`` has no gradient in the actions.

    ``returns_of(params, latent, actions, key) -> returns [N]``. At trace time, the
    jaxpr of its vector-Jacobian product is searched for a path from the output
    cotangent to the action gradient: a model that rounds or casts the action to an
    integer, or stops its gradient, gives a gradient that is a constant zero (or of
    JAX's ``float0`` type), and Adam on it would silently do nothing.
    """

    def spec(tree):
        return jax.tree.map(lambda v: jax.ShapeDtypeStruct(
            jnp.shape(v), v.dtype if hasattr(v, "dtype") else jnp.result_type(v)), tree)

    def action_cotangent(p, z, a, k, ct):
        _, pullback = jax.vjp(lambda a_: returns_of(p, z, a_, k), a)
        return pullback(ct)[0]

    returns_shape = jax.eval_shape(returns_of, spec(params), spec(latent), spec(actions),
                                   spec(key))
    closed = jax.make_jaxpr(action_cotangent)(spec(params), spec(latent), spec(actions),
                                              spec(key), returns_shape)
    jaxpr = closed.jaxpr
    out = jaxpr.outvars[0]
    reaches = {jaxpr.invars[-1]}
    # Conservative: an equation with any reached input reaches all its outputs, so a
    # false alarm is impossible and only a truly constant gradient is refused.
    for eqn in jaxpr.eqns:
        if any(isinstance(v, Var) and v in reaches for v in eqn.invars):
            reaches.update(eqn.outvars)
    float0 = jnp.dtype(out.aval.dtype) == jax.dtypes.float0
    if float0 or not (isinstance(out, Var) and out in reaches):
        raise TypeError(
            f"{planner}: the model's return is not differentiable in its action: the "
            f"gradient of model.step ({_model_name(model)}) with respect to the action is "
            f"identically zero (integer casts, rounding or stop_gradient on the action?). "
            f"Use a sampling planner (cem, icem, mppi) for this model.")


class AscentResult(NamedTuple):
    """What `make_ascent`'s ``ascend`` returns.

    Attributes:
      best_u: ``[N, H, *a]`` per sequence, the best point visited (the start included).
      best_return: ``[N]`` its return (non-finite mapped to the worst score).
      step_returns: ``[steps + 1]`` the best return over the N sequences at each
        point (the start, after each step).
      num_nonfinite: int32, non-finite returns met.
    """

    best_u: jax.Array
    best_return: jax.Array
    step_returns: jax.Array
    num_nonfinite: jax.Array


def make_ascent(planner: str, model, evaluate: Callable, to_actions: Callable, steps: int,
                learning_rate) -> Callable:
    """``ascend(params, latent, u0 [N, H, *a], key) -> AscentResult``: ``steps`` Adam steps.

    Each step scores the ``N`` sequences with ``evaluate`` (the shared objective) and
    moves each one up its own gradient, then projects back onto [-1, 1]. Adam is
    elementwise, so one optimiser over the stacked sequences is ``N`` independent
    ones. A non-finite return or gradient gives that sequence a zero step, so NaN never
    reaches the plan. ``learning_rate`` (in half-ranges per step) may be traced.
    """
    optimiser = optax.adam(learning_rate)

    def ascend(params, latent, u0, key):
        def returns_of(p, z, actions, k):
            return evaluate(p, z, actions, k)[0]

        check_action_gradient(planner, model, returns_of, params, latent, to_actions(u0),
                              key)

        def objective(u, k):
            returns, bad = evaluate(params, latent, to_actions(u), k)
            return -returns.sum(), (returns, bad)

        def step(carry, k):
            u, opt_state, best_u, best_ret, nonfinite = carry
            (_, (returns, bad)), grad = jax.value_and_grad(objective, has_aux=True)(u, k)
            best_u, best_ret = _keep_each(best_u, best_ret, u, returns)
            ok = (returns > worst_score()).reshape((-1,) + (1,) * (u.ndim - 1))
            grad = jnp.where(ok & jnp.isfinite(grad), grad, 0.0)
            updates, opt_state = optimiser.update(grad, opt_state, u)
            u = optax.projections.projection_box(optax.apply_updates(u, updates), -1.0, 1.0)
            return (u, opt_state, best_u, best_ret, nonfinite + bad), returns.max()

        k_steps, k_final = jax.random.split(key)
        carry0 = (u0, optimiser.init(u0), u0, jnp.full(u0.shape[:1], -jnp.inf, jnp.float32),
                  jnp.zeros((), jnp.int32))
        (u, _, best_u, best_ret, nonfinite), step_returns = jax.lax.scan(
            step, carry0, jax.random.split(k_steps, steps))
        returns, bad = evaluate(params, latent, to_actions(u), k_final)
        best_u, best_ret = _keep_each(best_u, best_ret, u, returns)
        return AscentResult(best_u, best_ret, jnp.append(step_returns, returns.max()),
                            nonfinite + bad)

    return ascend


def _keep_each(best_u, best_ret, u, returns):
    improved = returns > best_ret
    mask = improved.reshape((-1,) + (1,) * (u.ndim - 1))
    return jnp.where(mask, u, best_u), jnp.where(improved, returns, best_ret)


def gradient(model, action_space, *, horizon: int, iterations: int = 50,
             learning_rate: float = 0.1, restarts: int = 8, init: str = "random",
             warm_start: bool = True, discount: float = 1.0, value_fn=None,
             particles: int = 1) -> Planner:
    """Builds a gradient planner: Adam on action sequences through ``model.step``.

    Each call optimises ``restarts`` sequences at once (vmapped through the shared
    objective, `population_returns`) by ``iterations`` Adam steps on their returns,
    each step projected back onto the action bounds, and acts on the best sequence
    visited. The first restart is the warm start (the previous plan shifted one step;
    the zero action, projected into the box, on the first call); the others start
    from ``init``.

    Gradients only find local optima: on a multimodal objective (a pendulum that must
    swing back before it can swing up) random restarts are what escapes them.

    Args:
      model: a `WorldModel` whose ``step`` is differentiable in the action (checked at
        trace time: a TypeError names the model when the gradient is identically zero).
      action_space: a `Box` with finite bounds (Discrete: TypeError).
      horizon: H, steps planned ahead.
      iterations: Adam steps per call.
      learning_rate: > 0, Adam's step size in half-ranges of the box (0.1 moves each
        action by at most about 5% of its range per step); may be traced.
      restarts: sequences optimised in parallel.
      init: ``"random"``: uniform in the box each call; ``"zeros"``: the zero action
        projected into the box (deterministic: with a deterministic model use
        ``restarts`` 1 or 2).
      warm_start: start the first restart from the previous plan, shifted; the new last
        step is the zero action projected into the box.
      discount, value_fn, particles: the objective, see `population_returns`; with
        particles the gradient is that of the particle average.

    Returns:
      `Planner` whose ``plan`` returns ``(action [*action_shape], GradientState,
      PlanInfo)``; ``PlanInfo.iteration_returns`` ``[iterations]`` is the best
      restart's return after each step.
    """
    name = "gradient"
    to_actions, to_unit = differentiable_box(name, action_space)
    horizon = check_int(name, "horizon", horizon)
    iterations = check_int(name, "iterations", iterations)
    restarts = check_int(name, "restarts", restarts)
    learning_rate = check_real(name, "learning_rate", learning_rate, low=0.0, low_open=True)
    init = check_choice(name, "init", init, ("random", "zeros"))
    evaluate = make_evaluator(name, model, discount=discount, value_fn=value_fn,
                              particles=particles)
    ascend = make_ascent(name, model, evaluate, to_actions, iterations, learning_rate)
    seq_shape = (horizon,) + tuple(action_space.shape)
    zero_u = to_unit(jnp.zeros(action_space.shape, jnp.asarray(action_space.low).dtype))

    def init_state(key):
        del key
        return GradientState(plan=to_actions(jnp.broadcast_to(zero_u, seq_shape)))

    def plan(plan_state, params, latent, key):
        k_init, k_ascent = jax.random.split(key)
        if init == "random":
            starts = jax.random.uniform(k_init, (restarts,) + seq_shape, minval=-1.0,
                                        maxval=1.0)
        else:
            starts = jnp.broadcast_to(zero_u, (restarts,) + seq_shape)
        if warm_start:
            starts = starts.at[0].set(to_unit(plan_state.plan))
        result = ascend(params, latent, starts, k_ascent)
        i = jnp.argmax(result.best_return)
        chosen = to_actions(result.best_u[i])
        next_plan = (shift_plan(chosen, to_actions(zero_u)) if warm_start
                     else init_state(None).plan)
        info = PlanInfo(plan=chosen, predicted_return=result.best_return[i],
                        best_return=result.best_return[i],
                        iteration_returns=result.step_returns[1:],
                        num_nonfinite=result.num_nonfinite)
        return chosen[0], GradientState(plan=next_plan), info

    return make_planner(name, init_state, plan)

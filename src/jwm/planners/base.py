"""The `Planner` record, the info every shooting planner reports, and argument checks."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jwm.checks import check_int, check_real
from jwm.keys import with_typed_key

__all__ = ["Planner", "PlanInfo", "box_geometry", "chosen_plan", "elite_count", "keep_best",
           "make_planner", "shift_plan", "space_kind"]


@dataclasses.dataclass(frozen=True)
class Planner:
    """A planner as pure functions.

    Attributes:
      init: ``init(key) -> plan_state``, the warm-start state carried between calls.
      plan: ``plan(plan_state, params, latent, key) -> (action, plan_state, info)``.
        Plans for one latent; vmap it for a batch.
    """

    init: Callable[[jax.Array], Any]
    plan: Callable[[Any, Any, Any, jax.Array], tuple[jax.Array, Any, Any]]


def make_planner(name: str, init: Callable, plan: Callable) -> Planner:
    """The `Planner` of ``init`` and ``plan``, taking typed or legacy PRNG keys.

    Both functions receive typed keys (`jwm.keys`), so a body splits and indexes one
    kind only; ``init`` ignores its key and also accepts ``None``. Error messages name
    ``name.init`` / ``name.plan``.
    """
    return Planner(init=with_typed_key(init, 0, where=f"{name}.init", optional=True),
                   plan=with_typed_key(plan, 3, where=f"{name}.plan"))


class PlanInfo(NamedTuple):
    """What a shooting planner reports about one `plan` call.

    Attributes:
      plan: the planned action sequence ``[H, *action_shape]`` whose first action is
        returned.
      predicted_return: scalar, the model's return of ``plan`` (NaN/inf mapped to the
        worst score).
      best_return: scalar, the best return among all candidates evaluated.
      iteration_returns: ``[iterations]`` mean return of the elites (CEM), of the
        weighted population (MPPI) or of the best candidate (random shooting) per
        iteration.
      num_nonfinite: int32, how many candidate returns were NaN or inf.
    """

    plan: jax.Array
    predicted_return: jax.Array
    best_return: jax.Array
    iteration_returns: jax.Array
    num_nonfinite: jax.Array


def space_kind(space, planner: str, allowed=("box", "discrete")) -> str:
    """``"box"`` or ``"discrete"`` by duck typing, or a TypeError naming ``action_space``."""
    if hasattr(space, "n") and getattr(space, "shape", ()) == ():
        kind = "discrete"
    elif hasattr(space, "low") and hasattr(space, "high"):
        kind = "box"
    else:
        raise TypeError(
            f"{planner}: action_space must be a jwm.spaces.Box or Discrete, got {space!r}"
        )
    if kind not in allowed:
        wanted = " or ".join("Box" if k == "box" else "Discrete" for k in allowed)
        raise TypeError(f"{planner}: action_space must be a {wanted} space, got {space!r}")
    if kind == "box":
        if not np.issubdtype(np.dtype(space.dtype), np.floating):
            raise TypeError(f"{planner}: action_space Box must be floating, got {space.dtype}")
        if not (np.isfinite(space.low).all() and np.isfinite(space.high).all()):
            raise ValueError(
                f"{planner}: action_space must have finite bounds to sample from, got {space!r}"
            )
    return kind


def box_geometry(planner: str, action_space, spread_name: str, spread):
    """``(low, high, centre, spread)`` of a Box as arrays of its shape.

    ``spread`` is the sampling std: the user's value (checked > 0) or, when None, a
    quarter of the action range, so that +-2 std spans the box.
    """
    low = jnp.asarray(action_space.low)
    high = jnp.asarray(action_space.high)
    if spread is None:
        spread = (high - low) / 4
    else:
        spread = jnp.full(action_space.shape,
                          check_real(planner, spread_name, spread, low=0.0, low_open=True),
                          low.dtype)
    return low, high, (low + high) / 2, spread


def shift_plan(sequence, fresh_step):
    """Warm start: drop the step just taken and append ``fresh_step`` at the end."""
    return jnp.concatenate([sequence[1:], fresh_step[None]])


def keep_best(best_seq, best_return, actions, returns):
    """The best sequence seen so far, updated with a scored population ``actions [N, H, ...]``."""
    i = jnp.argmax(returns)
    improved = returns[i] > best_return
    return (jnp.where(improved, actions[i], best_seq),
            jnp.where(improved, returns[i], best_return))


def chosen_plan(return_mode: str, best_seq, best_return, mean_seq, evaluate, params, latent,
                key, num_nonfinite):
    """``(plan, its return, num_nonfinite)`` that a sampling planner executes: the best
    sequence seen and its return (``return_mode="best"``), or the final mean sequence
    ``mean_seq [H, ...]`` scored once more by ``evaluate`` (``"mean"``), whose
    non-finite return, if any, is added to the count."""
    if return_mode == "best":
        return best_seq, best_return, num_nonfinite
    mean_return, bad = evaluate(params, latent, mean_seq[None], key)
    return mean_seq, mean_return[0], num_nonfinite + bad


def elite_count(planner: str, population: int, elite_frac, num_elites) -> tuple:
    """``(elite_frac, num_elites)`` of a population-based planner: ``num_elites`` as
    given, or ``ceil(elite_frac * population)`` (then ``elite_frac`` must be concrete:
    it fixes a shape), checked to lie in ``1..population``."""
    elite_frac = check_real(planner, "elite_frac", elite_frac, low=0.0, high=1.0,
                            low_open=True, static=num_elites is None)
    if num_elites is None:
        num_elites = max(1, int(np.ceil(elite_frac * population - 1e-9)))
    num_elites = check_int(planner, "num_elites", num_elites)
    if num_elites > population:
        raise ValueError(f"{planner}: num_elites must be <= population ({population}), "
                         f"got {num_elites}")
    return elite_frac, num_elites

"""The parts a MuZero (or AlphaZero) agent is built from, besides its model: the
searches (`muzero_search`: self-play with exploration noise, and the same search
without it for evaluation and reanalyse) and the network's optimizer
(`muzero_optimizer`). `jwm.agents.muzero` takes them already built, as PETS takes
its planner; the recipes build them from their ``search`` and ``optimizer``
sections."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np
import optax

from jwm.checks import check_choice, check_real, is_traced
from jwm.planners.mcts import mcts

__all__ = ["MuZeroSearch", "SEARCH_RULES", "muzero_optimizer", "muzero_search"]

SEARCH_RULES = ("gumbel", "puct")
# How self-play acts after each rule's search, when the caller does not say:
# Gumbel MuZero acts by its own Gumbel argmax; MuZero's PUCT samples the visit counts
# at MuZero's temperature schedule (1, 0.5, 0.25 over the run).
_DEFAULT_TEMPERATURE = {"gumbel": None, "puct": "muzero"}


@dataclasses.dataclass(frozen=True)
class MuZeroSearch:
    """The searches of a MuZero agent.

    Attributes:
      self_play: the `Planner` that acts in self-play (with its root noise).
      greedy: the same search without noise, for evaluation and reanalyse (Gumbel's
        top-k by prior only; PUCT without Dirichlet noise, acting by the most visited
        action).
      temperature: how self-play acts on ``self_play``'s result: None takes its own
        action; a float, a schedule ``f(env_steps)`` or ``"muzero"`` (MuZero's 1 / 0.5 /
        0.25 after 0 / 50 / 75% of the env steps after the prefill) samples the search
        policy at that temperature.
      discount: the per-step discount the searches use, which the value targets use
        too.
      config: the settings it was built from (recorded in the agent's config).
    """

    self_play: Any
    greedy: Any
    temperature: Any
    discount: float
    config: dict


def muzero_search(model, action_space, *, rule: str = "gumbel", num_simulations: int = 16,
                  discount: float = 0.997, max_num_considered_actions: int = 16,
                  gumbel_scale: float = 1.0, dirichlet_alpha: float = 0.25,
                  dirichlet_fraction: float = 0.25,
                  temperature: float | Callable | str | None = None) -> MuZeroSearch:
    """The `MuZeroSearch` of ``model`` (a `MuZeroModel`: its ``prior_fn`` and
    ``value_fn`` guide the search) for a Discrete ``action_space``.

    Args:
      rule: ``"gumbel"`` (Gumbel MuZero: Gumbel-top-k root with sequential halving,
        policy targets ``softmax(logits + completed Q)``, acts by the Gumbel argmax) or
        ``"puct"`` (visit-count targets, Dirichlet root noise, actions sampled at
        ``temperature``).
      num_simulations: simulations per search (self-play, reanalyse, evaluation).
      discount: per-step discount in [0, 1] of the search and the value targets.
      max_num_considered_actions, gumbel_scale: Gumbel MuZero's root (`mcts`).
      dirichlet_alpha, dirichlet_fraction: PUCT's root noise.
      temperature: PUCT's action temperature: a float, a schedule ``f(env_steps)`` (an
        optax schedule; env steps count the prefill), or None for ``"muzero"``, MuZero's
        schedule. Gumbel MuZero acts by its argmax and takes None only.
    """
    where = "muzero_search"
    rule = check_choice(where, "rule", rule, SEARCH_RULES)
    discount = check_real(where, "discount", discount, low=0.0, high=1.0)
    if temperature is None:
        temperature = _DEFAULT_TEMPERATURE[rule]
    elif _DEFAULT_TEMPERATURE[rule] is None:
        raise ValueError(f"{where}: temperature is for the visit-count rule ('puct'); "
                         f"{rule!r} acts by its own search, got {temperature!r}")
    elif not (callable(temperature) or temperature == "muzero"):
        temperature = check_real(where, "temperature", temperature, low=0.0)
    options = dict(num_simulations=num_simulations, rule=rule, prior_fn=model.prior_fn,
                   value_fn=model.value_fn, discount=discount,
                   max_num_considered_actions=max_num_considered_actions,
                   dirichlet_alpha=dirichlet_alpha)
    # One options dict for both searches, the noise of either rule set in both: mcts
    # checks the other rule's knobs and ignores them.
    self_play = mcts(model, action_space, gumbel_scale=gumbel_scale,
                     dirichlet_fraction=dirichlet_fraction, **options)
    greedy = mcts(model, action_space, gumbel_scale=0.0, dirichlet_fraction=0.0,
                  temperature=0.0, **options)
    config = dict(rule=rule, num_simulations=num_simulations, discount=discount,
                  max_num_considered_actions=max_num_considered_actions,
                  gumbel_scale=gumbel_scale, dirichlet_alpha=dirichlet_alpha,
                  dirichlet_fraction=dirichlet_fraction,
                  temperature=(getattr(temperature, "__name__", "schedule")
                               if callable(temperature) else temperature))
    return MuZeroSearch(self_play=self_play, greedy=greedy, temperature=temperature,
                        discount=discount, config=config)


def muzero_optimizer(num_updates: int | None = None, *, learning_rate: float = 3e-3,
                     final_learning_rate: float | None = None, weight_decay: float = 1e-4,
                     grad_clip: float = 5.0) -> optax.GradientTransformation:
    """MuZero's optimizer: AdamW after a global-norm clip, its step size constant or,
    with ``final_learning_rate`` (in ``[0, learning_rate]``), cosine-decayed to it over
    ``num_updates`` updates and held after. `jwm.agents.muzero` calls a function of
    ``num_updates`` (e.g. ``functools.partial(muzero_optimizer, learning_rate=...)``)
    with the run's number of updates."""
    where = "muzero_optimizer"
    learning_rate = check_real(where, "learning_rate", learning_rate, low=0.0, low_open=True)
    weight_decay = check_real(where, "weight_decay", weight_decay, low=0.0)
    grad_clip = check_real(where, "grad_clip", grad_clip, low=0.0, low_open=True)
    step_size = learning_rate
    if final_learning_rate is not None:
        final_learning_rate = check_real(
            where, "final_learning_rate", final_learning_rate, low=0.0,
            high=np.inf if is_traced(learning_rate) else learning_rate)
        if num_updates is None:
            raise ValueError(f"{where}: final_learning_rate decays over the run, so "
                             "num_updates is needed")
        step_size = optax.cosine_decay_schedule(learning_rate, num_updates,
                                                alpha=final_learning_rate / learning_rate)
    return optax.chain(optax.clip_by_global_norm(grad_clip),
                       optax.adamw(step_size, weight_decay=weight_decay))

"""`mcts`: Monte Carlo tree search as a `Planner`, its rule picked by name.

The rules themselves are the builders `puct`, `gumbel` and `uct`
(`jwm.planners.mcts.rules`), a Box action space is `sampled_actions` around one of
them, and `mcts` maps ``rule=`` to its builder and forwards the options.
"""

from __future__ import annotations

import inspect

from jwm.checks import check_choice
from jwm.planners.base import Planner, space_kind
from jwm.planners.mcts.assembly import NAME, SEARCH_OPTIONS, MCTSInfo, MCTSState
from jwm.planners.mcts.continuous import SAMPLING_OPTIONS, sampled_actions
from jwm.planners.mcts.rules import KNOBS, check_knobs, gumbel, puct, uct

__all__ = ["mcts", "MCTSInfo", "MCTSState", "RULES"]

_BUILDERS = {"puct": puct, "gumbel": gumbel, "uct": uct}
RULES = tuple(_BUILDERS)


def _options_of(build) -> frozenset:
    """The option names ``build`` takes: its keyword-only parameters and the shared ones."""
    params = inspect.signature(build).parameters.values()
    return frozenset(p.name for p in params if p.kind is p.KEYWORD_ONLY) | set(SEARCH_OPTIONS)


def mcts(model, action_space, *, num_simulations: int, rule: str = "puct",
         **options) -> Planner:
    """Builds an MCTS planner over a `Discrete(n)` or a `Box` action space.

    ``rule`` names the builder: ``"puct"`` (`puct`: AlphaZero/MuZero, Dirichlet noise
    at the root, acting by visit counts ``** (1 / temperature)``), ``"gumbel"``
    (`gumbel`: Gumbel MuZero's sequential halving, acting by the Gumbel argmax) or
    ``"uct"`` (`uct`: UCB1, meant for rollouts). A Box is searched by sampled MuZero:
    `sampled_actions` around that builder (``num_sampled_actions`` candidates per
    node from ``proposal_fn``, uniform in the box when None).

    ``options`` are those of the builder (its own knobs, with their defaults there) and
    the shared ones (`SEARCH_OPTIONS`: ``prior_fn``, ``value_fn``,
    ``invalid_actions_fn``, rollouts, ``discount``, ``max_depth``; see `assemble`).
    Hyperparameter names follow mctx. Knobs of the other rules are accepted, checked
    and ignored, so that one set of options builds either rule (`jwm.agents.muzero`
    builds its noisy and its greedy search of either rule from one); ``reuse_tree``
    with a rule that cannot reuse, or ``proposal_fn`` with a Discrete space, is a
    ValueError, and a name no builder takes a TypeError.

    ``plan(plan_state, params, latent, key)`` returns ``(action, plan_state,
    MCTSInfo)``; ``plan_state`` is ``()`` without reuse, an `MCTSState` with it.
    """
    build = _BUILDERS[check_choice(NAME, "rule", rule, RULES)]
    taken = _options_of(build)
    if space_kind(action_space, NAME) == "box":
        build, taken = sampled_actions(build), taken | set(SAMPLING_OPTIONS)
    ignored = {name: options.pop(name) for name in list(options) if name not in taken}
    _check_ignored(rule, action_space, ignored)
    return build(model, action_space, num_simulations=num_simulations, **options)


def _check_ignored(rule: str, action_space, ignored: dict) -> None:
    """Refuses the options the chosen builder does not take that would change the
    search; checks the other rules' knobs as their builders do (``mcts`` always has)."""
    known = set(SAMPLING_OPTIONS).union(*map(_options_of, _BUILDERS.values()))
    for name in ignored:
        if name not in known:
            raise TypeError(f"{NAME}: unexpected option {name!r}; the options are "
                            f"{sorted(known - {'num_simulations'})}")
    if ignored.get("reuse_tree"):
        reusing = [r for r, b in _BUILDERS.items() if "reuse_tree" in _options_of(b)]
        raise ValueError(f"{NAME}: reuse_tree is not supported with rule={rule!r} (its "
                         f"builder takes no reuse_tree: see its docstring); use one of "
                         f"{reusing}")
    if ignored.get("proposal_fn") is not None:
        raise ValueError(f"{NAME}: proposal_fn is for Box action spaces; got {action_space!r}")
    check_knobs(NAME, **{name: v for name, v in ignored.items() if name in KNOBS})

"""The agent contract: every learning loop (PETS, SVG, Dreamer, ...) is an `Agent`.

An agent is a record of pure functions over one state pytree:

    state = agent.init(key)              # AgentState: everything the run needs
    state, metrics = agent.step(state)   # one iteration; pure, jit once, vmap over seeds
    state, metrics = agent.run(key)      # init + lax.scan of step: one XLA program
    policy, params = agent.policy, agent.policy_params(state)   # act in an env

``run`` is ``init`` followed by a `lax.scan` of ``step``, so it gives exactly what
``init`` and ``iterations`` calls of ``step`` give, and `jwm.train` can drive the same
``step`` from the host (progress, checkpoints, exact resume) instead.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, NamedTuple

import jax

from jwm.checks import check_int
from jwm.keys import as_typed_key
from jwm.records import record_repr

__all__ = ["Agent", "AgentState", "ModelFitMetrics", "ModelOptState", "PlannerMetrics",
           "SearchMetrics", "strong_types"]


class ModelFitMetrics(NamedTuple):
    """``model/...`` of an agent that refits its dynamics model on the buffer between
    episodes (PETS, SVG).

    Attributes:
      loss: the refit's training loss in its last epoch (summed over members).
      val_error: ``[E]`` hold-out error of the weights the refit kept, per member
        (normalised target units).
    """

    loss: jax.Array
    val_error: jax.Array

    __repr__ = record_repr


class PlannerMetrics(NamedTuple):
    """``planner/...`` of an agent that acts by planning (PETS).

    Attributes:
      predicted_return: mean over an episode's steps of the planner's predicted return
        (NaN where no step was planned).
    """

    predicted_return: jax.Array

    __repr__ = record_repr


class ModelOptState(NamedTuple):
    """``AgentState.model_opt`` of a model trained against a target copy of itself.

    Attributes:
      optimizer: the optax state of the model's optimizer.
      target_params: the target network, a periodic copy of ``model_params``.
    """

    optimizer: Any
    target_params: Any


class SearchMetrics(NamedTuple):
    """``search/...`` of an agent that acts by tree search (MuZero, AlphaZero).

    Attributes:
      root_value: mean search value at the self-play roots of the iteration.
      temperature: the action-sampling temperature used (PUCT; 0 for Gumbel).
    """

    root_value: jax.Array
    temperature: jax.Array

    __repr__ = record_repr


class AgentState(NamedTuple):
    """One agent's whole state. The fields are the same for every agent; a part an
    agent does not have is ``()``.

    Attributes:
      key: typed PRNG key, split once per iteration.
      iteration: int32, iterations done.
      env_steps: int32, environment steps collected, the prefill included (evaluation
        episodes excluded).
      updates: int32, gradient updates (or model fits) done.
      model_params: the world model's parameters.
      model_opt: the world model's training state: its optimizer state, or a
        `ModelOptState` (optimizer state and target network) for a model that
        bootstraps its targets from a slow copy of itself (MuZero); ``()`` when each
        fit starts afresh. A learner's own targets (a target critic) live in its state.
      learner: the policy learner's state (actor-critic, value-gradient learner), or ``()``.
      buffer: the replay buffer's state.
      env: the state of environments that persist across iterations (Dreamer's
        parallel envs), or ``()``.
    """

    key: jax.Array
    iteration: jax.Array
    env_steps: jax.Array
    updates: jax.Array
    model_params: Any
    model_opt: Any
    learner: Any
    buffer: Any
    env: Any

    __repr__ = record_repr


def strong_types(tree):
    """``tree`` with every weakly typed array made strong (same dtype and values).

    A state fresh from ``init`` may hold weakly typed scalars (a library's
    ``jnp.asarray(0)``) that the step returns strongly typed; jit would then compile the
    step twice, once per typing. Agents pass their initial state through this."""
    return jax.tree.map(lambda x: jax.lax.convert_element_type(x, x.dtype)
                        if getattr(x, "weak_type", False) else x, tree)


@dataclasses.dataclass(frozen=True)
class Agent:
    """A learning loop as pure functions (see the module docstring).

    Attributes:
      name: ``"pets"``, ``"svg"``, ``"dreamer"``, ...
      init: ``init(key) -> AgentState``; typed or legacy keys.
      step: ``step(state) -> (state, metrics)``: one iteration. ``metrics`` is a
        NamedTuple of arrays whose fields include ``env_steps`` (int32, collected so
        far) and ``eval_return`` (the iteration's evaluation return).
      iterations: N, the iterations of a full run.
      policy: the `Policy` the agent evaluates with.
      policy_params: ``policy_params(state) -> params`` for ``policy``.
      config: the loop's hyperparameters and its parts' (JSON-serialisable); a
        checkpoint written under another config is refused.
    """

    name: str
    init: Callable[[jax.Array], AgentState]
    step: Callable[[AgentState], tuple[AgentState, Any]]
    iterations: int
    policy: Any
    policy_params: Callable[[AgentState], Any]
    config: dict

    def with_config(self, **extra) -> "Agent":
        """The same agent with ``extra`` entries in its config (e.g. the whole recipe
        it was built from, so that checkpoints and results record it)."""
        return dataclasses.replace(self, config={**self.config, **extra})

    def run(self, key, iterations: int | None = None):
        """``init(key)`` then ``iterations`` (default N) steps in one `lax.scan`:
        ``(final state, metrics stacked [iterations, ...])``."""
        iterations = check_int(f"{self.name}.run", "iterations",
                                        self.iterations if iterations is None else iterations)
        state = self.init(as_typed_key(key, where=f"{self.name}.run"))
        return jax.lax.scan(lambda s, _: self.step(s), state, None, length=iterations)

"""A replay buffer of transitions that lives inside jit, on flashbax's item buffer.

flashbax does the storage (a fixed-capacity ring, written inside jit). Model fitting
needs every stored row epoch by epoch, not flashbax's random minibatches, so
`buffer_contents` reads the ring's storage directly and marks which rows hold data.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import flashbax
import jax
import jax.numpy as jnp

from jwm.agents.episode import Episode
from jwm.models.fit import Transitions

__all__ = ["TransitionBuffer", "transition_buffer", "episode_transitions"]


class TransitionBuffer(NamedTuple):
    """Pure functions over a flashbax buffer state of `Transitions` rows.

    Attributes:
      init: ``init() -> state``, an empty buffer.
      add: ``add(state, rows: Transitions [L]) -> state``; ``L`` at most ``capacity``.
        Rows with ``valid`` false are stored too and stay masked.
      contents: ``contents(state) -> Transitions [capacity]`` whose ``valid`` marks rows
        that were written and are real transitions.
      capacity: rows held; the oldest are overwritten first.
    """

    init: Any
    add: Any
    contents: Any
    capacity: int


def transition_buffer(capacity: int, obs_shape, action_shape, action_dtype=jnp.float32
                      ) -> TransitionBuffer:
    """A `TransitionBuffer` of ``capacity`` rows of the given observation/action shapes."""
    if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity <= 0:
        raise ValueError(f"transition_buffer: capacity must be a positive int, got {capacity!r}")
    example = Transitions(obs=jnp.zeros(obs_shape, jnp.float32),
                          action=jnp.zeros(action_shape, action_dtype),
                          reward=jnp.zeros((), jnp.float32),
                          next_obs=jnp.zeros(obs_shape, jnp.float32),
                          valid=jnp.zeros((), bool))
    # Sampling parameters are required by flashbax but unused here.
    fbx = flashbax.make_item_buffer(max_length=capacity, min_length=1, sample_batch_size=1,
                                    add_sequences=True, add_batches=False)

    def init():
        return fbx.init(example)

    def add(state, rows: Transitions):
        length = rows.valid.shape[0]
        if length > capacity:
            raise ValueError(f"TransitionBuffer.add: {length} rows exceed the capacity "
                             f"{capacity}")
        return fbx.add(state, rows)

    def contents(state) -> Transitions:
        rows = jax.tree.map(lambda x: x[0], state.experience)
        written = state.is_full | (jnp.arange(capacity) < state.current_index)
        return rows._replace(valid=rows.valid & written)

    return TransitionBuffer(init=init, add=add, contents=contents, capacity=capacity)


def episode_transitions(episode: Episode) -> Transitions:
    """The ``T`` transitions of an `Episode`; steps after its end are marked invalid."""
    return Transitions(obs=episode.observations, action=episode.actions,
                       reward=episode.rewards, next_obs=episode.next_observations,
                       valid=episode.active)

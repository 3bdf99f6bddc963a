"""Demonstrations: whole episodes of a policy, stored as arrays, for models trained
offline (frame models, video diffusion, inverse dynamics, behaviour cloning).

Format. A `Demonstrations` record holds ``N`` episodes of a fixed ``T`` steps each,
as `run_episode` collects them (after an episode ends its frame is frozen and its
steps are inactive):

* ``observations``: ``[N, T + 1, *obs_shape]`` in the env's dtype (0/1 float32
  frames for MinAtar): ``o_0 .. o_T``; ``o_{t+1}`` is what action ``a_t`` led to.
* ``actions``: ``[N, T, *action_shape]``.
* ``rewards``: ``[N, T]`` float32, 0 on inactive steps.
* ``active``: ``[N, T]`` bool, the step happened inside the episode.
* ``terminated``: ``[N, T]`` bool, the episode ended at this step (terminated or
  truncated: gymnax envs report the two together).
* ``task``: ``[N]`` int32, a label per episode (who or what made it: e.g. 0 for
  random play, 1 for an expert) that task-conditioned models read.

On disk (`save` / `load`) it is one compressed ``.npz`` of these six arrays plus
``metadata``, a JSON string (the environment, the policy, the seed: whatever the
caller records). No pickled objects: `load` reads with ``allow_pickle=False``. The
file is written to a temporary name and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import json
import os
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jwm.agents.episode import run_episode
from jwm.checks import check_int, check_real
from jwm.keys import as_typed_key
from jwm.records import record_repr

__all__ = ["Demonstrations", "clips", "collect", "concatenate", "load", "save", "split",
           "transitions"]

_FIELDS = ("observations", "actions", "rewards", "active", "terminated", "task")


class Demonstrations(NamedTuple):
    """``N`` episodes of ``T`` steps (see the module docstring for the format)."""

    observations: jax.Array
    actions: jax.Array
    rewards: jax.Array
    active: jax.Array
    terminated: jax.Array
    task: jax.Array

    __repr__ = record_repr


def collect(env, policy, params, key, *, episodes: int, num_steps: int,
            task: int = 0) -> Demonstrations:
    """``episodes`` episodes of ``policy`` in ``env``, run in parallel (vmapped
    `run_episode`), all labelled ``task``. Jit it with ``episodes``, ``num_steps``
    and ``task`` static."""
    check_int("collect", "episodes", episodes)
    check_int("collect", "num_steps", num_steps)
    check_int("collect", "task", task, minimum=0)
    key = as_typed_key(key, where="collect")
    one = lambda k: run_episode(env, policy, params, k, num_steps=num_steps)
    episode = jax.vmap(one)(jax.random.split(key, episodes))
    observations = jnp.concatenate([episode.observations, episode.next_observations[:, -1:]],
                                   axis=1)
    return Demonstrations(observations=observations, actions=episode.actions,
                          rewards=episode.rewards.astype(jnp.float32),
                          active=episode.active, terminated=episode.dones & episode.active,
                          task=jnp.full((episodes,), task, jnp.int32))


def concatenate(*parts: Demonstrations) -> Demonstrations:
    """The episodes of every part, in order (all of the same ``T`` and shapes)."""
    if not parts:
        raise ValueError("concatenate: give at least one Demonstrations")
    _check_same_layout("concatenate", parts)
    return Demonstrations(*(np.concatenate([np.asarray(getattr(p, f)) for p in parts])
                            for f in _FIELDS))


def split(demos: Demonstrations, held_out_fraction: float, key) -> tuple:
    """``(train, held_out)``: whole episodes, shuffled by ``key``; at least one episode
    on each side."""
    _check(demos, "split")
    n = demos.task.shape[0]
    fraction = check_real("split", "held_out_fraction", held_out_fraction, low=0.0, high=1.0,
                          low_open=True, high_open=True)
    if n < 2:
        raise ValueError(f"split: demos must hold at least 2 episodes, got {n}")
    held = min(max(int(round(float(fraction) * n)), 1), n - 1)
    order = np.asarray(jax.random.permutation(as_typed_key(key, where="split"), n))
    pick = lambda idx: Demonstrations(*(np.asarray(x)[idx] for x in demos))
    return pick(np.sort(order[held:])), pick(np.sort(order[:held]))


def transitions(demos: Demonstrations) -> tuple:
    """``(frames [M, *obs], next_frames [M, *obs], actions [M, *act])``: every active
    step of every episode, as NumPy arrays (``M`` = active steps in all)."""
    _check(demos, "transitions")
    obs, active = np.asarray(demos.observations), np.asarray(demos.active)
    return obs[:, :-1][active], obs[:, 1:][active], np.asarray(demos.actions)[active]


def clips(demos: Demonstrations, length: int) -> tuple:
    """Every window of ``length`` consecutive active steps:
    ``(frames [M, length + 1, *obs], actions [M, length, *act], rewards [M, length],
    terminated [M, length], task [M])`` as NumPy arrays. A window may end with the
    episode's last step (``terminated`` marks it) but never runs past it."""
    _check(demos, "clips")
    steps = demos.active.shape[1]
    if check_int("clips", "length", length) > steps:
        raise ValueError(f"clips: length must be at most the episodes' {steps} steps, "
                         f"got {length}")
    active = np.asarray(demos.active)
    # A window starting at t is whole when steps t .. t+length-1 are all active.
    counts = np.cumsum(np.pad(active, ((0, 0), (1, 0))), axis=1)
    whole = (counts[:, length:] - counts[:, :-length]) == length
    episode, start = np.nonzero(whole)
    span = start[:, None] + np.arange(length)[None]
    obs = np.asarray(demos.observations)
    return (obs[episode[:, None], np.concatenate([span, span[:, -1:] + 1], axis=1)],
            np.asarray(demos.actions)[episode[:, None], span],
            np.asarray(demos.rewards)[episode[:, None], span],
            np.asarray(demos.terminated)[episode[:, None], span],
            np.asarray(demos.task)[episode])


def save(path: str, demos: Demonstrations, metadata: dict | None = None) -> None:
    """Writes ``demos`` and ``metadata`` (JSON-serialisable) to ``path`` (``.npz``)
    atomically."""
    _check(demos, "save")
    if not str(path).endswith(".npz"):
        raise ValueError(f"save: path must end with .npz, got {path!r}")
    text = json.dumps({} if metadata is None else metadata)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, metadata=np.asarray(text),
                                **{name: np.asarray(getattr(demos, name)) for name in _FIELDS})
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load(path: str) -> tuple:
    """``(Demonstrations, metadata)`` from a file `save` wrote."""
    with np.load(path, allow_pickle=False) as data:
        missing = sorted(set(_FIELDS + ("metadata",)) - set(data.files))
        if missing:
            raise ValueError(f"load: {path} is not a demonstrations file (missing {missing})")
        demos = Demonstrations(*(data[name] for name in _FIELDS))
        metadata = json.loads(str(data["metadata"]))
    _check(demos, "load")
    return demos, metadata


def _check(demos, where: str) -> None:
    if not isinstance(demos, Demonstrations):
        raise TypeError(f"{where}: demos must be a Demonstrations, got {type(demos).__name__}")
    n, steps = demos.actions.shape[:2] if demos.actions.ndim >= 2 else (None, None)
    expected = {"observations": (n, steps + 1) if steps is not None else None,
                "rewards": (n, steps), "active": (n, steps), "terminated": (n, steps),
                "task": (n,)}
    for name, lead in expected.items():
        shape = getattr(demos, name).shape
        if lead is None or tuple(shape[:len(lead)]) != lead:
            raise ValueError(f"{where}: demos.{name} has shape {tuple(shape)}, which does not "
                             f"fit actions of shape {tuple(demos.actions.shape)} "
                             f"([N, T, ...] needs observations [N, T+1, ...], rewards, "
                             f"active and terminated [N, T], task [N])")


def _check_same_layout(where: str, parts) -> None:
    for p in parts:
        _check(p, where)
    first = parts[0]
    for p in parts[1:]:
        for name in _FIELDS:
            a, b = getattr(first, name), getattr(p, name)
            if a.shape[1:] != b.shape[1:] or np.dtype(a.dtype) != np.dtype(b.dtype):
                raise ValueError(f"{where}: demos.{name} differ in layout: "
                                 f"{a.dtype}{list(a.shape)} vs {b.dtype}{list(b.shape)}")

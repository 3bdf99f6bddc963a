"""The configurations of a sweep: a grid or a list of dicts, split into the values
that are traced (vmapped over in one program) and the ones that fix the program
(grouped: one program per distinct set of them)."""

from __future__ import annotations

import itertools
import json
import numbers
from typing import NamedTuple

import numpy as np

__all__ = ["Group", "check_configs", "grid", "group_configs"]


def grid(**axes) -> list[dict]:
    """The Cartesian product of ``axes`` as a list of configurations, the last axis
    varying fastest: ``grid(a=[1, 2], b=[0.1, 0.2])`` is ``[{a: 1, b: 0.1}, {a: 1, b:
    0.2}, {a: 2, b: 0.1}, {a: 2, b: 0.2}]``.

    Raises:
      ValueError: no axis, or an axis without values (or not a list/tuple).
    """
    if not axes:
        raise ValueError("grid: give at least one axis, e.g. grid(learning_rate=[1e-3, 1e-4])")
    for name, values in axes.items():
        if not isinstance(values, (list, tuple)) or not values:
            raise ValueError(f"grid: axis {name!r} must be a non-empty list of values, "
                             f"got {values!r}")
    names = list(axes)
    return [dict(zip(names, point)) for point in itertools.product(*axes.values())]


def check_configs(configs) -> list[dict]:
    """``configs`` as a list of dicts with string keys, each JSON-serialisable.

    Raises:
      ValueError: an empty list, a configuration that is not a dict, a key that is
        not a string, or a value JSON cannot hold.
    """
    if isinstance(configs, dict):
        raise ValueError("sweep: configs must be a list of dicts (use jwm.sweeps.grid(...) "
                         "for a grid), got one dict")
    try:
        configs = list(configs)
    except TypeError:
        raise ValueError(f"sweep: configs must be a list of dicts, got {configs!r}") from None
    if not configs:
        raise ValueError("sweep: configs is empty; give at least one configuration")
    for i, config in enumerate(configs):
        if not isinstance(config, dict) or not all(isinstance(k, str) for k in config):
            raise ValueError(f"sweep: configuration {i} must be a dict with string keys, "
                             f"got {config!r}")
        try:
            json.dumps(config)
        except (TypeError, ValueError) as e:
            raise ValueError(f"sweep: configuration {i} must hold JSON values "
                             f"(numbers, strings, lists): {e}") from None
    return [dict(c) for c in configs]


def _is_real(value) -> bool:
    return (isinstance(value, (numbers.Real, np.floating))
            and not isinstance(value, (bool, np.bool_, numbers.Integral)))


class Group(NamedTuple):
    """Configurations that share one program.

    Attributes:
      indices: positions of the group's configurations in the sweep's list.
      static: the values every configuration of the group shares (they may fix
        shapes), including those equal across the whole sweep.
      traced: the names whose values vary in the group; each becomes a float32
        scalar traced through the build.
      values: ``{name: [value per configuration]}`` of the traced names.
    """

    indices: list
    static: dict
    traced: tuple
    values: dict


def group_configs(configs: list[dict], static=()) -> list[Group]:
    """Splits ``configs`` into `Group`s.

    A name is traced when its values are real numbers (floats, not ints or bools)
    that differ between configurations and it is not listed in ``static``; every
    other value is part of the program. Configurations with equal program values
    share a group; groups come in the order of their first configuration.

    Raises:
      ValueError: configurations with different keys, or a ``static`` name that no
        configuration has.
    """
    keys = set(configs[0])
    for i, config in enumerate(configs):
        if set(config) != keys:
            raise ValueError(f"sweep: every configuration needs the same keys; "
                             f"configuration {i} has {sorted(config)}, configuration 0 has "
                             f"{sorted(keys)}")
    static = set(static)
    unknown = sorted(static - keys)
    if unknown:
        raise ValueError(f"sweep: static names {unknown} are not keys of the configurations "
                         f"({sorted(keys)})")
    traced = tuple(k for k in configs[0] if k not in static
                   and all(_is_real(c[k]) for c in configs)
                   and len({float(c[k]) for c in configs}) > 1)
    groups: dict[str, Group] = {}
    for i, config in enumerate(configs):
        fixed = {k: v for k, v in config.items() if k not in traced}
        label = json.dumps(fixed, sort_keys=True)
        if label not in groups:
            groups[label] = Group([], fixed, traced, {k: [] for k in traced})
        groups[label].indices.append(i)
        for k in traced:
            groups[label].values[k].append(float(config[k]))
    return list(groups.values())

"""`make`: an environment from its ``"<suite>:<id>"`` name, and the adapters of the
optional suites (brax, pgx), imported only when used."""

from __future__ import annotations

from jwm.envs.base import Env

__all__ = ["from_brax", "from_pgx", "make"]


def from_brax(env, **kwargs) -> Env:
    """See `jwm.envs.brax_adapter.from_brax` (imported lazily: brax is an optional extra)."""
    from jwm.envs.brax_adapter import from_brax as _from_brax

    return _from_brax(env, **kwargs)


def from_pgx(game, **kwargs) -> Env:
    """See `jwm.envs.pgx_adapter.from_pgx` (imported lazily: pgx is an optional extra)."""
    from jwm.envs.pgx_adapter import from_pgx as _from_pgx

    return _from_pgx(game, **kwargs)


def make(name: str, **kwargs) -> Env:
    """Builds an environment from ``"<suite>:<id>"``.

    * ``"gymnax:<id>"``, e.g. ``"gymnax:Pendulum-v1"``: keyword arguments override
      fields of the gymnax env params (``max_steps_in_episode=100``, ...), except
      ``transition_gradients=True``, which keeps gradients through the transition
      (see `from_gymnax`).
    * ``"brax:<name>"``, e.g. ``"brax:inverted_pendulum"``: ``backend=`` picks the brax
      pipeline (``"generalized"``, ``"positional"``, ``"spring"``),
      ``max_episode_steps=`` the time limit (default 1000); other keyword arguments go
      to ``brax.envs.get_environment``.
    * ``"pgx:<game>"``, e.g. ``"pgx:tic_tac_toe"``, ``"pgx:connect_four"``,
      ``"pgx:othello"``: two-player board games (`jwm.envs.pgx_adapter`);
      ``max_episode_steps=`` overrides the game's longest length.
    * ``"craftax:<name>"``, e.g. ``"craftax:Craftax-Classic-Symbolic-v1"``
      (`jwm.envs.craftax_adapter`): keyword arguments override fields of its params
      (``max_timesteps=``, ...).
    * ``"navix:<id>"``, e.g. ``"navix:Navix-Empty-5x5-v0"`` (MiniGrid,
      `jwm.envs.navix_adapter`): keyword arguments go to ``navix.make``
      (``max_steps=``, ``observation_fn=``, ...).

    Raises:
      ValueError: ``name`` has no known suite prefix or names an unknown environment,
        or a keyword is not a parameter of that environment.
      ImportError: the extra of the suite (brax, pgx, craftax, navix) is not installed.
    """
    if not isinstance(name, str) or ":" not in name:
        raise ValueError(
            f"make: name must look like 'gymnax:<id>', 'brax:<name>', 'pgx:<game>', "
            f"'craftax:<name>' or 'navix:<id>', got {name!r}"
        )
    suite, env_id = name.split(":", 1)
    suites = {"gymnax": _gymnax, "brax": _brax, "pgx": _pgx, "craftax": _craftax,
              "navix": _navix}
    if suite not in suites:
        raise ValueError(f"make: unknown suite {suite!r} in {name!r}; use one of "
                         f"{', '.join(s + ':' for s in suites)}")
    return suites[suite](name, env_id, kwargs)


def _gymnax(name: str, env_id: str, kwargs: dict) -> Env:
    import gymnax

    from jwm.envs.gymnax_adapter import from_gymnax

    if env_id not in gymnax.registered_envs:
        raise ValueError(
            f"make: unknown gymnax environment {env_id!r}; known: {', '.join(gymnax.registered_envs)}"
        )
    transition_gradients = kwargs.pop("transition_gradients", False)
    env, env_params = gymnax.make(env_id)
    unknown = sorted(set(kwargs) - set(env_params.__dataclass_fields__))
    if unknown:
        raise ValueError(
            f"make: {unknown} are not parameters of {name}; "
            f"allowed: {sorted(env_params.__dataclass_fields__)}"
        )
    env_params = env_params.replace(**kwargs)
    return from_gymnax(env, env_params, name=name, transition_gradients=transition_gradients)


def _brax(name: str, env_id: str, kwargs: dict) -> Env:
    try:
        from brax import envs as brax_envs
    except ImportError as e:  # pragma: no cover - depends on the install
        raise ImportError("make: brax environments need the extra: pip install 'jwm[brax]'") from e

    max_episode_steps = kwargs.pop("max_episode_steps", 1000)
    try:
        env = brax_envs.get_environment(env_id, **kwargs)
    except KeyError as e:
        raise ValueError(
            f"make: unknown brax environment {env_id!r}; known: {', '.join(sorted(brax_envs._envs))}"
        ) from e
    return from_brax(env, max_episode_steps=max_episode_steps, name=name)


def _pgx(name: str, env_id: str, kwargs: dict) -> Env:
    try:
        import pgx
    except ImportError as e:  # pragma: no cover - depends on the install
        raise ImportError("make: pgx games need the extra: pip install 'jwm[pgx]'") from e

    max_episode_steps = kwargs.pop("max_episode_steps", None)
    if kwargs:
        raise ValueError(f"make: {sorted(kwargs)} are not options of {name}; allowed: "
                         "['max_episode_steps']")
    if env_id not in pgx.available_envs():
        raise ValueError(f"make: unknown pgx game {env_id!r}; known: "
                         f"{', '.join(pgx.available_envs())}")
    return from_pgx(pgx.make(env_id), name=name, max_episode_steps=max_episode_steps)


def _craftax(name: str, env_id: str, kwargs: dict) -> Env:
    try:
        from craftax.craftax_env import make_craftax_env_from_name
    except ImportError as e:  # pragma: no cover - depends on the install
        raise ImportError("make: craftax environments need the extra: pip install "
                          "'jwm[craftax]'") from e
    from jwm.envs.craftax_adapter import NAMES, from_craftax

    if env_id not in NAMES:
        raise ValueError(f"make: unknown craftax environment {env_id!r}; known: {', '.join(NAMES)}")
    env = make_craftax_env_from_name(env_id, auto_reset=False)
    params = env.default_params
    unknown = sorted(set(kwargs) - set(params.__dataclass_fields__))
    if unknown:
        raise ValueError(f"make: {unknown} are not parameters of {name}; allowed: "
                         f"{sorted(params.__dataclass_fields__)}")
    return from_craftax(env, params.replace(**kwargs), name=name)


def _navix(name: str, env_id: str, kwargs: dict) -> Env:
    try:
        import navix
    except ImportError as e:  # pragma: no cover - depends on the install
        raise ImportError("make: navix environments need the extra: pip install 'jwm[navix]'") from e
    from jwm.envs.navix_adapter import from_navix

    known = navix.registry()
    if env_id not in known:
        raise ValueError(f"make: unknown navix environment {env_id!r}; known: "
                         f"{', '.join(sorted(known))}")
    try:
        env = navix.make(env_id, **kwargs)
    except TypeError as e:
        raise ValueError(f"make: {name}: {e}") from None
    return from_navix(env, name=name)

"""jwm: planning with world models in JAX, as records of pure functions.

Every package's exports load on first use (PEP 562): ``import jwm`` imports neither jax
nor the optional libraries (flashbax, orbax, distrax, optax, brax, pgx, matplotlib,
...), so the command's help and scripts that need one corner of the toolkit start fast.
"""

# Aliased: the package's namespace holds its API only.
import importlib as _importlib
import sys as _sys
import types as _types

__version__ = "0.1.0"

__all__ = ["Planner", "WorldModel", "agents", "envs", "imagination", "models", "planners",
           "spaces", "sweep", "sweeps", "train", "training"]


class _LazyPackage(_types.ModuleType):
    """A package whose exports are imported on first access."""

    def __getattr__(self, name):
        where = self.__dict__["_lazy_exports"].get(name)
        if where is not None:
            value = getattr(_importlib.import_module(where), name)
            setattr(self, name, value)  # later lookups skip __getattr__
            return value
        missing = f"module {self.__name__!r} has no attribute {name!r}"
        if name.startswith("__"):  # dunder probes (copy, pickle, doctest) find nothing
            raise AttributeError(missing)
        try:  # a submodule, as `import pkg` followed by `pkg.sub` always allowed
            return _importlib.import_module(f"{self.__name__}.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"{self.__name__}.{name}":
                raise AttributeError(missing) from None
            # An optional dependency is missing: an AttributeError still, so that
            # `hasattr` and tools walking `dir()` (pydoc, completion) carry on.
            raise AttributeError(f"{missing} ({e})") from e

    def __setattr__(self, name, value):
        # Importing a submodule sets it as an attribute of its package; where the
        # package exports a function of the same name (`jwm.agents.pets`), that would
        # hide the function, so the export keeps the name.
        if (name in self.__dict__.get("_lazy_exports", ())
                and isinstance(value, _types.ModuleType)
                and value.__name__ == f"{self.__name__}.{name}"):
            return
        super().__setattr__(name, value)

    def __dir__(self):
        import pkgutil  # here: it costs more than the rest of `import jwm`

        submodules = {info.name for info in pkgutil.iter_modules(self.__path__)}
        return sorted(set(super().__dir__()) | set(self.__all__) | submodules)


def _export_lazily(package: str, exports: dict[str, list[str]]) -> None:
    """Makes the names ``exports`` lists, ``{submodule: [name, ...]}`` (submodules
    relative to ``package``, or absolute ``jwm.<module>`` for a record of a lower floor
    that the package's face also offers), attributes of ``package`` imported on first
    access."""
    module = _sys.modules[package]
    module._lazy_exports = {
        name: submodule if submodule.startswith("jwm.") else f"{package}.{submodule}"
        for submodule, names in exports.items() for name in names}
    module.__class__ = _LazyPackage


_export_lazily(__name__, {"models.base": ["WorldModel"], "planners.base": ["Planner"],
                          "sweeps": ["sweep"], "training": ["train"]})

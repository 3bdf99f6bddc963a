"""Environments: the pure `Env` record (`base`: ``reset``, ``step``, ``transition``,
``observe``, spaces), adapters of gymnax (`gymnax_adapter`), brax (`brax_adapter`) and
pgx board games (`pgx_adapter`), and `make` (`registration`), which builds any of them
from its ``"<suite>:<id>"`` name."""

from jwm import _export_lazily

__all__ = ["Env", "Transition", "from_brax", "from_gymnax", "from_pgx", "make"]

_export_lazily(__name__, {"base": ["Env", "Transition"],
                          "gymnax_adapter": ["from_gymnax"],
                          "registration": ["from_brax", "from_pgx", "make"]})

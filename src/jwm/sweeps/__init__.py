"""Sweeps: many configurations × seeds of an agent in one compiled program per group
of shapes, sharded over devices and hosts (`sweep`), with a tidy results table,
summaries and plots (`SweepResult`)."""

from jwm import _export_lazily

__all__ = ["Group", "SweepResult", "bootstrap_interval", "check_configs", "grid",
           "group_configs", "sweep", "sweep_devices"]

_export_lazily(__name__, {
    "configs": ["Group", "check_configs", "grid", "group_configs"],
    "results": ["SweepResult", "bootstrap_interval"],
    "run": ["sweep", "sweep_devices"],
})

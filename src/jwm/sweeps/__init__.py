"""Sweeps: many configurations × seeds of an agent in one compiled program per group
of shapes, sharded over devices and hosts (`sweep`), with a tidy results table,
summaries and plots (`SweepResult`)."""

from jwm.sweeps.configs import Group, check_configs, grid, group_configs
from jwm.sweeps.results import SweepResult, bootstrap_interval, steps_to_threshold
from jwm.sweeps.run import sweep, sweep_devices

__all__ = ["Group", "SweepResult", "bootstrap_interval", "check_configs", "grid",
           "group_configs", "steps_to_threshold", "sweep", "sweep_devices"]

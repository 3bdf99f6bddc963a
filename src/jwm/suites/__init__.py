"""Suites: grids of agent × env × budget cells in tiers, run cell by cell (each
resumable, a finished one never re-run) into score files, and the table read from
them (``jwm suite FILE``)."""

from jwm import _export_lazily

__all__ = ["Cell", "Suite", "SuiteRun", "cell_config", "load_suite", "run_cell", "run_suite",
           "tier_cells", "write_table"]

_export_lazily(__name__, {
    "spec": ["Cell", "Suite", "load_suite", "tier_cells"],
    "cell": ["cell_config", "run_cell"],
    "run": ["SuiteRun", "run_suite", "write_table"],
})

"""Score files (format ``jwm.scores/1``: one evaluation of one seed per JSON line),
importers of other projects' scores, and the table and plots read from them."""

from jwm import _export_lazily

__all__ = ["FIELDS", "SCHEMA", "Curve", "Task", "aggregate", "config_hash", "curves",
           "import_dreamerv3", "import_tdmpc2", "interval", "markdown", "normalised_scores",
           "plot_curves", "plot_profiles", "read_scores", "return_at", "score_row",
           "task_rows", "versus", "write_scores"]

_export_lazily(__name__, {
    "format": ["FIELDS", "SCHEMA", "config_hash", "read_scores", "score_row", "write_scores"],
    "importers": ["import_dreamerv3", "import_tdmpc2"],
    "curves": ["Curve", "curves", "return_at"],
    "table": ["Task", "aggregate", "interval", "markdown", "normalised_scores", "task_rows",
              "versus"],
    "plots": ["plot_curves", "plot_profiles"],
})

"""The tutorial notebooks in ``notebooks/`` run top to bottom without an error, and
are committed without outputs.

Each notebook is executed in memory by nbclient in a fresh kernel started with this
interpreter (``sys.executable``), so the test does not depend on which kernelspecs are
installed; nothing is written back to the notebook files. nbclient, nbformat and ipykernel
come with the ``notebooks`` extra, part of ``test``.
"""

import glob
import os
import sys

import nbclient
import nbformat
import pytest
from jupyter_client import KernelManager

NOTEBOOKS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                             "notebooks")
NOTEBOOKS = sorted(glob.glob(os.path.join(NOTEBOOKS_DIR, "*.ipynb")))
CELL_TIMEOUT_S = 300
# The notebooks' programs are small and mostly run once or twice, so XLA's backend
# optimisation costs more compile time than it saves in execution (as in conftest.py).
XLA_FLAG = "--xla_backend_optimization_level=0"


def _kernel_manager():
    """A KernelManager that starts ipykernel with this very interpreter."""
    km = KernelManager(kernel_name="python3")
    km.kernel_spec.argv = [sys.executable, "-m", "ipykernel_launcher", "-f",
                           "{connection_file}"]
    return km


def test_there_are_notebooks():
    names = [os.path.basename(p) for p in NOTEBOOKS]
    assert len(names) >= 7, names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[os.path.basename(p)[:-6] for p in NOTEBOOKS])
def test_notebook_has_no_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.get("outputs", []) == [], f"{path}: cell {i} has outputs; strip them"
            assert cell.get("execution_count") is None, f"{path}: cell {i} has a count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[os.path.basename(p)[:-6] for p in NOTEBOOKS])
def test_notebook_runs(path, monkeypatch):
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_backend_optimization_level" not in flags:
        flags = (flags + " " + XLA_FLAG).strip()
    monkeypatch.setenv("XLA_FLAGS", flags)          # the kernel inherits the environment
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, km=_kernel_manager(), timeout=CELL_TIMEOUT_S,
                                     resources={"metadata": {"path": NOTEBOOKS_DIR}})
    client.execute()             # raises CellExecutionError, naming the cell, on any error
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            assert output.get("output_type") != "error", output

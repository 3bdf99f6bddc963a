"""Every Python block of the README and the docs runs as written: the blocks of one page
run in order in one namespace, as a reader pasting them into one session would."""

import contextlib
import io
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _pages():
    pages = ["README.md"] + [os.path.join("docs", name)
                             for name in sorted(os.listdir(os.path.join(ROOT, "docs")))
                             if name.endswith(".md")]
    return [page for page in pages if BLOCK.search(open(os.path.join(ROOT, page)).read())]


@pytest.mark.parametrize("page", _pages())
def test_code_blocks_run_as_written(page, tmp_path, monkeypatch):
    with open(os.path.join(ROOT, page)) as f:
        blocks = BLOCK.findall(f.read())
    monkeypatch.chdir(tmp_path)  # anything a block writes lands in a temporary folder
    namespace = {"__name__": "__main__"}
    for number, block in enumerate(blocks, 1):
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                exec(compile(block, f"{page} block {number}", "exec"), namespace)
            except Exception as error:  # name the block that failed
                raise AssertionError(f"{page}, Python block {number} failed: {error!r}") from error

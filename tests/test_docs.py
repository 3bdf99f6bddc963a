"""The documentation builds and points only inside the repository: `make docs`'s
strict mkdocs build passes, every public module has a place in the API reference, and
every relative link in the README and docs resolves to a file of the repository."""

import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Modules that are internal plumbing, not API: argument checks, the CLI, helpers.
NOT_IN_REFERENCE = {"jwm", "jwm.cli", "jwm.agents.checks", "jwm.models.checks",
                    "jwm.models.net_init", "jwm.planners.mcts.rows"}
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _modules():
    src = os.path.join(ROOT, "src")
    for folder, _, files in os.walk(os.path.join(src, "jwm")):
        for name in files:
            if name.endswith(".py"):
                path = os.path.relpath(os.path.join(folder, name), src)[:-3]
                module = path.replace(os.sep, ".").removesuffix(".__init__")
                yield module


def _pages():
    yield os.path.join(ROOT, "README.md")
    for folder in ("docs", "notebooks"):
        for base, _, files in os.walk(os.path.join(ROOT, folder)):
            yield from (os.path.join(base, f) for f in files if f.endswith(".md"))


def test_every_public_module_is_in_the_api_reference():
    api = os.path.join(ROOT, "docs", "api")
    listed = set()
    for name in os.listdir(api):
        with open(os.path.join(api, name)) as f:
            listed |= set(re.findall(r"^::: (\S+)$", f.read(), re.M))
    packages = {m for m in _modules() if os.path.isdir(os.path.join(ROOT, "src", *m.split(".")))}
    missing = set(_modules()) - listed - NOT_IN_REFERENCE - packages
    assert not missing, f"add these modules to a page of docs/api/: {sorted(missing)}"


def test_relative_links_resolve_inside_the_repository():
    broken = []
    for page in _pages():
        with open(page) as f:
            text = f.read()
        for target in LINK.findall(text):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            path = os.path.normpath(os.path.join(os.path.dirname(page), target.split("#")[0]))
            if not path.startswith(ROOT + os.sep) or not os.path.exists(path):
                broken.append(f"{os.path.relpath(page, ROOT)} -> {target}")
    assert not broken, broken


def test_the_site_builds_strictly(tmp_path):
    mkdocs = pytest.importorskip("mkdocs")
    del mkdocs
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
                             "--site-dir", str(tmp_path / "site")], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "api" / "planners" / "index.html").exists()

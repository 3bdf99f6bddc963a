"""`docs/results.md` is generated from the result JSON by `experiments/summarise.py`:
the committed page must equal what the generator writes now, and every result file
must appear on it. Fails when someone reruns an experiment without regenerating the
page (fix: `python experiments/summarise.py`)."""

import glob
import importlib.util
import json
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGE = os.path.join(ROOT, "docs", "results.md")


def _summarise():
    spec = importlib.util.spec_from_file_location(
        "summarise", os.path.join(ROOT, "experiments", "summarise.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_page_is_up_to_date():
    ok, diff = _summarise().check(PAGE)
    assert ok, ("docs/results.md differs from the JSON; run `python experiments/summarise.py`"
                "\n" + diff[:4000])


def test_every_result_json_appears_on_the_page():
    with open(PAGE) as f:
        page = f.read()
    files = [os.path.relpath(p, ROOT).replace(os.sep, "/")
             for d in ("experiments/results", "benchmarks/results")
             for p in glob.glob(os.path.join(ROOT, d, "*.json"))]
    assert files
    missing = [p for p in files if f"`{p}`" not in page]
    assert not missing, f"result files missing from docs/results.md: {missing}"


def test_table_of_contents_links_resolve_to_headings():
    summarise = _summarise()
    with open(PAGE) as f:
        page = f.read()
    anchors = {summarise.slug(h) for h in re.findall(r"^## (.+)$", page, re.M)}
    links = re.findall(r"\]\(#([^)]+)\)", page)
    assert links and set(links) <= anchors


def test_a_file_without_a_renderer_still_appears(tmp_path, monkeypatch):
    summarise = _summarise()
    results = tmp_path / "experiments" / "results"
    results.mkdir(parents=True)
    (results / "brand_new_thing.json").write_text(json.dumps({"score": 1.25, "env": "x"}))
    (results / "pets_broken.json").write_text(json.dumps({"env": "y"}))  # renderer fails
    monkeypatch.setattr(summarise, "ROOT", str(tmp_path))
    page = summarise.build_page()
    assert "## Other results" in page and "brand_new_thing.json" in page and "1.2500" in page
    assert "## PETS" in page and "pets_broken.json" in page and "could not be rendered" in page

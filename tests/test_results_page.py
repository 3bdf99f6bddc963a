"""`docs/results.md` and the headline results in README.md are generated from the result
JSON by `experiments/summarise.py`: the committed page and README block must equal what
the generator writes now, and every result file must appear on the page. Fails when
someone reruns an experiment without regenerating them (fix: `python
experiments/summarise.py`)."""

import glob
import importlib.util
import json
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGE = os.path.join(ROOT, "docs", "results.md")
README = os.path.join(ROOT, "README.md")


def _summarise():
    spec = importlib.util.spec_from_file_location(
        "summarise", os.path.join(ROOT, "experiments", "summarise.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _block(text, summarise):
    """The lines between the README's marker lines."""
    start = text.index(summarise.BEGIN + "\n") + len(summarise.BEGIN) + 1
    return text[start:text.index("\n" + summarise.END, start) + 1]


def test_committed_page_and_readme_block_are_up_to_date():
    ok, diff = _summarise().check(PAGE, README)
    assert ok, ("docs/results.md or README.md's headline results differ from the JSON; run "
                "`python experiments/summarise.py`\n" + diff[:4000])


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


def test_readme_holds_the_headline_block_linking_to_page_sections():
    summarise = _summarise()
    with open(README) as f:
        readme = f.read()
    assert readme.count(summarise.BEGIN) == 1 and readme.count(summarise.END) == 1
    bullets = _block(readme, summarise).splitlines()
    assert len(bullets) == 8 and all(b.startswith("- **") for b in bullets)
    with open(PAGE) as f:
        anchors = {summarise.slug(h) for h in re.findall(r"^## (.+)$", f.read(), re.M)}
    links = [re.search(r"\]\(docs/results\.md#([^)]+)\)$", b) for b in bullets]
    assert all(links) and {m.group(1) for m in links} <= anchors


def test_a_stale_readme_block_fails_the_check(tmp_path):
    summarise = _summarise()
    with open(README) as f:
        readme = f.read()
    block = _block(readme, summarise)
    stale = tmp_path / "README.md"
    # One number of the block typed differently, as a hand edit or an old run would leave it.
    stale.write_text(readme.replace(block, re.sub(r"\d", lambda d: str((int(d[0]) + 1) % 10),
                                                  block, count=1)))
    ok, diff = summarise.check(PAGE, str(stale))
    assert not ok and "README.md (from the JSON now)" in diff
    stale.write_text(readme.replace(summarise.BEGIN + "\n", ""))  # markers missing
    ok, diff = summarise.check(PAGE, str(stale))
    assert not ok and "marker" in diff


def test_only_the_block_is_rewritten():
    summarise = _summarise()
    text = f"# Title\n\nedited by hand\n{summarise.BEGIN}\n- old\n{summarise.END}\n\ntail\n"
    new = summarise.splice(text, "- new 1\n- new 2\n")
    assert new == (f"# Title\n\nedited by hand\n{summarise.BEGIN}\n- new 1\n- new 2\n"
                   f"{summarise.END}\n\ntail\n")
    assert summarise.splice(new, "- new 1\n- new 2\n") == new


def test_headline_without_its_files_still_has_every_bullet():
    bullets = _summarise().build_headline({}).splitlines()
    assert len(bullets) == 8 and all("not readable from its files" in b for b in bullets)


def test_a_file_without_a_renderer_still_appears(tmp_path):
    summarise = _summarise()
    results = tmp_path / "experiments" / "results"
    results.mkdir(parents=True)
    (results / "brand_new_thing.json").write_text(json.dumps({"score": 1.25, "env": "x"}))
    (results / "pets_broken.json").write_text(json.dumps({"env": "y"}))  # renderer fails
    page = summarise.build_page(str(tmp_path))
    assert "## Other results" in page and "brand_new_thing.json" in page and "1.2500" in page
    assert "## PETS" in page and "pets_broken.json" in page and "could not be rendered" in page

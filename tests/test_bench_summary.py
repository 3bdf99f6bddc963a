"""`benchmarks/run_all.py`: every target a result records reaches the summary, with
whether it is met; skipped and failed benchmarks say why. `benchmarks/baseline.py`:
an earlier revision imports beside the working jwm."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "benchmarks"))
import run_all  # noqa: E402


def test_targets_are_found_at_any_depth():
    result = {"device": {"platform": "cpu"},
              "ratios": {"a": {"value": 2.0, "target": ">= 1.0", "pass": True}},
              "runs": [{"target": {"value": 0.5, "target": ">= 3.0", "pass": False}}],
              "other": {"value": 1.0}}
    found = dict(run_all._targets(result))
    assert found == {"ratios/a": result["ratios"]["a"], "runs/0/target": result["runs"][0]["target"]}


def test_summary_lists_met_unmet_skipped_and_failed():
    summary = {
        "mode": "quick", "date": "2026-12-03 09:00 UTC", "seconds": 12.0,
        "device": {"description": "gpu: NVIDIA H200, 16 cores", "platform": "gpu",
                   "num_devices": 1, "cpu_count": 16, "jax_version": "0.10.2",
                   "memory_limit_gib": 139.0},
        "benchmarks": [
            {"name": "planners", "status": "ok", "seconds": 3.0, "peak_memory_gib": 1.5,
             "targets": [("cem", {"value": 2.0, "target": ">= 1.0", "pass": True}),
                         ("mppi", {"value": 0.5, "target": ">= 1.0", "pass": False})]},
            {"name": "pets", "status": "skipped", "note": "needs mbrl-lib"},
            {"name": "mcts", "status": "failed (1)", "seconds": 1.0,
             "tail": ["ValueError: boom"]},
        ]}
    text = run_all.summary_markdown(summary)
    assert "gpu: NVIDIA H200, 16 cores; 1 device of 139 GiB" in text and "jax 0.10.2" in text and "2026-12-03" in text
    assert "| planners | ok | 3 | cem: >= 1.0 | 2 | yes |" in text
    assert "|  |  |  | mppi: >= 1.0 | 0.5 | no |" in text
    assert "| pets | skipped (needs mbrl-lib) |" in text
    assert "ValueError: boom" in text and "planners 1.50 GiB" in text


def test_the_device_is_worded_as_jwm_device_names_it_in_old_and_new_results():
    from common import device_text

    from jwm.device import device_name

    old = {"platform": "cpu", "device_kind": "cpu", "description": "cpu:cpu", "cpu_count": 2}
    assert device_text(old) == "cpu: cpu, 2 cores"
    assert device_text({"description": device_name(), "platform": "cpu"}) == device_name()


def test_a_baseline_revision_imports_beside_the_working_jwm():
    import importlib

    import pytest
    from baseline import baseline_package

    name = baseline_package("HEAD")
    rollout = importlib.import_module(f"{name}.imagination.rollout")
    assert rollout.__name__ == "jwm_baseline.imagination.rollout"
    # Its own imports resolve inside it, not to the working jwm.
    assert rollout.as_typed_key.__module__ == "jwm_baseline.keys"
    with pytest.raises(ValueError, match="revision 'no-such-revision'"):
        baseline_package("no-such-revision")

"""Runs every benchmark in this folder and writes one summary of their results.

Quick mode (the default) gives each benchmark a small budget so that the whole set
finishes in about ten minutes on a 2-core CPU; it writes its result files into
``benchmarks/results/quick/``, so the full-size results in ``benchmarks/results/`` are
not overwritten. ``--full`` runs each benchmark at its own defaults into
``benchmarks/results/``. Either way ``summary.md`` (and ``summary.json``) beside the
results lists, for each benchmark, every target its JSON records (``{"value",
"target", "pass"}``, from `common.check_target`), whether it is met, and the device,
JAX version and date of the run; on an accelerator, the device's name and its peak
memory use.

A benchmark whose peer is not installed (LightZero's venv, mbrl-lib, sheeprl's venv)
runs its jwm side only where it can and is otherwise listed as skipped with the
reason; a benchmark that fails is listed with the end of its output, and the others
still run.

    python benchmarks/run_all.py [--full] [--only NAME ...] [--timeout 900]
    python benchmarks/run_all.py --full --markdown-only   # each .md again from its .json
    make bench            # quick
    make bench FULL=1     # full
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _venv_python(name: str) -> str:
    return os.path.join(ROOT, name, "bin", "python")


def _has_module(module: str) -> bool:
    from importlib.util import find_spec

    return find_spec(module) is not None


# name: (script, quick arguments, full arguments).
BENCHMARKS = {
    "planners": ("planners.py", ["--repeats", "30", "--rounds", "3"], []),
    "mcts": ("mcts.py", ["--repeats", "20", "--cell-seconds", "0.3", "--no-diagnostics",
                         "--batches", "64", "--simulations", "64", "256"], []),
    "pets": ("pets.py", ["--repeats", "1", "--repeats-small", "2", "--run-repeats", "1",
                         "--run-seeds", "4"], []),
    "imagination": ("imagination.py", ["--repeats", "3", "--sizes", "jwm default"],
                    []),
    "driver": ("driver.py", ["--iterations", "2", "--pets-steps", "20",
                             "--dreamer-eval-every", "40"], ["--iterations", "12"]),
    "muzero": ("muzero.py", ["--env-steps", "400", "--eval-every", "200", "--no-reanalyse",
                             "--no-single-thread", "--ssl-env-steps", "200",
                             "--jwm-runs", "puct", "puct_1update"], []),
    "sweep": ("sweep.py", ["--runs", "8", "--agents", "pets", "--scaling-devices", "2"],
              ["--full"]),
    # Quick mode leaves the breakdown out: agents.py times Dreamer's whole update.
    "dreamer_parts": ("dreamer_parts.py", None, []),
    "agents": ("agents.py", ["--quick"], []),
}
# What a benchmark needs beyond jwm: (check, note, and the arguments that run it
# without the peer; with none, it is skipped).
REQUIREMENTS = {
    "pets": (lambda: _has_module("mbrl") and _has_module("torch"),
             "needs mbrl-lib: pip install -e '.[peers]' && pip install --no-deps mbrl==0.2.0"),
    "muzero": (lambda: os.path.exists(_venv_python(".venv-lightzero")),
               "LightZero's venv is missing (see benchmarks/muzero.py); jwm side only",
               ["--no-lightzero"]),
}


def _targets(tree, path=()):
    """Every ``{"value", "target", "pass"}`` record in a result JSON, with its path."""
    if isinstance(tree, dict):
        if {"value", "target", "pass"} <= set(tree):
            yield "/".join(path), tree
            return
        for key, value in tree.items():
            yield from _targets(value, path + (str(key),))
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            yield from _targets(value, path + (str(i),))


def _device() -> dict:
    """`common.device_info`, and on an accelerator its memory limit."""
    import jax
    from common import device_info

    info = device_info()
    stats = getattr(jax.devices()[0], "memory_stats", lambda: None)()
    if stats:
        info["memory_limit_gib"] = stats.get("bytes_limit", 0) / 2 ** 30
    return info


# Runs a benchmark script as __main__ (its folder first on sys.path, as `python
# script.py` has it), then prints the accelerator's peak memory use.
_PEAK_PROBE = ("import os, runpy, sys, json, jax; sys.argv = sys.argv[1:]; "
               "sys.path.insert(0, os.path.dirname(sys.argv[0])); "
               "code = 0\n"
               "try:\n    runpy.run_path(sys.argv[0], run_name='__main__')\n"
               "except SystemExit as e:\n    code = e.code or 0\n"
               "s = getattr(jax.devices()[0], 'memory_stats', lambda: None)()\n"
               "print('PEAK_GIB', json.dumps(s.get('peak_bytes_in_use', 0) / 2**30 if s else None))\n"
               "sys.exit(code)")


def run_one(name: str, full: bool, out_dir: str, timeout: float) -> dict:
    script, quick_args, full_args = BENCHMARKS[name]
    if not full and quick_args is None:
        return {"name": name, "status": "skipped", "note": "full mode only"}
    args = list(full_args if full else quick_args) + ["--out", out_dir]
    note = None
    if name in REQUIREMENTS:
        check, message, *fallback = REQUIREMENTS[name]
        if not check():
            if not fallback:
                return {"name": name, "status": "skipped", "note": message}
            args += fallback[0]
            note = message
    command = [sys.executable, "-c", _PEAK_PROBE, os.path.join(HERE, script), *args]
    start = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                              timeout=timeout)
        output, code = done.stdout + done.stderr, done.returncode
    except subprocess.TimeoutExpired as error:
        # What the script printed before the timeout (bytes, even with text=True).
        partial = error.stdout or b""
        output = partial.decode() if isinstance(partial, bytes) else partial
        code = "timeout"
    seconds = time.perf_counter() - start
    peak = None
    for line in output.splitlines():
        if line.startswith("PEAK_GIB "):
            peak = json.loads(line.split(" ", 1)[1])
    entry = {"name": name, "command": " ".join(["python", f"benchmarks/{script}", *args]),
             "seconds": seconds, "status": "ok" if code == 0 else f"failed ({code})",
             "note": note, "peak_memory_gib": peak}
    if code != 0:
        entry["tail"] = output.strip().splitlines()[-5:]
    return entry


def _result_files(out_dir: str, since: float):
    """The result JSONs written since ``since`` (a time.time())."""
    return sorted(f for f in os.listdir(out_dir)
                  if f.endswith(".json") and f != "summary.json"
                  and os.path.getmtime(os.path.join(out_dir, f)) >= since)


def summary_markdown(summary: dict) -> str:
    from common import device_text

    device = summary["device"]
    count = device["num_devices"]
    memory = (f" of {device['memory_limit_gib']:.0f} GiB" if "memory_limit_gib" in device else "")
    lines = [f"# Benchmarks ({summary['mode']} mode)", "",
             f"Device: {device_text(device)}; {count} device{'s' if count > 1 else ''}{memory}; "
             f"jax {device['jax_version']}; "
             f"{summary['date']}; {summary['seconds']:.0f} s in all.", "",
             "| benchmark | status | seconds | target | value | met |",
             "|---|---|---:|---|---:|:---:|"]
    for entry in summary["benchmarks"]:
        targets = entry.get("targets") or []
        status = entry["status"] + (f" ({entry['note']})" if entry.get("note") else "")
        seconds = f"{entry['seconds']:.0f}" if "seconds" in entry else "–"
        if not targets:
            lines.append(f"| {entry['name']} | {status} | {seconds} | – | – | – |")
        for i, (path, target) in enumerate(targets):
            lines.append(f"| {entry['name'] if i == 0 else ''} | {status if i == 0 else ''} | "
                         f"{seconds if i == 0 else ''} | {path}: {target['target']} | "
                         f"{target['value']:.3g} | {'yes' if target['pass'] else 'no'} |")
    peaks = [(e["name"], e["peak_memory_gib"]) for e in summary["benchmarks"]
             if e.get("peak_memory_gib") is not None]
    if peaks:
        lines += ["", "Peak accelerator memory: " + ", ".join(
            f"{name} {gib:.2f} GiB" for name, gib in peaks) + "."]
    failed = [e for e in summary["benchmarks"] if e.get("tail")]
    for entry in failed:
        lines += ["", f"`{entry['name']}` ended with:", "", "```", *entry["tail"], "```"]
    if summary["mode"] == "quick":
        lines += ["", "Quick budgets time few calls, so their ratios are noisier than the "
                  "full runs' (`make bench FULL=1`, `benchmarks/results/*.md`); a target "
                  "missed here is a reason to run the full benchmark, not its result."]
    lines += ["", "Each benchmark's own Markdown beside this file has its tables; "
              "`python benchmarks/run_all.py" + (" --full" if summary["mode"] == "full" else "")
              + "` rewrites them all."]
    return "\n".join(lines) + "\n"


def rewrite_all_markdown(out_dir: str) -> list:
    """Rewrites the Markdown of every result in ``out_dir`` from its JSON, each with its
    benchmark's own ``markdown(result)`` (the summary's with `summary_markdown`);
    nothing is timed. Returns the Markdown files written."""
    import importlib

    from common import rewrite_markdown

    written = []
    for name, (script, _, _) in BENCHMARKS.items():
        if os.path.exists(os.path.join(out_dir, f"{name}.json")):
            module = importlib.import_module(script[:-len(".py")])
            rewrite_markdown(out_dir, name, module.markdown)
            written.append(os.path.join(out_dir, f"{name}.md"))
    if os.path.exists(os.path.join(out_dir, "summary.json")):
        rewrite_markdown(out_dir, "summary", summary_markdown)
        written.append(os.path.join(out_dir, "summary.md"))
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="each benchmark's own defaults")
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), default=None)
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds per benchmark (default 900 quick, 7200 full)")
    parser.add_argument("--out", default=None, help="default benchmarks/results[/quick]")
    parser.add_argument("--markdown-only", action="store_true",
                        help="rewrite each result's .md from its .json (no timing)")
    args = parser.parse_args(argv)
    out_dir = args.out or os.path.join(HERE, "results", "" if args.full else "quick")
    if args.markdown_only:
        for path in rewrite_all_markdown(out_dir):
            print(f"wrote {os.path.relpath(path, ROOT)}")
        return 0
    os.makedirs(out_dir, exist_ok=True)
    timeout = args.timeout or (7200.0 if args.full else 900.0)
    names = args.only or list(BENCHMARKS)

    from tqdm.auto import tqdm

    start = time.perf_counter()
    entries = []
    for name in (bar := tqdm(names, desc="benchmarks", unit="benchmark")):
        bar.set_postfix_str(name)
        since = time.time()
        entry = run_one(name, args.full, out_dir, timeout)
        if entry["status"] == "ok":
            entry["files"] = _result_files(out_dir, since)
            entry["targets"] = [
                (f"{file[:-5]}:{path}" if len(entry["files"]) > 1 else path, target)
                for file in entry["files"]
                for path, target in _targets(json.load(open(os.path.join(out_dir, file))))]
        entries.append(entry)
        tqdm.write(f"{name}: {entry['status']} in {entry.get('seconds', 0):.0f} s")
    from common import write_results

    summary = {"mode": "full" if args.full else "quick", "device": _device(),
               "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
               "seconds": time.perf_counter() - start, "benchmarks": entries}
    write_results(out_dir, "summary", summary, summary_markdown(summary))
    return 0 if all(e["status"] in ("ok", "skipped") for e in entries) else 1


if __name__ == "__main__":
    sys.exit(main())

"""What every benchmark here shares: timing statistics, the device and versions a
result records, and writing a result with its Markdown."""

from __future__ import annotations

import json
import os
import platform
import sys

import jax
import numpy as np

import jwm

__all__ = ["blocking", "check_target", "device_info", "device_text", "dist_version",
           "ratio_with_compilation", "rewrite_markdown", "time_interleaved", "timed_compile",
           "timing_stats", "write_results"]


def timing_stats(samples_s) -> dict:
    """Median, min, p90, mean and std in milliseconds of per-call times in seconds."""
    ms = np.asarray(samples_s, np.float64) * 1e3
    return {
        "median_ms": float(np.median(ms)),
        "min_ms": float(ms.min()),
        "p90_ms": float(np.percentile(ms, 90)),
        "mean_ms": float(ms.mean()),
        "std_ms": float(ms.std()),
        "repeats": int(ms.size),
    }


def dist_version(name):
    """The installed version of a distribution (some, like evosax, have no __version__)."""
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:  # pragma: no cover - informational only
        return None


def device_info(*packages: str) -> dict:
    """The device as `jwm.device.device_name` names it (``description``), its platform
    and count, the host, and the versions of JAX, jwm and ``packages`` (the peers
    benchmarked)."""
    from jwm.device import device_name

    info = {
        "description": device_name(),
        "platform": jax.devices()[0].platform,
        "num_devices": jax.device_count(),
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "python": sys.version.split()[0],
        "jax_version": jax.__version__,
        "jaxlib_version": dist_version("jaxlib"),
        "numpy_version": np.__version__,
        "jwm_version": getattr(jwm, "__version__", None),
        "XLA_FLAGS": os.environ.get("XLA_FLAGS"),
    }
    info.update({f"{name}_version": dist_version(name) for name in packages})
    return info


def device_text(device: dict) -> str:
    """A result's device in `jwm.device.device_name`'s words. Results written before
    `device_info` used it hold the platform and the device kind apart
    (``device_kind``, with ``description`` ``"<platform>:<kind>"``); they are worded
    the same way from those fields."""
    if "device_kind" in device:
        return f"{device['platform']}: {device['device_kind']}, {device['cpu_count']} cores"
    return device["description"]


def write_results(out_dir, name: str, result: dict, markdown: str) -> None:
    """Writes ``<name>.json`` and ``<name>.md`` into ``out_dir``, each atomically
    (a temporary file renamed over the old one), then prints the Markdown."""
    from pathlib import Path

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for suffix, text in (("json", json.dumps(result, indent=2) + "\n"), ("md", markdown)):
        tmp = out / f".{name}.{suffix}.tmp"
        tmp.write_text(text)
        os.replace(tmp, out / f"{name}.{suffix}")
    print(markdown)


def rewrite_markdown(out_dir, name: str, markdown) -> str:
    """Rewrites ``<name>.md`` from ``<name>.json`` with ``markdown(result)`` (the JSON is
    left as it is): a table's layout can change without timing anything again.
    Returns the Markdown."""
    from jwm.atomic import write_text

    with open(os.path.join(out_dir, f"{name}.json")) as f:
        text = markdown(json.load(f))
    write_text(os.path.join(out_dir, f"{name}.md"), text)
    return text


def ratio_with_compilation(entry: dict, batch: dict) -> float:
    """`sweep.py`'s gain of a sweep: how many times faster ``batch["runs"]`` runs are as
    one program, its compilation included, than as a Python loop that compiles and
    executes each run on its own (``alone_compile_s + alone_s`` per run, from the
    sweep result's ``entry`` of one agent). Here, not in sweep.py, because importing
    sweep.py forces host devices on JAX."""
    alone_total = entry["alone_s"] + entry["alone_compile_s"]
    return batch["runs"] * alone_total / (batch["one_program_s"] + batch["compile_s"])


def check_target(value, op: str, target: float) -> dict:
    """``{"value", "target", "pass"}`` for ``value op target``, ``op`` ``">="`` or ``"<="``."""
    passed = value >= target if op == ">=" else value <= target
    return {"value": float(value), "target": f"{op} {target}", "pass": bool(passed)}


def timed_compile(jitted, *args):
    """``(compiled, seconds)`` of lowering and compiling ``jitted`` for ``args``."""
    import time

    start = time.perf_counter()
    compiled = jitted.lower(*args).compile()
    return compiled, time.perf_counter() - start


def blocking(fn, *args):
    """A zero-argument callable running ``fn(*args)`` to completion (JAX dispatch is
    asynchronous, so an unblocked call would only time the enqueue)."""

    def call():
        return jax.block_until_ready(fn(*args))

    return call


def time_interleaved(fns: dict, repeats: int, rounds: int, warmup: int, *,
                     progress: bool = False, on_round=None):
    """Times every blocking ``fn()`` in ``fns`` ``repeats`` times, round-robin.

    The calls are spread over ``rounds`` rounds that visit every callable in turn, with
    the order rotated each round, so slow drifts of a shared machine (frequency
    scaling, noisy neighbours) hit all methods alike instead of whichever one happened
    to be timed during them; the ratios are what matter. ``warmup`` untimed calls per
    callable come first: the first post-compile calls still pay for lazy allocations
    and cold caches. The garbage collector is off while timing, as in ``timeit``: it
    could fire mid-sample and add milliseconds to a pure-Python method only.

    Args:
      progress: show tqdm bars over the warm-up and the rounds.
      on_round: optional ``on_round(round_index, samples)`` called after each round.

    Returns:
      ``({name: stats}, {name: samples_s})``, stats from `timing_stats` (milliseconds).
    """
    import gc
    import time

    from tqdm.auto import tqdm

    names = list(fns)
    for name in tqdm(names, desc="warm-up (methods)", unit="method", disable=not progress):
        for _ in range(warmup):
            fns[name]()
    per_round = [repeats // rounds + (r < repeats % rounds) for r in range(rounds)]
    samples = {name: [] for name in names}
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for r in tqdm(range(rounds), desc="timing (rounds)", unit="round", disable=not progress):
            shift = r % len(names)
            for name in names[shift:] + names[:shift]:
                fn, out = fns[name], samples[name]
                for _ in range(per_round[r]):
                    t0 = time.perf_counter()
                    fn()
                    out.append(time.perf_counter() - t0)
            if on_round is not None:
                on_round(r, samples)
    finally:
        if gc_was_enabled:
            gc.enable()
    return {name: timing_stats(samples[name]) for name in names}, samples

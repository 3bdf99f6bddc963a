"""Benchmark: one batched MCTS search call, jwm against mctx, on a random table model.

Compares, in one process and on one device, the wall time of one jitted search over a
batch of roots with

* ``jwm``  -- ``jax.jit(jax.vmap(jwm.planners.mcts(...).plan))``: jwm plans for one
              latent and a batch is a ``vmap`` over it;
* ``mctx`` -- ``jax.jit(mctx.muzero_policy)`` (PUCT) or ``mctx.gumbel_muzero_policy``
              (Gumbel MuZero), which are batched natively;

on the same problem: a random *deterministic* table model with ``A = 8`` actions and
``S = 64`` states, whose next-state, reward, discount (0 with probability 0.1, else
0.95), prior-logit and value tables live in ``params``. Both libraries read the same
tables, so the model and evaluator cost a few gathers per node and the timings are of
the search machinery itself.

Grid: batch {1, 64, 1024} x num_simulations {16, 64, 256} x rule {puct, gumbel}.
PUCT: Dirichlet fraction 0.25 (alpha 0.3), temperature 1.0, pb_c_init 1.25,
pb_c_base 19652 (mctx's defaults, jwm's defaults match). Gumbel: gumbel_scale 1.0,
max_num_considered_actions 16, value_scale 0.1, maxvisit_init 50 (idem).

Reported per cell: ``mctx_ms / jwm_ms`` (target >= 1 everywhere, >= 3 at batch 64 x 256
simulations with PUCT) and, per batch size and rule, the growth
``time(256 sims) / time(64 sims)`` (target <= 4.5 for jwm, i.e. the per-simulation cost
stays flat as the tree grows; mctx's is reported too). Compile times (first call minus
steady state) are informative only.

Before any timing, one small cell checks that both libraries run the same algorithm:
with the randomness switched off (PUCT with ``dirichlet_fraction=0``; Gumbel with
``gumbel_scale=0``) they must return the same root visit counts.

Diagnostics (``--no-diagnostics`` skips them): why ``time(256)/time(64)`` can exceed 4
when the cost per step is flat. A simulation selects once per edge it walks, so the
work is counted in selections: per root, the sum over simulations of the depth of the
node each one creates; and, since a batched loop runs until its deepest root is done,
the loop iterations of the batch, the sum over simulations of the batch's deepest
walk. Both grow faster than the simulation count as trees deepen (the same for mctx,
whose trees are the same), so ``time(256)/time(64)`` is that growth times the growth of
jwm's time per loop iteration (reported, with the time per iteration at each budget):
at or under 4.5 only if an iteration gets cheaper as the tree grows. And, from the
compiled HLO at batch 64 and 256 simulations, the ``copy`` / scatter /
dynamic-update-slice ops on node-axis-sized arrays inside ``while`` bodies, grouped by
shape, to show which arrays each loop iteration copies.

Usage::

    python benchmarks/mcts.py [--repeats 200] [--cell-seconds 1.5] [--out benchmarks/results]

Writes ``mcts.json`` and ``mcts.md`` into ``--out``. No XLA flags are set; whatever
``XLA_FLAGS`` the caller exported is recorded in the JSON.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import os
import re
import time
from collections import Counter
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from tqdm import tqdm

import jwm
import mctx
from common import check_target, device_info, device_text, timing_stats, write_results

NUM_ACTIONS = 8
NUM_STATES = 64
BATCHES = (1, 64, 1024)
SIMULATIONS = (16, 64, 256)
RULES = ("puct", "gumbel")

DIRICHLET_FRACTION = 0.25
DIRICHLET_ALPHA = 0.3
TEMPERATURE = 1.0
GUMBEL_SCALE = 1.0
MAX_CONSIDERED = 16
# Probability that a table transition terminates (discount 0); the rest use 0.95.
TERMINAL_PROB = 0.1
# The batch whose compiled HLO is inspected; see the module docstring.
DIAGNOSTIC_BATCH = 64

# Post-compile calls before timing: the first calls still pay for lazy allocations and
# cold caches. They stop early once a method has spent WARMUP_BUDGET_S on them, so a
# multi-second cell is warmed by its first call alone instead of doubling its cost.
WARMUP_CALLS = 10
WARMUP_BUDGET_S = 0.3
# Every cell gets at least this many timed calls per method, however slow.
MIN_REPEATS = 5

TARGETS = {
    "mctx_over_jwm": (">=", 1.0),
    "mctx_over_jwm_batch64_sims256_puct": (">=", 3.0),
    "jwm_sims256_over_sims64": ("<=", 4.5),
}


# --------------------------------------------------------------------------------------
# The problem
# --------------------------------------------------------------------------------------


def make_tables(key) -> dict:
    """The random deterministic model and evaluator, as ``params`` for both libraries."""
    ks = jax.random.split(key, 5)
    shape = (NUM_STATES, NUM_ACTIONS)
    return {
        "next_state": jax.random.randint(ks[0], shape, 0, NUM_STATES, jnp.int32),
        "reward": jax.random.normal(ks[1], shape),
        "discount": jnp.where(jax.random.uniform(ks[2], shape) < TERMINAL_PROB, 0.0, 0.95),
        "prior_logits": jax.random.normal(ks[3], shape),
        "value": jax.random.normal(ks[4], (NUM_STATES,)),
    }


def jwm_model():
    """The table model as a jwm ``WorldModel``: the latent is the state index."""
    return jwm.WorldModel(
        init=lambda key: None,
        encode=lambda params, obs: obs,
        step=lambda p, s, a, key: (p["next_state"][s, a], p["reward"][s, a], p["discount"][s, a]),
    )


def make_jwm(rule: str, num_simulations: int, **overrides):
    """Jitted ``plan(plan_state, params, latents [B], keys [B])`` over a batch."""
    kwargs = dict(prior_fn=lambda p, s: p["prior_logits"][s], value_fn=lambda p, s: p["value"][s])
    if rule == "puct":
        kwargs.update(dirichlet_fraction=DIRICHLET_FRACTION, dirichlet_alpha=DIRICHLET_ALPHA,
                      temperature=TEMPERATURE)
    else:
        kwargs.update(gumbel_scale=GUMBEL_SCALE, max_num_considered_actions=MAX_CONSIDERED)
    kwargs.update(overrides)
    planner = jwm.planners.mcts(jwm_model(), jwm.spaces.Discrete(NUM_ACTIONS),
                                num_simulations=num_simulations, rule=rule, **kwargs)
    # params are shared by the batch; each root gets its own latent and key.
    return jax.jit(jax.vmap(planner.plan, in_axes=(None, None, 0, 0)))


def _recurrent_fn(params, key, action, embedding):
    del key  # deterministic model
    nxt = params["next_state"][embedding, action]
    out = mctx.RecurrentFnOutput(reward=params["reward"][embedding, action],
                                 discount=params["discount"][embedding, action],
                                 prior_logits=params["prior_logits"][nxt],
                                 value=params["value"][nxt])
    return out, nxt


def make_mctx(rule: str, num_simulations: int, **overrides):
    """Jitted ``search(params, latents [B], key)``; the root is evaluated inside, as jwm does."""
    if rule == "puct":
        kwargs = dict(dirichlet_fraction=DIRICHLET_FRACTION, dirichlet_alpha=DIRICHLET_ALPHA,
                      temperature=TEMPERATURE)
    else:
        kwargs = dict(gumbel_scale=GUMBEL_SCALE, max_num_considered_actions=MAX_CONSIDERED)
    kwargs.update(overrides)
    policy = mctx.muzero_policy if rule == "puct" else mctx.gumbel_muzero_policy

    def search(params, latents, key):
        root = mctx.RootFnOutput(prior_logits=params["prior_logits"][latents],
                                 value=params["value"][latents], embedding=latents)
        return policy(params, key, root, _recurrent_fn, num_simulations, **kwargs)

    return jax.jit(search)


def cell_inputs(key, batch: int):
    k_lat, k_jwm, k_mctx = jax.random.split(key, 3)
    latents = jax.random.randint(k_lat, (batch,), 0, NUM_STATES, jnp.int32)
    return latents, jax.random.split(k_jwm, batch), k_mctx


# --------------------------------------------------------------------------------------
# Sanity: the same algorithm
# --------------------------------------------------------------------------------------


def check_same_search(params, key, batch: int = 16, num_simulations: int = 64) -> dict:
    """Root visit counts of jwm and mctx with the noise switched off, per rule.

    PUCT with ``dirichlet_fraction=0`` and Gumbel with ``gumbel_scale=0`` are
    deterministic up to tie-breaking (mctx adds 1e-7 noise to break ties, jwm takes the
    lowest index); with random float tables ties do not occur, so the visit counts must
    agree exactly. Temperature does not enter: it only affects the action sampled.
    """
    latents, keys, k_mctx = cell_inputs(key, batch)
    out = {}
    for rule, jwm_kw, mctx_kw in (("puct", {"dirichlet_fraction": 0.0}, {"dirichlet_fraction": 0.0}),
                                  ("gumbel", {"gumbel_scale": 0.0}, {"gumbel_scale": 0.0})):
        _, _, info = make_jwm(rule, num_simulations, **jwm_kw)((), params, latents, keys)
        ref = make_mctx(rule, num_simulations, **mctx_kw)(params, latents, k_mctx)
        jv = np.asarray(info.visit_counts)
        mv = np.asarray(ref.search_tree.children_visits[:, 0])
        out[rule] = {
            "batch": batch,
            "num_simulations": num_simulations,
            "noise_off": {k: v for k, v in jwm_kw.items()},
            "roots_with_identical_visit_counts": int(np.all(jv == mv, axis=1).sum()),
            "identical": bool(np.array_equal(jv, mv)),
            "max_abs_visit_difference": int(np.abs(jv - mv).max()),
            "example_root_visits_jwm": jv[0].tolist(),
            "example_root_visits_mctx": mv[0].tolist(),
        }
    return out


# --------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------


def compile_and_warm(jitted, args) -> tuple:
    """AOT-compiles ``jitted`` for ``args``, runs it once, then warms it up.

    Returns ``(call, info)``: ``call()`` runs the compiled executable to completion
    (JAX dispatch is asynchronous, so an unblocked call would time only the enqueue);
    ``info`` holds the trace+lower and compile seconds, the first call's total
    (lower + compile + first run, what a user's first ``jitted(...)`` costs), the warm-up
    call count and the compiled HLO text (for the diagnostics).
    """
    t0 = time.perf_counter()
    lowered = jitted.lower(*args)
    t1 = time.perf_counter()
    compiled = lowered.compile()
    t2 = time.perf_counter()
    jax.block_until_ready(compiled(*args))
    t3 = time.perf_counter()

    def call():
        return jax.block_until_ready(compiled(*args))

    spent, n = 0.0, 0
    # The first run above already touched every buffer once; further warm-up is only
    # worth it for fast calls, where first-call effects are a visible fraction.
    while n < WARMUP_CALLS and spent + (t3 - t2) < WARMUP_BUDGET_S:
        s = time.perf_counter()
        call()
        spent += time.perf_counter() - s
        n += 1
    return call, {"lower_s": t1 - t0, "compile_s": t2 - t1, "first_call_s": t3 - t0,
                  "warmup_calls": n + 1, "hlo": compiled.as_text()}


def time_round_robin(fns: dict, *, min_repeats: int, max_repeats: int, budget_s: float) -> dict:
    """Times every ``fn()`` in ``fns`` in rounds of one call each, until a time box.

    Each round calls every method once, rotating the order, so slow drifts of a shared
    machine (frequency scaling, other processes; this benchmark runs on 2 cores) hit all
    methods alike and the ratios stay meaningful. Rounds continue until at least
    ``min_repeats`` are done and ``budget_s`` has elapsed, or ``max_repeats`` are done:
    fast cells get many samples, slow cells the minimum, and the whole grid finishes
    in a few minutes.

    Returns:
      ``{name: stats}``, stats in milliseconds: median, min, p90, mean, std, repeats.
    """
    names = list(fns)
    samples = {name: [] for name in names}
    # A garbage collection in the middle of a sample would add its cost to whichever
    # method happened to be running; timeit disables it for the same reason.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    start = time.perf_counter()
    try:
        r = 0
        while True:
            shift = r % len(names)
            for name in names[shift:] + names[:shift]:
                t0 = time.perf_counter()
                fns[name]()
                samples[name].append(time.perf_counter() - t0)
            r += 1
            if r >= max_repeats or (r >= min_repeats and time.perf_counter() - start >= budget_s):
                break
    finally:
        if gc_was_enabled:
            gc.enable()
    return {name: timing_stats(samples[name]) for name in names}


# --------------------------------------------------------------------------------------
# HLO diagnostics
# --------------------------------------------------------------------------------------

_WHILE = re.compile(r"%(while[.\w-]*) = \((.*?)\) while\(.*?condition=%([\w.\-]+), body=%([\w.\-]+)")
_COPY = re.compile(r"= (\w+\[[\d,]*\])\{[^}]*\} copy\(")
_SCATTER = re.compile(r"= (\w+\[[\d,]*\])\S* (?:scatter\(|fusion\(.*calls=%\S*scatter)")
_DUS = re.compile(r"= (\w+\[[\d,]*\])\S* (?:dynamic-update-slice\(|fusion\(.*calls=%\S*dynamic.update.slice)")


def _computations(text: str) -> dict:
    """``{computation name: body text}`` of an HLO module's text."""
    comps, cur = {}, None
    for line in text.splitlines():
        m = re.match(r"^(?:ENTRY )?%?([\w.\-]+) .*\{$", line)
        if m:
            cur = m.group(1)
            comps[cur] = []
        elif cur is not None:
            comps[cur].append(line)
    return {k: "\n".join(v) for k, v in comps.items()}


def while_body_ops(text: str, num_nodes: int) -> dict:
    """Copies, scatters and dynamic-update-slices inside ``while`` bodies, by shape.

    Only shapes with a dimension of ``num_nodes`` (the tree's node axis, which with
    jwm's default ``max_depth`` is also the length of the path buffers) are listed: an
    op on one of those inside a loop costs O(tree) per iteration. Scatters are normally
    done in place (O(updates)); a ``copy`` of the same buffer is what makes them O(tree).
    """
    comps = _computations(text)
    tag = f"{num_nodes}"

    def big(shape):
        return tag in re.findall(r"\d+", shape)

    loops = []
    for m in _WHILE.finditer(text):
        name, carry, _, body = m.groups()
        b = comps.get(body, "")
        copies = Counter(s for s in _COPY.findall(b) if big(s))
        scatters = Counter(s for s in _SCATTER.findall(b) if big(s))
        dus = Counter(s for s in _DUS.findall(b) if big(s))
        carried = sorted({s for s in re.findall(r"\w+\[[\d,]*\]", carry) if big(s)})
        if copies or scatters or dus or carried:
            loops.append({"while": name, "tree_sized_carry": carried,
                          "copies": dict(copies), "scatters": dict(scatters),
                          "dynamic_update_slices": dict(dus)})
    return {
        "while_loops_total": len(_WHILE.findall(text)),
        "copies_of_node_axis_arrays_in_while_bodies": sum(sum(l["copies"].values()) for l in loops),
        "scatters_on_node_axis_arrays_in_while_bodies": sum(sum(l["scatters"].values()) for l in loops),
        "dynamic_update_slices_on_node_axis_arrays_in_while_bodies":
            sum(sum(l["dynamic_update_slices"].values()) for l in loops),
        "loops": loops,
    }


def split_loop_ops(text: str) -> int:
    """Ops inside ``while`` bodies that XLA's CPU backend splits across threads.

    Its cost model splits an op once the bytes it touches exceed 512 KB (its model of
    L2 per thread), and for a fused gather that counts the whole array gathered from.
    So when the tree's arrays pass 512 KB (``[64, 257, 8]`` float32 is 526 KB), every
    small per-root op of descent and backup that reads them is handed to the thread
    pool: a synchronisation per op per loop step, whatever the op's own size.
    """
    comps = _computations(text)
    bodies = {m.group(4) for m in _WHILE.finditer(text)}
    return sum(comps.get(b, "").count("outer_dimension_partitions") for b in bodies)


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------


def _check(name, value):
    return check_target(value, *TARGETS[name])


def ratio_checks(cells: list) -> dict:
    by_key = {(c["rule"], c["batch"], c["num_simulations"]): c for c in cells}
    per_cell = {}
    for c in cells:
        per_cell[c["cell"]] = _check("mctx_over_jwm", c["mctx_over_jwm"])
    headline = by_key.get(("puct", 64, 256))
    scaling = {}
    for rule in RULES:
        for batch in BATCHES:
            lo, hi = by_key.get((rule, batch, 64)), by_key.get((rule, batch, 256))
            if lo is None or hi is None:
                continue
            jwm_growth = hi["jwm"]["median_ms"] / lo["jwm"]["median_ms"]
            scaling[f"{rule}_b{batch}"] = {
                **_check("jwm_sims256_over_sims64", jwm_growth),
                "mctx_sims256_over_sims64": hi["mctx"]["median_ms"] / lo["mctx"]["median_ms"],
            }
    out = {"mctx_over_jwm_per_cell": per_cell, "jwm_sims256_over_sims64": scaling}
    if headline is not None:
        out["mctx_over_jwm_batch64_sims256_puct"] = _check(
            "mctx_over_jwm_batch64_sims256_puct", headline["mctx_over_jwm"])
    checks = list(per_cell.values()) + list(scaling.values())
    if "mctx_over_jwm_batch64_sims256_puct" in out:
        checks.append(out["mctx_over_jwm_batch64_sims256_puct"])
    out["all_pass"] = all(c["pass"] for c in checks)
    return out


def depth_growth(diag_cells: list) -> dict:
    """Per rule and batch: how the selection work grows from 64 to 256 simulations, and
    jwm's time per loop iteration (see the module docstring)."""
    out = {}
    for rule in RULES:
        for batch in BATCHES:
            d = {c["num_simulations"]: c for c in diag_cells
                 if c["rule"] == rule and c["batch"] == batch}
            if not all(n in d for n in SIMULATIONS):
                continue
            iters = {n: d[n]["loop_iterations"] for n in SIMULATIONS}
            per_iter = {n: 1e3 * d[n]["jwm_ms"] / iters[n] for n in SIMULATIONS}
            out[f"{rule}_b{batch}"] = {
                "selections_per_root_growth":
                    d[256]["selections_per_root"] / d[64]["selections_per_root"],
                "loop_iterations": {str(n): iters[n] for n in SIMULATIONS},
                "loop_iterations_growth": iters[256] / iters[64],
                "deepest_node_256": d[256]["deepest_node"],
                "jwm_us_per_loop_iteration": {str(n): per_iter[n] for n in SIMULATIONS},
                # time(256)/time(64) = iterations growth x this, exactly.
                "jwm_per_iteration_growth": per_iter[256] / per_iter[64],
                "jwm_growth": d[256]["jwm_ms"] / d[64]["jwm_ms"],
                "mctx_growth": d[256]["mctx_ms"] / d[64]["mctx_ms"],
                "jwm_loop_ops_split_across_threads": {
                    str(n): d[n].get("jwm_loop_ops_split_across_threads") for n in SIMULATIONS},
            }
    return out


def cell_ratio_range(result: dict) -> tuple:
    """The smallest and largest mctx time / jwm time over the cells of a result (above
    1: jwm is faster)."""
    values = [c["mctx_over_jwm"] for c in result["cells"]]
    return min(values), max(values)


def single_cell_target(result: dict):
    """The target set for one cell: ``(batch, simulations, rule, {"value", "target",
    "pass"})``, or None in a result without it."""
    head = result["ratios"].get("mctx_over_jwm_batch64_sims256_puct")
    return (64, 256, "PUCT", head) if head else None


def markdown(result: dict) -> str:
    dev, cfg = result["device"], result["config"]
    ratios = result["ratios"]
    lines = [
        f"# {result['benchmark']}",
        "",
        f"Random deterministic table model, {cfg['num_actions']} actions, {cfg['num_states']} "
        f"states; one jitted search call over a batch of roots. PUCT: Dirichlet fraction "
        f"{cfg['puct']['dirichlet_fraction']}, temperature {cfg['puct']['temperature']}. "
        f"Gumbel: gumbel_scale {cfg['gumbel']['gumbel_scale']}, max considered "
        f"{cfg['gumbel']['max_num_considered_actions']}. Device: {device_text(dev)}, "
        f"jax {dev['jax_version']}, mctx {dev['mctx_version']}. "
        f"Load average {result['load_average']['start'][0]:.1f} at start, "
        f"{result['load_average']['end'][0]:.1f} at end. {result['timestamp']}.",
        "",
        "| rule | batch | sims | mctx ms | jwm ms | mctx/jwm | >= 1 | jwm min/p90 ms | repeats | "
        "compile s mctx / jwm |",
        "|---|---:|---:|---:|---:|---:|:---:|---:|---:|---:|",
    ]
    for c in result["cells"]:
        ok = ratios["mctx_over_jwm_per_cell"][c["cell"]]["pass"]
        lines.append(
            f"| {c['rule']} | {c['batch']} | {c['num_simulations']} | "
            f"{c['mctx']['median_ms']:.3f} | {c['jwm']['median_ms']:.3f} | "
            f"{c['mctx_over_jwm']:.2f} | {'yes' if ok else 'NO'} | "
            f"{c['jwm']['min_ms']:.3f} / {c['jwm']['p90_ms']:.3f} | {c['jwm']['repeats']} | "
            f"{c['compile_s']['mctx']:.1f} / {c['compile_s']['jwm']:.1f} |")
    lines += ["", "| check | value | target | pass |", "|---|---:|---:|:---:|"]
    if single_cell_target(result):
        batch, sims, rule, h = single_cell_target(result)
        lines.append(f"| mctx/jwm, batch {batch} x {sims} sims, {rule} | {h['value']:.2f} | "
                     f"{h['target']} | {'yes' if h['pass'] else 'NO'} |")
    for name, r in ratios["jwm_sims256_over_sims64"].items():
        lines.append(f"| jwm time(256)/time(64), {name} (mctx: {r['mctx_sims256_over_sims64']:.2f}) "
                     f"| {r['value']:.2f} | {r['target']} | {'yes' if r['pass'] else 'NO'} |")
    lines += ["", f"All targets pass: {'yes' if ratios['all_pass'] else 'NO'}.", "",
              "Sanity (noise off, root visit counts jwm vs mctx):", ""]
    for rule, s in result["sanity_same_search"].items():
        lines.append(f"- {rule} (batch {s['batch']}, {s['num_simulations']} sims, "
                     f"{s['noise_off']}): {s['roots_with_identical_visit_counts']}/{s['batch']} "
                     f"roots identical")
    diag = result.get("diagnostics")
    if diag:
        lines += ["", "Diagnostics: selection work against the simulation budget (the trees "
                  "are mctx's, so mctx does this work too). Loop iterations: what a batched "
                  "loop runs, the sum over simulations of the batch's deepest walk (one "
                  "selection and one backup step per root each). jwm t256/t64 = iterations "
                  "growth x per-iteration growth, exactly:", "",
                  "| rule | batch | selections/root growth | loop iterations 16/64/256 | "
                  "iterations growth | deepest node | jwm us/iteration 16/64/256 | "
                  "per-iteration growth | jwm t256/t64 | mctx t256/t64 | "
                  "jwm loop ops split across threads 16/64/256 |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for name, g in diag["depth_growth"].items():
            rule, batch = name.rsplit("_b", 1)
            it, us = g["loop_iterations"], g["jwm_us_per_loop_iteration"]
            lines.append(
                f"| {rule} | {batch} | {g['selections_per_root_growth']:.2f} | "
                f"{it['16']} / {it['64']} / {it['256']} | {g['loop_iterations_growth']:.2f} | "
                f"{g['deepest_node_256']} | {us['16']:.2f} / {us['64']:.2f} / {us['256']:.2f} | "
                f"{g['jwm_per_iteration_growth']:.2f} | {g['jwm_growth']:.2f} | "
                f"{g['mctx_growth']:.2f} | "
                + " / ".join(str(g["jwm_loop_ops_split_across_threads"][k])
                             for k in ("16", "64", "256")) + " |")
        lines += ["", "Split ops: loop-body ops that XLA's CPU cost model hands to the "
                  "thread pool because the arrays they read exceed 512 KB (the tree "
                  "arrays, at batch 64 from 256 simulations on); each costs a thread "
                  "synchronisation per loop step, whatever its own size."]
        lines += ["", f"Compiled HLO (batch {diag['hlo_batch']}, 256 simulations), ops on "
                  "node-axis-sized arrays inside while bodies (copies / scatters):", ""]
        for name, h in diag["hlo_sims256"].items():
            lines.append(f"- {name}: {h['copies_of_node_axis_arrays_in_while_bodies']} copies, "
                         f"{h['scatters_on_node_axis_arrays_in_while_bodies']} scatters, "
                         f"{h['dynamic_update_slices_on_node_axis_arrays_in_while_bodies']} "
                         f"dynamic-update-slices; copies by shape: "
                         + ("; ".join(f"{l['while']}: " + ", ".join(f"{k} x{v}" for k, v in l["copies"].items())
                                      for l in h["loops"] if l["copies"]) or "none"))
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------


def main(argv=None) -> dict:
    """Runs the benchmark and writes ``mcts.json`` and ``mcts.md``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=200,
                        help="most timed calls per method and cell (default 200); fast cells "
                             "stop at --cell-seconds, slow ones at the minimum of "
                             f"{MIN_REPEATS}")
    parser.add_argument("--cell-seconds", type=float, default=1.5,
                        help="time box for the timed rounds of one cell (default 1.5)")
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).resolve().parent / "results",
                        help="output directory (default benchmarks/results)")
    parser.add_argument("--no-diagnostics", action="store_true",
                        help="skip the max_depth variant and the HLO op counts")
    parser.add_argument("--batches", type=int, nargs="+", default=list(BATCHES),
                        help=f"batch sizes of the grid (default {' '.join(map(str, BATCHES))})")
    parser.add_argument("--simulations", type=int, nargs="+", default=list(SIMULATIONS),
                        help="simulation counts of the grid (default "
                             f"{' '.join(map(str, SIMULATIONS))})")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    min_repeats = min(MIN_REPEATS, args.repeats)
    diagnostics = not args.no_diagnostics

    load_start = os.getloadavg()
    t_start = time.perf_counter()
    key = jax.random.key(args.seed)
    k_tables, k_sanity, k_cells = jax.random.split(key, 3)
    params = make_tables(k_tables)

    sanity = check_same_search(params, k_sanity)
    for rule, s in sanity.items():
        assert s["identical"], f"jwm and mctx disagree on root visit counts ({rule}): {s}"

    grid = [(rule, batch, ns) for rule in RULES for batch in args.batches
            for ns in args.simulations]
    cells, diag_cells, hlo = [], [], {}
    bar = tqdm(grid, desc="cells", unit="cell")
    for rule, batch, ns in bar:
        bar.set_postfix_str(f"{rule} b{batch} s{ns}")
        latents, keys, k_mctx = cell_inputs(jax.random.fold_in(k_cells, batch), batch)
        fns, info = {}, {}
        fns["mctx"], info["mctx"] = compile_and_warm(make_mctx(rule, ns), (params, latents, k_mctx))
        fns["jwm"], info["jwm"] = compile_and_warm(make_jwm(rule, ns), ((), params, latents, keys))
        stats = time_round_robin(fns, min_repeats=min_repeats, max_repeats=args.repeats,
                                 budget_s=args.cell_seconds)
        cell = f"{rule}_b{batch}_s{ns}"
        cells.append({
            "cell": cell, "rule": rule, "batch": batch, "num_simulations": ns,
            "mctx": stats["mctx"], "jwm": stats["jwm"],
            "mctx_over_jwm": stats["mctx"]["median_ms"] / stats["jwm"]["median_ms"],
            # What a first call costs beyond a steady-state one: tracing, lowering, XLA
            # compilation (and first-run effects). Informative only.
            "compile_s": {m: info[m]["first_call_s"] - stats[m]["median_ms"] / 1e3
                          for m in ("mctx", "jwm")},
            "aot_lower_s": {m: info[m]["lower_s"] for m in ("mctx", "jwm")},
            "aot_compile_s": {m: info[m]["compile_s"] for m in ("mctx", "jwm")},
            "warmup_calls": {m: info[m]["warmup_calls"] for m in ("mctx", "jwm")},
        })
        if diagnostics:
            # Node i + 1 is simulation i's new node; its depth is how many selections
            # that simulation made (default max_depth: every simulation creates one).
            depth = np.asarray(fns["jwm"]()[2].tree.depth)[:, 1:]  # [B, S]
            diag_cells.append({
                "rule": rule, "batch": batch, "num_simulations": ns,
                "jwm_ms": stats["jwm"]["median_ms"], "mctx_ms": stats["mctx"]["median_ms"],
                "selections_per_root": float(depth.sum(axis=1).mean()),
                "deepest_node": int(depth.max()),
                "loop_iterations": int(depth.max(axis=0).sum()),
                "jwm_loop_ops_split_across_threads": split_loop_ops(info["jwm"]["hlo"]),
            })
            if batch == DIAGNOSTIC_BATCH and ns == 256:
                for m in ("jwm", "mctx"):
                    hlo[f"{m}_{rule}_b{batch}"] = while_body_ops(info[m]["hlo"], ns + 1)
        del fns, info
    bar.close()

    result = {
        "benchmark": "mcts: one batched MCTS search call, jwm vs mctx, random table model",
        "device": device_info("mctx"),
        "config": {
            "problem": "random deterministic table model: next_state/reward/discount "
                       "[S, A], prior_logits [S, A], value [S] in params; leaf value = "
                       "value[next_state], priors = prior_logits[state]",
            "num_actions": NUM_ACTIONS,
            "num_states": NUM_STATES,
            "terminal_probability": TERMINAL_PROB,
            "nonterminal_discount": 0.95,
            "batches": list(args.batches),
            "num_simulations": list(args.simulations),
            "puct": {"jwm": "jwm.planners.mcts(rule='puct')", "mctx": "mctx.muzero_policy",
                     "dirichlet_fraction": DIRICHLET_FRACTION, "dirichlet_alpha": DIRICHLET_ALPHA,
                     "temperature": TEMPERATURE, "pb_c_init": 1.25, "pb_c_base": 19652.0},
            "gumbel": {"jwm": "jwm.planners.mcts(rule='gumbel')", "mctx": "mctx.gumbel_muzero_policy",
                       "gumbel_scale": GUMBEL_SCALE, "max_num_considered_actions": MAX_CONSIDERED,
                       "value_scale": 0.1, "maxvisit_init": 50.0},
            "jwm_batching": "jax.jit(jax.vmap(planner.plan, in_axes=(None, None, 0, 0)))",
            "jwm_max_depth": "default (num_simulations)",
            "max_repeats": args.repeats,
            "min_repeats": min_repeats,
            "cell_seconds": args.cell_seconds,
            "warmup": f"first run + up to {WARMUP_CALLS} calls within {WARMUP_BUDGET_S}s",
            "timing": "AOT-compiled executables, perf_counter per call, block_until_ready, "
                      "gc off, round-robin one call per method per round",
            "compile_s": "first call (lower + compile + run) minus steady-state median",
            "seed": args.seed,
        },
        "sanity_same_search": sanity,
        "cells": cells,
        "ratios": ratio_checks(cells),
        "load_average": {"start": list(load_start), "end": list(os.getloadavg())},
        "total_wall_s": None,
        "timestamp": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    if diagnostics:
        result["diagnostics"] = {"hlo_batch": DIAGNOSTIC_BATCH, "cells": diag_cells,
                                 "depth_growth": depth_growth(diag_cells),
                                 "hlo_sims256": hlo}
    result["total_wall_s"] = time.perf_counter() - t_start

    write_results(args.out, "mcts", result, markdown(result))
    return result


if __name__ == "__main__":
    main()

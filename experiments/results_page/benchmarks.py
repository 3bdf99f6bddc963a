"""Sections of the benchmarks in ``benchmarks/results/``: sweep throughput, whole agents
against their peers, planner and tree-search speed, the training driver's overhead,
imagination, Dreamer's update part by part and MuZero's training speed."""

from __future__ import annotations

import os
import re

from .formatting import code, num, pct, ratio, table
from .records import BENCH, Ctx, dig


def sweep_over_loop(agent, batch):
    """How many times faster a batch of runs is as one program (compiled once) than as a
    loop that compiles and executes each run on its own."""
    loop = batch["one_after_another_s"] + batch["runs"] * agent["alone_compile_s"]
    return loop / (batch["one_program_s"] + batch["compile_s"])


def render_bench_sweep(ctx: Ctx) -> str:
    r = ctx.get("sweep.json", BENCH)
    out = ["R runs differing in a traced setting as one program, against one run's program "
           "executed R times. \"ratio with compilation\": a Python loop over concrete values "
           "compiles every run anew, where the sweep compiles once. On a CPU the gain of a "
           "sweep is compiling once; the execution ratio is what an accelerator adds "
           "(`docs/sweeps.md`)."]
    for a in r["agents"]:
        rows = []
        for b in a["batch"]:
            rows.append([b["runs"], num(b["one_program_s"], 2), num(b["one_after_another_s"], 2),
                         ratio(b["speedup"]), num(b["compile_s"]),
                         ratio(sweep_over_loop(a, b), 1)])
        out += ["", f"**{a['agent']}** on {a['env']} (traced `{a['traced']}`; one run alone: "
                f"{num(a['alone_s'], 3)} s to execute, {num(a['alone_compile_s'])} s to compile):",
                "", table(["runs", "one program (s)", "one after another (s)",
                           "ratio (execution)", "compile (s)", "ratio with compilation"], rows)]
    return "\n".join(out)


def render_bench_agents(ctx: Ctx) -> str:
    r = ctx.get("agents.json", BENCH)
    out = ["Same run, same machine (`benchmarks/results/agents.{json,md}`, which also list "
           "every setting the peers could not match)."]
    rows = []
    d = r.get("dreamer")
    if d:
        peers = d.get("sheeprl") or []
        best = max(peers, key=lambda x: x["updates_per_s"]) if peers else {}
        cfg = d["jwm"]["config"]
        tgt = d.get("target", {})
        rows.append([f"Dreamer vs sheeprl {best.get('sheeprl_version')} DreamerV3 (torch "
                     f"{best.get('torch_version')}, {best.get('threads')} thread(s), its faster), "
                     f"{cfg['env']}, deter {cfg['model']['deter']}, batch "
                     f"{cfg['loop']['batch_size']} × {cfg['loop']['seq_len']}: updates/s",
                     num(d["jwm"]["updates_per_s"], 2), num(best.get("updates_per_s"), 2),
                     ratio(tgt.get("value")),
                     f"{tgt.get('target')}: **{'met' if tgt.get('pass') else 'not met'}**"])
        rows.append(["the same, training env steps/s", num(d["jwm"]["env_steps_per_s"]),
                     num(best.get("env_steps_per_s")), ratio(d.get("env_steps_ratio")), "–"])
    p = r.get("pets")
    if p:
        s, peer, tgt = p["settings"], (p.get("mbrl") or [{}])[0], p.get("target", {})
        rows.append([f"PETS vs mbrl-lib {dig(peer, 'versions', 'mbrl')}'s whole loop (torch "
                     f"{dig(peer, 'versions', 'torch')}, {peer.get('threads')} threads), "
                     f"{s['episodes']} episodes, ensemble {s['ensemble_size']} × "
                     f"({s['hidden_layers']} × {s['hidden_size']}), {s['particles']} particles, "
                     f"CEM {s['population']} × {s['horizon']} × {s['iterations']}, "
                     f"{s['epochs']} epochs per fit: wall time (s)",
                     f"{num(p['jwm']['run_s'], 0)} (+{num(p['jwm']['compile_s'])} compile)",
                     num(peer.get("total_s"), 0), ratio(tgt.get("value")),
                     f"{tgt.get('target')}: **{'met' if tgt.get('pass') else 'not met'}**"])
        out_p = (f"PETS's time is its planning: mbrl-lib spent {num(peer.get('plan_s'), 0)} s of "
                 f"{num(peer.get('total_s'), 0)} planning and "
                 f"{num((peer.get('fit_s') or 0) + (peer.get('final_fit_s') or 0), 0)} s fitting; "
                 f"jwm's fits take at most {num(p['jwm'].get('fit_s_at_most'), 0)} s of "
                 f"{num(p['jwm']['run_s'], 0)}.")
    out += ["", table(["comparison", "jwm", "peer", "ratio", "target"], rows,
                      ["---", "---:", "---:", "---:", "---"])]
    comp = r.get("compile") or {}
    if comp:
        out += ["", "Compile time of one agent step at the recipes' sizes: "
                + ", ".join(f"{k} {num(v['compile_s'])} s" for k, v in comp.items()) + "."]
    if p:
        out += ["", out_p]
    return "\n".join(out)


def _planner_table(r):
    names = {"jwm": "jwm `cem(...).plan` (jit)", "numpy": "NumPy CEM (vectorised)",
             "evosax": "evosax CEM (jit)", "bare_rollout": "bare rollouts (jit)",
             "jwm_icem": "jwm `icem(...).plan` (jit)", "jwm_gradient": "jwm `gradient(...).plan` (jit)"}
    base = r["timings"]["jwm"]["median_ms"]
    rows = [[names.get(k, k), num(t["median_ms"], 2), num(t["p90_ms"], 2),
             ratio(t["median_ms"] / base)] for k, t in r["timings"].items()]
    checks = [[k, ratio(v["value"]), v["target"], "yes" if v["pass"] else "no"]
              for k, v in r.get("ratios", {}).items()]
    return (table(["method", "median ms", "p90 ms", "time / jwm CEM"], rows) + "\n\n"
            + table(["check", "value", "target", "met"], checks, ["---", "---:", "---:", ":---:"]))


def render_bench_planners(ctx: Ctx) -> str:
    r = ctx.get("planners.json", BENCH)
    c = r["config"]
    out = [f"One CEM planning step ({c['env']} true model, population {c['population']}, horizon "
           f"{c['horizon']}, {c['iterations']} iterations, {c['num_elites']} elites). All methods "
           "are timed in the same run and interleaved round-robin.", "", _planner_table(r)]
    diag = r.get("diagnostics") or {}
    if diag:
        out += ["", "What bounds the ratios: jwm's scoring of the population "
                f"(`jwm_evaluator_5x500x30`, {num(dig(diag, 'jwm_evaluator_5x500x30', 'median_ms'), 2)} ms)"
                " costs about what the bare rollout costs, so the bare rollout is the floor; the "
                "rest of the jwm step is the Gaussian sampling (hashed bits: "
                f"{num(dig(diag, 'sampling_5x500x30_normals_hash', 'median_ms'), 2)} ms, against "
                f"{num(dig(diag, 'sampling_5x500x30_normals_threefry', 'median_ms'), 2)} ms with "
                "threefry) and top-k with the refit "
                f"({num(dig(diag, 'topk_gather_refit_5x', 'median_ms'), 2)} ms). NumPy's whole "
                f"CEM takes {ratio(r['timings']['numpy']['median_ms'] / r['timings']['bare_rollout']['median_ms'], 1)}"
                " the bare rollout, so a CEM that cost nothing beyond its rollouts could reach "
                "no more than that against NumPy."]
    hlo = r.get("compiled_hlo_checks") or {}
    if hlo:
        out.append("Compiled plan: " + "; ".join(
            f"`{k}` {v['sort_ops']} sort op(s), {v['topk_custom_calls']} TopK call(s)"
            for k, v in hlo.items()) + ".")
    loaded = ctx.get("loaded/planners.json", BENCH)
    if loaded:
        out += ["", "**Measured while the machine was loaded** "
                "(`benchmarks/results/loaded/planners.json`): iCEM "
                f"({num(dig(loaded, 'config', 'icem', 'sequences_scored'))} sequences scored "
                f"against CEM's {num(c['population'] * c['iterations'] + 1)}) and gradient "
                f"shooting ({dig(loaded, 'config', 'gradient', 'iterations')} Adam steps × "
                f"{dig(loaded, 'config', 'gradient', 'restarts')} restarts) in the same schedule:",
                "", _planner_table(loaded)]
    return "\n".join(out)


def render_bench_pets(ctx: Ctx) -> str:
    r = ctx.get("pets.json", BENCH)
    ps = r["plan_step"]
    out = ["One PETS planning step: CEM on an ensemble of probabilistic members (TS-inf), "
           "Pendulum-sized. jwm's jitted `cem(ensemble_model(...)).plan` runs against "
           "mbrl-lib's `GaussianMLP` → `OneDTransitionRewardModel` → `ModelEnv` → "
           "`CEMOptimizer` → `TrajectoryOptimizerAgent`, built without hydra, with torch "
           f"at {ps.get('torch_num_threads')} thread(s) and denormals flushed as XLA does. Both "
           "run round-robin in one schedule. Details, including how the two planners differ, "
           "are in `benchmarks/results/pets.{json,md}`."]
    rows = []
    for k, v in r["checks"].items():
        val = v["value"]
        shown = (pct(val, 0) if "efficiency" in k else
                 f"{num(val)} s" if "compile" in k else ratio(val))
        rows.append([k, shown, v["target"], "yes" if v["pass"] else "no"])
    out += ["", table(["check", "value", "target", "met"], rows, ["---", "---:", "---:", ":---:"])]
    rows = []
    for size, d in ps.items():
        if not isinstance(d, dict) or "timings" not in d:
            continue
        t = d["timings"]
        rows.append([size, num(t["jwm"]["median_ms"], 0), num(t["mbrl"]["median_ms"], 0),
                     num(d["diagnostics"]["mbrl_1_thread"]["median_ms"], 0),
                     num(t["matmul_chain"]["median_ms"], 0),
                     num(d["diagnostics"]["matmul_silu_chain"]["median_ms"], 0),
                     num(d["reachability"]["speed_target_needs_ms"], 0),
                     num(d["reachability"]["efficiency_target_needs_ms"], 0)])
    out += ["", "Per planning step (ms, medians):", "",
            table(["network", "jwm", "mbrl-lib", "mbrl-lib, 1 thread", "matmuls alone (XLA)",
                   "matmuls with activations", "step the speed target asks for",
                   "step the efficiency target asks for"], rows)]
    small = ps.get("3x64")
    if small:
        out += ["", "At the small network the targets ask for a step shorter than the network's "
                "matmuls and activations alone take in XLA on this machine "
                f"({num(small['reachability']['network_alone_ms'], 0)} ms), before any sampling, "
                "normalisation or planning: XLA's CPU backend does not fuse the activation into "
                "the matmul, so each layer's output is written, read and written again."]
    run = r.get("pets_run")
    if run:
        n = len(run.get("episode_return_vmapped", []))
        out += ["", f"A whole PETS run for {n} seeds took "
                f"{num(run['timings']['vmapped']['median_ms'] / 1e3)} s vmapped and "
                f"{num(run['timings']['sequential']['median_ms'] / 1e3)} s as {n} sequential "
                f"calls ({ratio(run['vmapped_speedup'])}); the largest difference between the "
                f"two modes' returns is {num(run['max_abs_return_diff_vmapped_vs_sequential'])}."]
    return "\n".join(out)


def cell_ratios(r):
    """The smallest and largest mctx time / jwm time over all cells of ``mcts.json``."""
    values = [v["value"] for v in dig(r, "ratios", "mctx_over_jwm_per_cell", default={}).values()]
    return (min(values), max(values)) if values else (None, None)


def single_cell_targets(r):
    """The targets ``mcts.json`` sets for one cell: (batch, simulations, rule, its record)."""
    out = []
    for key, head in dig(r, "ratios", default={}).items():
        m = re.fullmatch(r"mctx_over_jwm_batch(\d+)_sims(\d+)_(\w+)", key)
        if m and isinstance(head, dict):
            out.append((m.group(1), m.group(2), m.group(3).upper(), head))
    return out


def render_bench_mcts(ctx: Ctx) -> str:
    r = ctx.get("mcts.json", BENCH)
    out = ["One jitted search over a batch of roots on a random table model: jwm's "
           "`vmap(mcts(...).plan)` against mctx's `muzero_policy` (PUCT) and "
           "`gumbel_muzero_policy`, with the same settings, in the same run. Cells give mctx "
           "time / jwm time (above 1 means jwm is faster)."]
    cells = {}
    sims = sorted({c["num_simulations"] for c in r["cells"]})
    for c in r["cells"]:
        cells.setdefault((c["rule"], c["batch"]), {})[c["num_simulations"]] = c["mctx_over_jwm"]
    lo, hi = sims[-2], sims[-1]
    growth = dig(r, "ratios", f"jwm_sims{hi}_over_sims{lo}", default={})
    rows = []
    for (rule, batch), by in cells.items():
        g = growth.get(f"{rule}_b{batch}", {})
        rows.append([rule, batch] + [ratio(by.get(s)) for s in sims]
                    + [f"{num(g.get('value'), 2)} (mctx {num(g.get(f'mctx_sims{hi}_over_sims{lo}'), 2)})"
                       if g else "–"])
    out += ["", table(["rule", "batch"] + [f"{s} sims" for s in sims]
                      + [f"jwm time({hi}) / time({lo})"], rows)]
    per_cell = dig(r, "ratios", "mctx_over_jwm_per_cell", default={})
    if per_cell:
        thin = cell_ratios(r)[0]
        ok = all(v["pass"] for v in per_cell.values())
        passing = [k for k, v in growth.items() if v.get("pass")]
        gt = next(iter(growth.values()), {}).get("target", "")
        ct = next(iter(per_cell.values()))["target"]
        out += ["", "Targets:",
                f"- **mctx / jwm {ct} in every cell: {'met' if ok else 'not met'}** (the thinnest "
                f"margin is {ratio(thin)})."]
        for batch, sims_, rule, head in single_cell_targets(r):
            out.append(f"- **mctx / jwm {head.get('target')} at batch {batch} × "
                       f"{sims_} simulations with {rule}: "
                       f"{'met' if head.get('pass') else 'not met'}** ({ratio(head.get('value'))}).")
        out.append(f"- **time({hi}) {gt} × time({lo}): met for {', '.join(passing) or 'no cell'}**.")
    dg = dig(r, "diagnostics", "depth_growth", default={})
    if dg:
        rows = [[k, num(v["loop_iterations_growth"], 2), num(v["jwm_per_iteration_growth"], 2),
                 num(v["jwm_growth"], 2),
                 " / ".join(str(x) for x in v.get("jwm_loop_ops_split_across_threads", {}).values())]
                for k, v in dg.items()]
        out += ["", "jwm builds mctx's trees, so the number of loop iterations (selections) is "
                "the same for both, and the time ratio is exactly (growth in iterations) × "
                "(growth in time per iteration), from 64 to 256 simulations. The last column "
                "counts the small per-root ops in the compiled loops that XLA's CPU backend "
                "splits across threads (each then costs a thread handoff per loop step):", "",
                table(["cell", "iterations growth", "time per iteration growth", "time growth",
                       f"ops split across threads at {' / '.join(map(str, sims))} sims"], rows)]
    return "\n".join(out)


def _driver_rows(r):
    rows = []
    for name, d in r["results"].items():
        t = d["times_ms"]
        rows.append([name, d["iterations"], num(t["agent.run"]["median_ms"] / 1e3),
                     num(t["jwm.train"]["median_ms"] / 1e3), num(d["train_over_run"], 2),
                     "yes" if d["target"]["pass"] else "no",
                     f"{num(d['checkpoint_bytes'] / 2**20, 2)} MiB",
                     f"{num(d['save_blocking_ms'], 0)} / {num(d['save_total_ms'], 0)}"])
    return rows


def render_bench_driver(ctx: Ctx) -> str:
    main = ctx.get("driver.json", BENCH)
    out = ["`jwm.train` (host loop, progress bar, `metrics.jsonl`, orbax checkpoints) "
           "against `agent.run` (the same run as one program), timed after compilation on the "
           "same agent and key; both give bit-identical results. The agents are their recipes' "
           "default sizes with shortened iterations, so the driver's per-iteration cost is a "
           "larger share than in the full-length runs. Training waits only for the blocking "
           "part of a save (the copy to host memory); the write runs beside the next "
           "iterations."]
    header = ["agent", "iterations", "agent.run (s)", "jwm.train (s)", "train / run",
              f"≤ {num(main.get('target_train_over_run'), 2)}" if main else "met",
              "checkpoint", "save: blocking / whole (ms)"]
    labels = {"driver_without_donation.json": "without donating the state to the step (the "
              "step then copies its replay buffer every call)"}
    for p, r in ctx.matching("driver*.json", BENCH):
        reps = sorted({d["times_ms"]["jwm.train"]["repeats"] for d in r["results"].values()})
        label = (" and ".join(r["results"]) + "; median of "
                 + "/".join(map(str, reps)) + " timed run(s)")
        extra = labels.get(os.path.basename(p))
        out += ["", f"**{label}**" + (f", {extra}" if extra else "") + f" ({code(p)}):", "",
                table(header, _driver_rows(r), ["---"] + ["---:"] * 4 + [":---:", "---:", "---:"])]
    return "\n".join(out)


def render_bench_imagination(ctx: Ctx) -> str:
    r = ctx.get("imagination.json", BENCH)
    rows = [[name, d["deter"], d["hidden"], f"{d['stoch']}×{d['classes']}", num(d["model_params"]),
             num(d["median_ms"]), num(d["imagined_steps_per_s"], 0)] for name, d in r["rows"].items()]
    load = (f" Load average {num(r['loadavg_start'][0])} at the start, "
            f"{num(r['loadavg_end'][0])} at the end." if r.get("loadavg_start") else "")
    return "\n".join([
        f"Imagined latent steps per second with the actor's gradient through the dynamics: "
        f"{num(r['starts'])} starts × {r['horizon']} steps, at jwm's default size and at "
        f"DreamerV3's smaller presets.{load}", "",
        table(["size", "deter", "hidden", "stoch × classes", "model params", "median ms",
               "imagined steps/s"], rows)])


def render_bench_dreamer_parts(ctx: Ctx) -> str:
    r = ctx.get("dreamer_parts.json", BENCH)
    parts = r["parts"]
    base = r.get("baseline")
    update = parts["update"]["median_ms"]
    rows = []
    for name, d in parts.items():
        if name.endswith("(baseline)") or name.startswith("matmul") or name in (
                "evaluation", f"iteration of {r.get('phases_per_iteration')} phases"):
            continue
        b = parts.get(f"{name} (baseline)")
        rows.append([name, num(d["median_ms"], 1), num(d["min_ms"], 1),
                     pct(d["median_ms"] / update, 0),
                     num(b["median_ms"], 1) if b else "", ratio(b["median_ms"] / d["median_ms"])
                     if b else ""])
    out = [f"Where a Dreamer update goes (CartPole-v1, the recipe's sizes): medians of "
           f"{parts['update']['repeats']} timed calls after compilation, round-robin, the "
           f"baseline revision {base} timed in the same schedule on the same inputs.", "",
           table(["part", "median (ms)", "min (ms)", "share of an update",
                  f"baseline {base} (ms)", "baseline / now"], rows)]
    it = parts.get(f"iteration of {r.get('phases_per_iteration')} phases")
    if it:
        per = (it["median_ms"] - parts["evaluation"]["median_ms"]) / r["phases_per_iteration"]
        out += ["", f"Inside the agent, one iteration of {r['phases_per_iteration']} phases (each "
                f"{r['train_every']} env steps and one update) and an evaluation takes "
                f"{num(it['median_ms'], 0)} ms: {num(per)} ms per phase, against "
                f"{num(update)} ms for the update called on its own, so the env steps cost "
                "little beside the update. The spread of single calls is wide on a shared "
                f"machine (the update's min is {num(parts['update']['min_ms'])} ms)."]
    g = r.get("matmul_gflop")
    if g:
        out += ["", "The update multiplies "
                f"{num(sum(g.values()), 1)} GFLOP of matrices (counted from the kernels' shapes: "
                + ", ".join(f"{num(v, 2)} {k}" for k, v in g.items())
                + "); `dreamer_parts.md` turns these into a floor with this machine's matmul "
                "rates."]
    return "\n".join(out)


def render_bench_muzero(ctx: Ctx) -> str:
    r = ctx.get("muzero.json", BENCH)
    a = r.get("args", {})
    out = [f"Training throughput against LightZero {r.get('lightzero_version')}'s MuZero "
           f"(PyTorch {r.get('torch_version')}, its C++ tree search) on CartPole-v1, "
           f"{a.get('simulations')} simulations, self-play and updates and reanalyse timed "
           "after compilation (jwm) and start-up (LightZero), without evaluation. Load "
           f"average {num(r['load_start'][0], 2)} at the start, {num(r['load_end'][0], 2)} at the "
           "end (the machine was shared)."]
    rows = []
    for c in r.get("comparisons", []):
        t = c["target"]
        rows.append([f"{c['label']} (jwm `{c['jwm']}`, LightZero `{c['lightzero']}`)",
                     num(c["jwm_env_steps_per_s"]), num(c["lightzero_env_steps_per_s"], 2),
                     f"**{ratio(c['ratio'])}**", f"{t['target']}: {'met' if t['pass'] else 'not met'}"])
    out += ["", table(["comparison", "jwm env steps/s", "LightZero env steps/s",
                       "jwm / LightZero", "target"], rows, ["---", "---:", "---:", "---:", "---"])]
    sp = r.get("jwm_split") or {}
    if sp:
        out += ["", "jwm's split (from its runs with and without most updates): " + ", ".join(
            f"{k.replace('_', ' ')} {num(v, 2)}" for k, v in sp.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)) + "."]
    out += ["", "The networks differ where the two libraries' configs do not allow a match, "
            "and jwm samples replay by priority where LightZero samples uniformly; "
            "`benchmarks/results/muzero.md` lists every difference."]
    return "\n".join(out)



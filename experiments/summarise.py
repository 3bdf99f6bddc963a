"""Writes ``docs/results.md`` from the JSON that the experiments and benchmarks write.

    python experiments/summarise.py          # (re)write docs/results.md
    python experiments/summarise.py --check  # exit 1 and print a diff if it is stale

Every number on the page is formatted here from a field of a JSON file in
``experiments/results/`` or ``benchmarks/results/`` (plus ``benchmarks/results/loaded/``,
which the page labels), so the page cannot drift from the measurements: re-run a
script, then this one. The prose around the tables only names what is measured and
how; where a sentence needs a number, it is read from the JSON too.

``SECTIONS`` maps glob patterns to a section (title, command, renderer), in page
order. A JSON file that no pattern matches still appears, under "Other results", with
its top-level scalar fields.
"""

from __future__ import annotations

import argparse
import difflib
import glob
import json
import math
import os
import re
import statistics
import sys
from typing import Callable, NamedTuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGE = os.path.join(ROOT, "docs", "results.md")
EXP = "experiments/results"
BENCH = "benchmarks/results"
# Result folders whose top-level JSON files must all appear on the page.
RESULT_DIRS = (EXP, BENCH)
MINUS = "\u2212"


# ---------------------------------------------------------------------------------
# Formatting. Numbers use a real minus sign and thousands separators.

def num(x, digits: int = 1) -> str:
    if x is None:
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        s = f"{abs(x):,}"
    else:
        if math.isnan(x):
            return "nan"
        s = f"{abs(x):,.{digits}f}"
    return (MINUS + s) if x < 0 and s.strip("0.,") else s


def pct(x, digits: int = 1) -> str:
    return "–" if x is None else num(100 * x, digits) + "%"


def ratio(x, digits: int = 2) -> str:
    return "–" if x is None else num(x, digits) + "×"


def ksteps(n) -> str:
    """Env steps as 16.8k / 1,024k / 400."""
    if n is None:
        return "never"
    n = float(n)
    if abs(n) < 1000:
        return num(int(round(n)))
    k = n / 1000
    if k >= 1000 or k == int(k):
        return num(int(round(k))) + "k"
    return num(k, 1) + "k"


def table(header, rows, align=None) -> str:
    align = align or ["---"] + ["---:"] * (len(header) - 1)
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out)


def slug(title: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to '-'."""
    s = "".join(c for c in title.lower() if c.isalnum() or c in " -_")
    return s.replace(" ", "-")


def code(path: str) -> str:
    return f"`{os.path.basename(path)}`"


# ---------------------------------------------------------------------------------
# Reading results.

def load(path: str):
    try:
        with open(os.path.join(ROOT, path)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None  # absent or being rewritten: the section says so instead


def dig(record, *keys, default=None):
    for k in keys:
        if isinstance(record, dict) and k in record:
            record = record[k]
        elif isinstance(record, list) and isinstance(k, int) and -len(record) <= k < len(record):
            record = record[k]
        else:
            return default
    return record


def mean(xs):
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None


def seed_means(record, key="eval_returns"):
    """The seed-mean at every evaluation point."""
    curves = record.get(key) or []
    return [mean(col) for col in zip(*curves)] if curves else []


def first_at_least(values, threshold):
    for i, v in enumerate(values):
        if v is not None and v >= threshold:
            return i
    return None


def provenance(record) -> str:
    """Device and versions as the JSON records them (experiments and benchmarks differ)."""
    dev = record.get("device")
    parts = []
    if isinstance(dev, dict):
        desc = dev.get("description") or dev.get("platform")
        cores = dev.get("cpu_count")
        parts.append(f"device {desc}" + (f", {cores} CPUs" if cores else ""))
        jax_v, jwm_v = dev.get("jax_version"), dev.get("jwm_version")
    else:
        if dev:
            parts.append(f"device {dev}")
        jax_v, jwm_v = record.get("jax") or record.get("jax_version"), record.get("jwm_version")
    parts.append(f"jax {jax_v}" if jax_v else "jax version not recorded")
    parts.append(f"jwm {jwm_v}" if jwm_v else "jwm version not recorded")
    when = record.get("timestamp") or record.get("date")
    if when:
        parts.append(str(when)[:10])
    return "; ".join(parts)


class Ctx(NamedTuple):
    """What a renderer gets: the section's files (repo-relative paths) and records."""
    files: list
    records: dict

    def get(self, name: str, folder: str = EXP):
        return self.records.get(f"{folder}/{name}")

    def matching(self, suffix_glob: str, folder: str = EXP):
        pattern = f"{folder}/{suffix_glob}"
        return [(p, self.records[p]) for p in self.files
                if glob.fnmatch.fnmatch(p, pattern) and self.records.get(p) is not None]


# ---------------------------------------------------------------------------------
# Renderers, one per result family. Each returns Markdown; prose names what was
# measured and how, and every number in it is read from the records.

def render_true_model_mpc(ctx: Ctx) -> str:
    runs = [(p, r) for p, r in ctx.matching("true_model_mpc_*.json")
            if not p.endswith("_summary.json")]
    rows = []
    for p, r in sorted(runs, key=lambda pr: (pr[1]["env"], pr[1]["algorithm"])):
        finals = [seed[-1] for seed in r["eval_returns"]]
        planner = dig(r, "config", "planner", default={})
        setting = " × ".join(f"{k} {planner[k]}" for k in ("horizon", "population")
                             if k in planner)
        rows.append([r["env"], r["algorithm"].replace(" MPC, true model", ""), setting,
                     r["seeds"], num(statistics.fmean(finals)), num(statistics.pstdev(finals)),
                     num(min(finals)), num(statistics.fmean(r.get("episode_lengths") or [0])),
                     num(r.get("wall_time_s")), code(p)])
    out = ["The planner is given the simulator itself as its model. Each seed plays one "
           "whole episode at the environment's time limit; the return of that episode is "
           "the result.", "",
           table(["env", "planner", "settings", "seeds", "mean return", "std", "worst seed",
                  "mean episode length", "wall time (s)", "file"], rows,
                 ["---", "---", "---"] + ["---:"] * 6 + ["---"])]
    baselines = []
    for p, r in ctx.matching("true_model_mpc_*_summary.json"):
        rnd = dig(r, "mean_returns", "random actions")
        if rnd is not None:
            baselines.append(f"{num(rnd)} on {r['env']}")
    if baselines:
        out += ["", "Uniformly random actions score " + ", ".join(baselines) + "."]
    rs = ctx.get("true_model_mpc_cartpole_random_shooting.json")
    if rs:
        out += ["", "CartPole pays the same reward every step while the pole is up, so all "
                "candidate plans tie until one falls: the planner needs a horizon long "
                "enough to see the cart drift off the track (random shooting uses "
                f"{dig(rs, 'config', 'planner', 'horizon')} steps here)."]
    return "\n".join(out)


def _episodes_list(means, bold_index=None):
    # Small returns (MountainCar's action cost) need a decimal to be told apart.
    digits = 1 if max((abs(m) for m in means if m is not None), default=0) < 50 else 0
    cells = []
    for i, m in enumerate(means):
        s = num(m, digits)
        cells.append(f"**{s}**" if i == bold_index else s)
    return ", ".join(cells)


def render_pets(ctx: Ctx) -> str:
    out = []
    pend = ctx.get("pets_Pendulum-v1.json")
    if pend:
        c = pend["config"]
        m, pl, fit = c["model"], c["planner"], c["fit"]
        out.append(
            f"CEM-MPC on a probabilistic ensemble ({m['ensemble_size']} {m.get('activation', '')} "
            f"members of {len(m['hidden_sizes'])} × {m['hidden_sizes'][0]}, "
            f"{m['propagation']} with {m['particles']} particles; horizon {pl['horizon']}, "
            f"population {pl['population']}, {pl['iterations']} iterations), refit for "
            f"{fit['epochs']} epochs after every episode; random actions in the first "
            f"{c['random_episodes']} episode(s). Every later episode is planned on the model fitted to "
            "all earlier data, and its return is the evaluation point. The run is the PETS "
            "recipe (`jwm.recipes.PETS`) driven by `jwm.train`, all seeds vmapped in one "
            "program.")
    rows = []
    for p, r in ctx.matching("pets_*.json"):
        means = seed_means(r)
        tgt = r.get("target") or {}
        reach = None
        if tgt:
            steps = r["env_steps"][0]
            eps = ", ".join(str(s // steps) for s in tgt.get("seed_steps") or [] if s)
            reach = (f"≥ {num(tgt['threshold'], 0)}: {tgt['seeds_reaching']}/{tgt['seeds']} "
                     f"(episodes {eps})")
        first = None
        if tgt.get("mean_steps") in r["env_steps"]:
            first = r["env_steps"].index(tgt["mean_steps"])
        rows.append([r["env"], r["config"]["episodes"], r["env_steps"][0],
                     _episodes_list(means, first), reach or "–",
                     num(dig(r, "baselines", "random actions", "mean")),
                     num(dig(r, "baselines", "true-model CEM", "mean")),
                     num(r.get("wall_time_s"), 0), code(p)])
    out += ["", table(["env", "episodes", "env steps each", "seed-mean return per episode",
                       "seeds reaching the target (first episode)", "random actions",
                       "true-model CEM, same planner", "wall time (s)", "file"], rows,
                      ["---", "---:", "---:", "---", "---", "---:", "---:", "---:", "---"])]
    if pend and pend.get("target"):
        tgt = pend["target"]
        steps = pend["env_steps"]
        k = steps.index(tgt["mean_sustained_steps"]) if tgt.get("mean_sustained_steps") in steps else None
        if k is not None:
            later = [x for seed in pend["eval_returns"] for x in seed[k:]]
            cem = dig(pend, "baselines", "true-model CEM", "returns") or []
            out += ["", f"From episode {k + 1} ({num(steps[k])} env steps) on, the seed-mean "
                    f"return stays at or above {num(tgt['threshold'], 0)}, close to that of "
                    "the same CEM planning on the simulator itself. Single episodes still "
                    "vary with the initial state: PETS scores "
                    f"{num(max(later))} to {num(min(later))} in episodes {k + 1}–{len(steps)}"
                    + (f", and the true-model CEM baseline {num(max(cem))} to {num(min(cem))} "
                       f"over its {len(cem)} episodes." if cem else ".")]
    mc = ctx.get("pets_MountainCarContinuous-v0.json")
    if mc:
        c = mc["config"]
        pl = c["planner"]
        planned = [x for seed in mc["eval_returns"] for x in seed[c["random_episodes"]:]]
        cem = dig(mc, "baselines", "true-model CEM", "returns") or []
        out += ["", f"On {mc['env']} the environment's reward and termination are given to "
                f"the model (`known_reward`), with {c['episodes']} episodes of "
                f"{c['steps_per_episode']} steps and CEM horizon {pl['horizon']} × population "
                f"{pl['population']} × {pl['iterations']} iterations. PETS's planned episodes "
                f"score {num(min(planned))} to {num(max(planned))}; CEM on the simulator "
                f"scores {num(dig(mc, 'baselines', 'true-model CEM', 'mean'))} and random "
                f"actions {num(dig(mc, 'baselines', 'random actions', 'mean'))}."]
        if planned and cem and max(planned + cem) < 0:
            out.append("No episode of either planner has a positive return, so neither "
                       "reaches the flag and both only save action cost. Since the planner "
                       "fails even with the simulator as its model, the planner limits this "
                       "result, not the learned model.")
    return "\n".join(out)


def render_svg(ctx: Ctx) -> str:
    out = []
    base = ctx.get("svg_Pendulum-v1.json")
    if base:
        c, le = base["config"], base["config"]["learner"]
        m = c.get("model", {})
        out.append(
            f"A tanh-Gaussian policy ({' × '.join(map(str, le['actor_hidden_sizes']))}, "
            f"{le['activation']}) trained only by the gradient of the imagined return "
            f"through the model: {le['horizon']}-step imagined trajectories from "
            f"{c['batch_size']} buffer states per update, λ-returns (λ {le['lambda_']}, "
            f"γ {le['discount']}) bootstrapped by an EMA target critic, "
            f"{c['updates_per_episode']} updates per round. Each round collects one episode "
            "with the sampling policy (the first with random actions), refits the model "
            f"({m.get('ensemble_size')} members of {len(m.get('hidden_sizes', []))} × "
            f"{(m.get('hidden_sizes') or [None])[0]}, {dig(c, 'fit', 'epochs')} epochs) and "
            f"then evaluates the deterministic policy on {c['eval_episodes']} fresh episodes; "
            "env steps count collected steps only. All seeds run as one vmapped program, "
            "the SVG recipe driven by `jwm.train`. The true-model variant fits nothing and "
            "learns nothing from the collected episodes, so its env steps are a clock of "
            "rounds.")
    rows = []
    for p, r in ctx.matching("svg_*.json"):
        means = seed_means(r)
        tgt = r.get("target") or {}
        first = first_at_least(means, tgt["threshold"]) if tgt else None
        finals = [s[-1] for s in r["eval_returns"]]
        rows.append([r["algorithm"], r["seeds"], _episodes_list(means, first),
                     (f"{ksteps(tgt.get('mean_steps'))} (≥ {num(tgt['threshold'], 0)})"
                      if tgt else "–"),
                     f"{num(mean(finals), 0)} ({num(min(finals), 0)} … {num(max(finals), 0)})",
                     num(dig(r, "baselines", "random actions", "mean"), 0),
                     num(r.get("wall_time_s"), 0), code(p)])
    out += ["", table(["model", "seeds", "seed-mean eval return per round",
                       "seed-mean first at target", "final, mean (seed range)",
                       "random actions", "wall time (s)", "file"], rows,
                      ["---", "---:", "---", "---:", "---", "---:", "---:", "---"])]
    return "\n".join(out)


def _target_text(r, means):
    tgt = r.get("target") or {}
    if not tgt:
        return "–"
    thr, within = tgt.get("return"), tgt.get("env_steps")
    head = f"≥ {num(thr, 0)}" + (f" within {ksteps(within)}" if within else "")
    if tgt.get("mean_reaches_at_env_steps") is None:
        return f"{head}: **not met** (best {num(max(m for m in means if m is not None), 0)})"
    met = within is None or tgt["mean_reaches_at_env_steps"] <= within
    return (f"{head}: **{'met' if met else 'not met'}**, first at "
            f"{ksteps(tgt['mean_reaches_at_env_steps'])}, held from "
            f"{ksteps(tgt.get('mean_stays_from_env_steps'))}; "
            f"{tgt.get('seeds_reaching')}/{r['seeds']} seeds reach it")


def render_dreamer(ctx: Ctx) -> str:
    out = []
    cp, pd = ctx.get("dreamer_CartPole-v1.json"), ctx.get("dreamer_Pendulum-v1.json")
    ref = cp or pd
    if ref:
        m, b, lp = ref["config"]["model"], ref["config"]["behavior"], ref["config"]["loop"]
        out.append(
            f"RSSM (GRU state {m['deter']} in {m['blocks']} blocks, {m['stoch']} categoricals "
            f"× {m['classes']} classes, MLPs of {m['units']}) and an actor-critic imagining "
            f"{b['horizon']} steps ahead (λ {b['lambda_']}), {lp['num_envs']} envs in "
            f"parallel, {num(lp['prefill'])} random prefill steps, then "
            f"{lp['train_steps']} update on a {lp['batch_size']} × {lp['seq_len']} batch every "
            f"{lp['train_every']} env steps. Evaluation: the deterministic actor, "
            f"{lp['eval_episodes']} fresh episodes per point. The seeds run as one jitted, "
            "vmapped program through `jwm.train`.")
        for r in (cp, pd):
            if r:
                b, lp = r["config"]["behavior"], r["config"]["loop"]
                out.append(f"{r['env']}: γ {b['discount']}, learning rates model "
                           f"{lp['model_lr']}, actor {b['actor_lr']}, critic {b['critic_lr']}.")
    rows = []
    for p, r in ctx.matching("dreamer_*.json"):
        means = seed_means(r)
        first_seed = r.get("seed", 0)
        rows.append([r["env"], f"seeds {first_seed}–{first_seed + r['seeds'] - 1}",
                     ", ".join(ksteps(s) for s in r["env_steps"]),
                     _episodes_list(means), _target_text(r, means),
                     num(r.get("wall_time_s"), 0), code(p)])
    out += ["", table(["env", "run", "env steps (mean over seeds)",
                       "seed-mean evaluation return", "target", "wall time (s)", "file"], rows,
                      ["---", "---", "---", "---", "---", "---:", "---"])]
    notes = []
    for r in (cp, pd):
        if r and r.get("wall_time_s"):
            rate = r["env_steps"][-1] * r["seeds"] / r["wall_time_s"]
            notes.append(f"{r['env']} trained at {num(rate, 0)} env steps/s over its "
                         f"{r['seeds']} seeds, evaluations and compilation included")
    if cp:
        imag = seed_means(cp.get("metrics", {}), "imagined_return")
        if imag:
            notes.append("on CartPole the critic's imagined return (seed mean) goes from "
                         f"{num(imag[0], 0)} to {num(imag[-1], 0)} over the run")
    if notes:
        text = "; ".join(notes)
        out += ["", text[:1].upper() + text[1:] + "."]
    g = ctx.get("dreamer_CartPole-v1_gamma0.99_48k.json")
    if g and cp:
        gb, gl = g["config"]["behavior"], g["config"]["loop"]
        cb, cl = cp["config"]["behavior"], cp["config"]["loop"]
        changed = [f"{name} {gd[k]} instead of {cd[k]}"
                   for name, k, gd, cd in (("γ", "discount", gb, cb),
                                           ("critic learning rate", "critic_lr", gb, cb),
                                           ("an update every", "train_every", gl, cl))
                   if gd.get(k) != cd.get(k)]
        out += ["", "Balancing the pole is learned early; keeping the cart on the track for a "
                "whole episode takes longer, because that failure comes hundreds of steps "
                "after its cause. That is why CartPole discounts slowly and uses a faster "
                f"critic: the run with {', '.join(changed)} env steps "
                f"({code('dreamer_CartPole-v1_gamma0.99_48k.json')}) never has its seed-mean at "
                f"the target within {ksteps(g['env_steps'][-1])} env steps."]
    return "\n".join(out)


def _per_step_table(r, label):
    means = seed_means(r)
    header = ["env steps"] + [ksteps(s) for s in r["env_steps"]]
    rows = [[f"{label}seed-mean"] + [num(m, 1 if max(means) < 50 else 0) for m in means]]
    if r["seeds"] > 1:
        digits = 1 if max(means) < 50 else 0
        rows.append([" / ".join(f"seed {i}" for i in range(r["seeds"]))]
                    + [" / ".join(num(s[i], digits) for s in r["eval_returns"])
                       for i in range(len(r["env_steps"]))])
    return table(header, rows)


def render_muzero(ctx: Ctx) -> str:
    out = []
    cp = ctx.get("muzero_CartPole-v1.json")
    if cp:
        m, lp = cp["config"]["model"], cp["config"]["loop"]
        out.append(
            f"`jwm.recipes.MUZERO`: representation, dynamics and prediction MLPs (hidden "
            f"{' × '.join(map(str, m['hidden_sizes']))}, hidden state {m['latent_size']}, rewards and values over "
            f"{2 * m['support'] + 1} bins of `h(x)`), {lp['search']} search with "
            f"{lp['num_simulations']} simulations, {lp['num_envs']} self-play envs, "
            f"γ {lp['discount']}, K = {lp['unroll_steps']} unroll steps, {lp['n_step']}-step "
            f"value targets from a target network copied every {lp['target_update_every']} "
            f"updates, AdamW {lp['learning_rate']}, {lp['train_steps']} updates of "
            f"{lp['batch_size']} sequences every {lp['train_every']} env steps, prioritised "
            f"replay (α {lp['priority_exponent']}, β {lp['importance_exponent']}), reanalyse "
            f"fraction {lp['reanalyse_fraction']}. Evaluation: the search without noise, "
            f"{lp['eval_episodes']} episodes per point.")
    # CartPole (the recipe, then its variant) before the MinAtar game.
    runs = sorted(ctx.matching("muzero_*.json"), key=lambda pr: ("MinAtar" in pr[0], pr[0]))
    for p, r in runs:
        lp = r["config"]["loop"]
        extra = [f"{k} {lp[k]}" for k in ("num_simulations", "final_learning_rate",
                                         "eval_episodes", "n_step") if k in lp]
        out += ["", f"**{r['env']}** ({code(p)}, {r['seeds']} seeds, "
                f"{num(r.get('wall_time_s'), 0)} s; {', '.join(extra)}):", "",
                _per_step_table(r, "")]
        tgt = r.get("target") or {}
        if tgt:
            thr = tgt["return"]
            firsts = []
            for i, s in enumerate(r["eval_returns"]):
                j = first_at_least(s, thr)
                firsts.append(f"seed {i}: " + ("never" if j is None else
                                               f"{num(s[j], 0)} at {ksteps(r['env_steps'][j])}"))
            met = tgt.get("mean_reaches_at_env_steps") is not None
            out += ["", f"Target (seed-mean ≥ {num(thr, 0)} within {ksteps(tgt['env_steps'])} "
                    f"env steps): **{'met' if met else 'not met'}**. First evaluation of each "
                    f"seed at or above it: {'; '.join(firsts)}."]
    bk, ppo, mf = (ctx.get("muzero_Breakout-MinAtar.json"), ctx.get("ppo_Breakout-MinAtar.json"),
                   ctx.get("mb_vs_mf.json"))
    if bk and ppo:
        eq = dig(mf, "envs", "Breakout-MinAtar", "equal_steps") or bk["env_steps"][-1]
        pm = seed_means(ppo)
        pts = [(s, v) for s, v in zip(ppo["env_steps"], pm) if 0 < s <= eq]
        ppo_row = next((row for row in (mf or {}).get("rows", [])
                        if row.get("env") == "Breakout-MinAtar" and row.get("algorithm") == "ppo"),
                       None)
        out += ["", f"Beside it, rejax PPO on the same game ({code('ppo_Breakout-MinAtar.json')}, "
                f"{ppo['seeds']} seeds, greedy policy): seed-mean "
                + ", ".join(f"{num(v)} at {ksteps(s)}" for s, v in pts) + "."
                + (f" PPO's seed-mean first reaches {num(ppo_row['threshold'], 0)} at "
                   f"{ksteps(ppo_row['mean_steps'])} env steps (`mb_vs_mf.json`)."
                   if ppo_row and ppo_row.get("mean_steps") else "")]
    return "\n".join(out)


def _wdl(m):
    return f"{m['wins']} / {m['draws']} / {m['losses']}"


def render_alphazero(ctx: Ctx) -> str:
    out = []
    ttt = ctx.matching("alphazero_tic_tac_toe*.json")
    if ttt:
        r0 = ttt[0][1]
        lp, md = r0["config"]["loop"], r0["config"]["model"]
        out.append(
            f"`jwm.recipes.ALPHAZERO` on pgx tic-tac-toe: the true rules searched by "
            f"{lp['search']} search with {lp['num_simulations']} simulations, a prediction "
            f"network (MLP {' × '.join(map(str, md['hidden_sizes']))}, value over {2 * md['support'] + 1} bins of "
            f"`h(x)`), {lp['num_envs']} self-play games in parallel, {lp['train_steps']} "
            f"updates of {lp['batch_size']} positions every {lp['train_every']} plies, "
            f"{num(lp['total_steps'])} plies. Afterwards each seed plays "
            f"{r0['matches']['games_per_seed']} games against the "
            f"{r0['matches']['reference']}, half of them moving first.")
        rows = []
        for p, r in ttt:
            opening = dig(r, "config", "loop", "random_opening")
            label = ("first ply random" if opening else "the search's own openings")
            for sims, per_seed in sorted(r["matches"]["by_simulations"].items(),
                                         key=lambda kv: int(kv[0])):
                rows.append([f"{label} ({code(p)})", sims]
                            + ["; ".join(f"seed {m['seed']}: {_wdl(m)}" for m in per_seed)]
                            + [sum(m["losses_moving_first"] for m in per_seed),
                               num(r.get("wall_time_s"), 0)])
        out += ["", table(["self-play openings", "agent simulations", "W / D / L",
                           "losses moving first", "wall time (s)"], rows,
                          ["---", "---:", "---", "---:", "---:"])]
        recipe = ctx.get("alphazero_tic_tac_toe.json")
        if recipe:
            sims = str(recipe["config"]["loop"]["num_simulations"])
            seeds = recipe["matches"]["by_simulations"].get(sims, [])
            clean = [m for m in seeds if m["losses"] == 0]
            out += ["", f"Target (no loss against the perfect player): met by {len(clean)} "
                    f"seed(s) of {len(seeds)} with the recipe"
                    + "".join(f" (seed {m['seed']}: `loss_interval` "
                              f"{pct(m['loss_interval'][0])}–{pct(m['loss_interval'][1])})"
                              for m in clean) + "."]
        all_m = [m for _, r in ttt for v in r["matches"]["by_simulations"].values() for m in v]
        if all_m and all(m["losses_moving_first"] == 0 for m in all_m):
            out.append("Every loss of every run came as the second player. Without random "
                       "openings the perfect player can open where self-play never did, and "
                       "the network then misplays the reply and loses to a fork; a random "
                       "first ply moves such losses one move later.")
        no_open = ctx.get("alphazero_tic_tac_toe_no_opening.json")
        if no_open:
            out.append(f"The `wall_time_s` of {code('alphazero_tic_tac_toe_no_opening.json')} is "
                       "that of the invocation that resumed the finished run from its checkpoint "
                       "to play the matches, not of its training.")
    c4 = ctx.matching("alphazero_connect_four*.json")
    if c4:
        r0 = (ctx.get("alphazero_connect_four.json") or c4[0][1])
        lp, md = r0["config"]["loop"], r0["config"]["model"]
        out += ["", "**Connect four**: the board through an MLP (hidden "
                f"{' × '.join(map(str, md['hidden_sizes']))}, features {md['features']}), {lp['search']} search with "
                f"{lp['num_simulations']} simulations, {lp['num_envs']} self-play games in "
                f"parallel, {lp['train_steps']} updates of {lp['batch_size']} positions every "
                f"{lp['train_every']} plies, AdamW {lp['learning_rate']} decayed to "
                f"{lp.get('final_learning_rate')}. Afterwards "
                f"{r0['matches']['games_per_seed']} games against "
                f"{r0['matches']['reference']}, half of them moving first.", ""]
        rows = []
        for p, r in c4:
            for sims, per_seed in sorted(r["matches"]["by_simulations"].items(),
                                         key=lambda kv: int(kv[0])):
                for m in per_seed:
                    n = m["wins"] + m["draws"] + m["losses"]
                    rows.append([code(p), ksteps(r["env_steps"][-1]),
                                 num(r.get("wall_time_s"), 0), sims, _wdl(m),
                                 f"{pct(m['wins'] / n)} ({pct(m['win_interval'][0], 0)}–"
                                 f"{pct(m['win_interval'][1], 0)})", m["losses_moving_first"]])
        out.append(table(["file", "plies", "wall time (s)", "simulations per move",
                          "W / D / L", "wins (`win_interval`)", "losses moving first"], rows,
                         ["---", "---:", "---:", "---:", "---", "---", "---:"]))
        m512 = ctx.get("alphazero_connect_four_match512.json")
        if m512:
            out += ["", f"{code('alphazero_connect_four_match512.json')} was written by the "
                    "invocation that resumed the finished recipe run from its checkpoint to play "
                    f"the matches, hence its {num(m512.get('wall_time_s'), 0)} s `wall_time_s`."]
        h = ctx.get("alphazero_connect_four_1h.json")
        if h and h.get("wall_time_s"):
            ev = h["eval_returns"][0]
            out += ["", f"The longest run ({code('alphazero_connect_four_1h.json')}) trained at "
                    f"{num(h['env_steps'][-1] / h['wall_time_s'], 0)} plies/s; its evaluation "
                    "during training (against a weaker UCT, the `eval_opponent_simulations` "
                    f"setting) ranges from {num(min(ev), 2)} to {num(max(ev), 2)}."]
    return "\n".join(out)


def render_mb_vs_mf(ctx: Ctx) -> str:
    r = ctx.get("mb_vs_mf.json")
    if not r:
        return "No `mb_vs_mf.json` was found."
    out = ["Env steps until the seed-mean evaluation return first reaches a threshold. "
           "\"stays from\": the first point after which the seed-mean never drops below the "
           "threshold again. \"median seed\": the median over all seeds of each seed's first "
           "reaching step. The script reads the PPO, Dreamer, SVG, PETS and MuZero result "
           "files; wall times are for all seeds together, compilation included, and are not "
           "comparable across rows when other jobs shared the machine. The full table (best "
           "and final returns) is in `experiments/results/mb_vs_mf.md`."]
    for env, spec in r["envs"].items():
        rows = []
        for row in r["rows"]:
            if row["env"] != env:
                continue
            if row.get("status") != "measured":
                rows.append([f"{row['name']} ({row['kind']})", row.get("status", "–")]
                            + [""] * 7)
                continue
            name = f"{row['name']} ({row['kind']})"
            if row.get("mean_at_equal_steps") is not None:
                name += f"; {num(row['mean_at_equal_steps'])} at {ksteps(row['equal_steps'])}"
            first = ksteps(row.get("mean_steps"))
            if row.get("mean_steps") is None:
                first += f" (best {num(row.get('best_mean'), 1)})"
            rows.append([name, row["seeds"], ksteps(row.get("env_steps_run")), first,
                         ksteps(row.get("mean_sustained_steps")),
                         f"{row.get('seeds_reaching')}/{row['seeds']}",
                         ksteps(row.get("median_seed_steps")), num(row.get("wall_time_s")),
                         code(row["file"])])
        out += ["", f"**{env}**, threshold {num(spec['threshold'], 0)} ({spec.get('target', '')}):",
                "", table(["algorithm", "seeds", "env steps run", "seed-mean first ≥ threshold",
                           "stays from", "seeds reaching", "median seed", "wall time (s)",
                           "file"], rows, ["---"] + ["---:"] * 7 + ["---"])]
    pend = {row["name"]: row for row in r["rows"]
            if row["env"] == "Pendulum-v1" and row.get("mean_steps")}
    ppo = pend.get("PPO")
    if ppo:
        parts = [f"{ratio(ppo['mean_steps'] / row['mean_steps'], 0)} ({name})"
                 for name, row in pend.items() if row["kind"] == "model-based"]
        if parts:
            out += ["", "On Pendulum-v1 the model-based learners need fewer env steps than "
                    "PPO to first reach the threshold: " + ", ".join(parts) + "."]
    out += ["", "PPO is rejax's PPO (`python experiments/ppo.py`, `jwm.baselines.run_ppo`), "
            "all seeds one jitted, vmapped `train`, evaluated with the greedy policy (the "
            "sampled policy's return is stored beside it). PETS's points are the returns of "
            "its training episodes; Dreamer's and SVG's are their deterministic policies on "
            "fresh episodes, and Dreamer's env steps include its random prefill."]
    rows = []
    for p, run in ctx.matching("ppo_*.json"):
        greedy, sampled = seed_means(run), seed_means(run, "eval_returns_sampled")
        best = max(range(len(greedy)), key=lambda i: greedy[i])
        rows.append([run["env"], run["seeds"], ksteps(run["env_steps"][-1]),
                     f"{num(greedy[best])} at {ksteps(run['env_steps'][best])}",
                     num(greedy[-1]), num(sampled[-1]) if sampled else "–",
                     num(run.get("wall_time_s")), num(run.get("compile_time_s")), code(p)])
    if rows:
        out += ["", "The PPO runs themselves (seed-mean evaluation return):", "",
                table(["env", "seeds", "env steps run", "best (greedy)", "final (greedy)",
                       "final (sampled)", "wall time (s)", "of which compile (s)", "file"], rows,
                      ["---"] + ["---:"] * 7 + ["---"])]
    return "\n".join(out)


def render_planners(ctx: Ctx) -> str:
    out = []
    ic = ctx.get("icem_vs_cem.json")
    if ic:
        out.append(f"iCEM (`jwm.planners.icem`: coloured noise along the horizon, elites kept "
                   "and shifted, a shrinking population) against CEM with the true model, at "
                   f"equal sequences scored per step, {ic['seeds']} seeds. In brackets: iCEM "
                   "minus CEM, paired by seed (± standard error).")
        names = {"cem": "CEM", "icem_beta2": "iCEM, β = 2", "icem_beta0": "iCEM, β = 0"}
        planners = ["cem", "icem_beta2", "icem_beta0"]
        rows = []
        for env in ic["envs"].values():
            for i, fr in enumerate(env["fractions"]):
                task = f"{env['env']} (horizon {env['horizon']})" if i == 0 else ""
                cells = []
                for pl in planners:
                    d = fr.get(pl)
                    if d is None:
                        cells.append("–")
                        continue
                    s = num(d["return"]["mean"])
                    if "minus_cem_paired" in d:
                        mp = d["minus_cem_paired"]
                        sign = "+" if mp["mean"] >= 0 else ""
                        s += f" ({sign}{num(mp['mean'])} ± {num(mp['se'])})"
                    cells.append(s)
                cem_seq = dig(fr, "cem", "sequences_per_step", default=fr["budget"])
                rows.append([task, f"{num(fr['fraction'], 2)}× ({cem_seq})"] + cells)
        out += ["", table(["task", "budget (CEM's sequences per step)"] + [names[p] for p in planners],
                          rows)]
    gp = ctx.get("gradient_planner.json")
    if gp:
        lqr = gp.get("lqr") or []
        by = {}
        for row in lqr:
            by.setdefault(row["planner"], []).append(row)
        lines = [f"{pl}: first action within {max(x['first_action_abs_error'] for x in rows):.1e},"
                 f" return gap within {max(abs(x['return_relative_gap']) for x in rows):.1e} "
                 "(relative)" for pl, rows in by.items()]
        out += ["", "Gradient shooting (`jwm.planners.gradient`: Adam through `model.step`, "
                "projected to the bounds, vmapped restarts) against a Riccati recursion on "
                f"linear models ({len(lqr)} cases, worst case): " + "; ".join(lines) + "."]
        names = {"cem": "CEM", "cem_gd": "CEM-GD (gradient-refined elites)"}
        rows = []
        rs, hs = dig(gp, "pendulum", "random_start", default={}), dig(gp, "pendulum", "hanging_start", default={})
        for key, d in rs.items():
            label = names.get(key, key.replace("gradient_r", "gradient, ") + " restart(s)"
                              if key.startswith("gradient_r") else key)
            h = hs.get(key, {})
            upright = (f"{pct(h.get('swing_up_rate'), 0)}, from step "
                       f"{num(h['median_steps_to_stay_upright'])} (median)"
                       if h.get("median_steps_to_stay_upright") is not None
                       else pct(h.get("swing_up_rate"), 0))
            rows.append([label, f"{num(d['return']['mean'])} ± {num(d['return']['se'])}",
                         upright, num(d.get("plan_ms"), 2)])
        out += ["", "On Pendulum with the true model:", "",
                table(["planner", "return from random starts (± s.e.)",
                       "hanging start: upright at the end", "ms per plan"], rows,
                      ["---", "---:", "---", "---:"])]
    return "\n".join(out)


def render_video(ctx: Ctx) -> str:
    out = []
    vp = ctx.get("video_planning_Breakout-MinAtar.json")
    if vp:
        c, dm = vp["config"], vp["demonstrations"]
        out.append(
            f"UniPi-style planning. The demonstrations are {dm['episodes']['expert']} episodes "
            f"of a true-model UCT planner (mean return {num(dm['expert_mean_return'], 2)} per "
            f"{c['steps']} steps) and {dm['episodes']['random']} of random play, stored by "
            "`jwm.agents.demonstrations`; part of each is held out. A video diffusion model "
            f"({c['channels']} channels, {num(c['diffusion_steps'])} training steps) generates "
            f"the next {c['horizon']} frames from the current one and the task id. The "
            "inverse-dynamics model reads the actions off the video, and the planner executes "
            f"{c['execute']} of them, then replans ({c['sampling_steps']} DDIM steps per video). "
            f"Returns over {c['eval_episodes']} episodes of {c['steps']} steps:")
        rows = [[name, f"{num(d['mean'], 2)} ± {num(d['std'], 2)}"]
                for name, d in vp["returns"].items()]
        out += ["", table(["policy", "mean return (± std)"], rows)]
        inv, bc, vd = vp["inverse_dynamics"], vp["behaviour_cloning"], vp["video_diffusion"]
        pe, ce = vd["pixel_error_by_frame"], vd["copy_current_frame_error_by_frame"]
        out += ["", f"- Inverse dynamics reads held-out actions at "
                f"{pct(inv['held_out_accuracy'])} accuracy (majority class "
                f"{pct(inv['majority_class_rate'])}).",
                f"- Behaviour cloning matches the expert's held-out actions "
                f"{pct(bc['held_out_expert_accuracy'])} of the time.",
                f"- The generated frames' pixel error ({pct(min(pe))}–{pct(max(pe))} by frame) is "
                f"below copying the current frame ({pct(min(ce))}–{pct(max(ce))}), yet the "
                "returns show that the actions read off the generated videos rarely play the "
                "game; the PNG shows sampled videos."]
    vs = ctx.get("video_sampling_Breakout-MinAtar.json")
    if vs:
        c = vs["config"]
        order = vs.get("channels_order") or []
        rows = []
        for s in vs.get("sampling", []):
            rows.append([s["num_steps"], num(s["frames_per_s"], 0), num(s["clips_per_s"], 0),
                         pct(s["pixel_error"], 2), pct(s["exact_frame_rate"]),
                         " / ".join(pct(x, 0) for x in s.get("channel_exact_rate", []))])
        out += ["", f"**Sampling speed and quality** (`python experiments/video_sampling.py`): "
                f"a task-conditioned video diffusion model ({num(c['num_params'])} parameters, "
                f"{c['channels']} channels, horizon {c['horizon']}, {num(c['train_steps'])} "
                f"training steps) sampled with DDIM at several step counts, batch "
                f"{c['timing_batch']}; errors are over held-out clips. Copying the current "
                f"frame has pixel error "
                f"{pct(mean(dig(vs, 'copy_current_frame', 'pixel_error_by_k', default=[])), 2)}.",
                "", table(["DDIM steps", "frames/s", "clips/s", "pixel error", "exact frames",
                           "exact channels (" + " / ".join(order) + ")"], rows)]
    return "\n".join(out)


def render_frame_model(ctx: Ctx) -> str:
    out = []
    for p, r in ctx.matching("frame_model_*.json"):
        c = r.get("config", {})
        out.append(f"**{r.get('env')}** ({code(p)}): {r.get('algorithm', '')}; "
                   f"{num(r.get('num_parameters'))} parameters, "
                   f"{num(c.get('train_steps'))} training steps on clips of "
                   f"{c.get('clip_length')} frames.")
        pred = r.get("prediction") or {}
        rows = []
        for subset in ("all", "random", "planner"):
            d = pred.get(subset)
            if not d:
                continue
            n = len(d.get("model_pixel_error", []))
            for k in sorted({1, 5, 10, n} & set(range(1, n + 1))):
                rows.append([subset, k, pct(d["model_pixel_error"][k - 1], 2),
                             pct(d["copy_pixel_error"][k - 1], 2),
                             pct(d["model_exact_frame"][k - 1])])
        if rows:
            out += ["", "Open-loop prediction of held-out frames, k steps ahead:", "",
                    table(["data", "k", "model pixel error", "copy-current-frame pixel error",
                           "model exact frames"], rows)]
        plan = r.get("planning") or {}
        if plan:
            rows = [[name, num(d.get("mean"), 2), len(d.get("returns", []))]
                    for name, d in plan.items()]
            pc = r.get("planner_config", {})
            out += ["", f"Planning with {pc.get('planner', 'the planner')} "
                    f"({pc.get('num_simulations')} simulations) on each model:", "",
                    table(["model", "mean return", "episodes"], rows)]
        out.append("")
    return "\n".join(out).strip() or "No frame-model result file is present."


def render_model_error(ctx: Ctx) -> str:
    r = ctx.get("model_error_pendulum_v1.json")
    if not r:
        return "No model-error result file is present."
    c = r["config"]
    out = [f"A model's small one-step error compounds over an open-loop rollout; "
           "`jwm.eval.multistep_error` measures it. From every start in held-out Pendulum "
           f"trajectories, the model is stepped through the real actions for k = 1..{c['horizon']} "
           "steps and compared with the real observation and the real k-step return. The "
           f"models were trained on {num(c['train_transitions'])} transitions "
           f"({len(c['mlp_hidden'])} × {c['mlp_hidden'][0]} units; the ensemble has "
           f"{c['ensemble_size']} members and {c['particles']} particles), {r['seeds']} seeds."]
    names = {"mlp": "deterministic MLP", "ensemble_ts_inf": "ensemble, TS-inf",
             "ensemble_expectation": "ensemble, expectation", "no_change": "predicting no change"}
    rows = []
    for key, s in r["summary"].items():
        fit = dig(r, "fits", key, "state_error")
        st, ret = s["state_error"], s.get("return_error")
        slopes = st.get("local_loglog_slope", {})
        rows.append([names.get(key, key),
                     f"{num(st['k1_mean'], 4)} → {num(st['kH_mean'], 3)} "
                     f"({ratio(st['ratio_kH_over_k1'], 0)})",
                     (f"{num(ret['k1_mean'], 3)} → {num(ret['kH_mean'], 2)} "
                      f"({ratio(ret['ratio_kH_over_k1'], 0)})" if ret else "–"),
                     (f"∝ k^{num(fit['power_b'], 2)} (R² {num(fit['power_r2'], 2)}); exponential "
                      f"R² {num(fit['exp_r2'], 2)}" if fit else "–"),
                     ", ".join(f"{rng}: {num(v, 2)}" for rng, v in slopes.items())])
    out += ["", table(["model", "state error k=1 → k=H", "return error k=1 → k=H",
                       "fit of the state error", "local log-log slope of the state error"], rows,
                      ["---", "---", "---", "---", "---"])]
    mlp = [mean(col) for col in zip(*dig(r, "curves", "mlp", "state_error", default=[]))]
    ens = [mean(col) for col in zip(*dig(r, "curves", "ensemble_ts_inf", "state_error", default=[]))]
    cross = next((k for k, a, b in zip(r["k"], mlp, ens) if b > a), None)
    if cross is not None and ens and mlp and ens[0] < mlp[0]:
        out += ["", "The ensemble is better at one step but falls behind the MLP from "
                f"k = {cross} on."]
    return "\n".join(out)


def render_mcts_true_model(ctx: Ctx) -> str:
    out = ["jwm's PUCT and Gumbel searches build the same tree as `mctx.muzero_policy` and "
           "`mctx.gumbel_muzero_policy` when their noise is off (same visit counts and child "
           "indices, the same action); `tests/test_mcts.py` checks this on random table "
           "models."]
    cp = ctx.get("mcts_cartpole_uct.json")
    if cp:
        m = cp["config"]["mcts"]
        rows = []
        best = max(x for s in cp["returns_by_budget"].values() for x in s)
        for mode, label in (("fresh", "fresh tree each step"),
                            ("reuse", "subtree reuse (kept visit counts decayed each step)")):
            for b in cp["config"]["budgets"]:
                ret = dig(cp, "returns_by_budget", f"{mode}_{b}")
                if ret is None:
                    continue
                full = sum(1 for x in ret if x == best)
                rows.append([label, b, f"{full}/{len(ret)}", num(mean(ret)),
                             num(dig(cp, "wall_time_by_budget_s", f"{mode}_{b}"))])
        out += ["", f"UCT on {cp['env']} with the true model, leaves valued by the "
                f"{m['rollout_aggregate']} of {m['num_rollouts']} random rollouts of "
                f"{m['rollout_depth']} steps ({code('mcts_cartpole_uct.json')}):", "",
                table(["tree", "simulations per step", "seeds at the maximum return",
                       "mean return", "wall time (s)"], rows, ["---", "---:", "---:", "---:", "---:"])]
        fewest = cp.get("fewest_simulations_all_seeds_500") or {}
        if fewest:
            out += ["", "Fewest simulations at which every seed scores the maximum: "
                    + ", ".join(f"{k} {v}" for k, v in fewest.items()) + "."]
        out += ["", "With the mean of random rollouts instead of the max, a random rollout on "
                "CartPole falls early and never sees the cart drifting off the track, so the "
                "max is the setting used."]
    pc = ctx.get("mcts_pendulum_continuous.json")
    if pc:
        m = pc["config"]["mcts"]
        finals = [s[-1] for s in pc["eval_returns"]]
        cem = ctx.get("true_model_mpc_pendulum_cem.json")
        out += ["", f"Sampled-action UCT on {pc['env']} ({m['num_sampled_actions']} candidate "
                f"actions, {m['num_simulations']} simulations): mean {num(mean(finals))}, worst "
                f"seed {num(min(finals))} over {pc['seeds']} seeds"
                + (f"; CEM-MPC scores {num(cem['mean_return'])}" if cem else "")
                + f" ({code('mcts_pendulum_continuous.json')}, {num(pc.get('wall_time_s'))} s)."]
    return "\n".join(out)


def render_sweep_pets(ctx: Ctx) -> str:
    r = ctx.get("sweep_pets_summary.json")
    if not r:
        return "No `sweep_pets_summary.json` was found."
    traced = r.get("traced", [])
    rows_key, cols_key = (traced + ["planner.alpha", "fit.learning_rate"])[:2]
    alphas = sorted({s[rows_key] for s in r["summary"]})
    lrs = sorted({s[cols_key] for s in r["summary"]})
    cell = {(s[rows_key], s[cols_key]): s for s in r["summary"]}
    thr = r["summary"][0].get("threshold")
    rows = []
    for a in alphas:
        row = [a]
        for lr in lrs:
            s = cell.get((a, lr))
            row.append("–" if s is None else
                       f"{num(s['final_return_mean'], 0)} ({s['seeds_reaching_threshold']}/{s['seeds']})")
        rows.append(row)
    lo = min(s["final_return_ci95"][0] for s in r["summary"])
    hi = max(s["final_return_ci95"][1] for s in r["summary"])
    n_runs = len(r["configs"]) * r["seeds"]
    return "\n".join([
        f"`{rows_key}` × `{cols_key}`, {r['seeds']} seeds each: {n_runs} runs of PETS on "
        f"Pendulum as {r.get('programs', 1)} compiled program(s) (both names are traced), "
        f"{num(r.get('wall_time_s'), 0)} s. The recipe is shrunk so the sweep fits in minutes "
        "(`--full` runs the recipe's sizes). Written beside the summary: "
        "`sweep_pets.{csv,jsonl}` (one row per configuration, seed and episode), "
        "`sweep_pets_curves.png`, `sweep_pets_heatmap.png`.", "",
        table([f"{rows_key} \\ {cols_key}"] + [str(lr) for lr in lrs], rows),
        "", f"Final-episode return, mean over seeds (seeds reaching {num(thr, 0)}). The final "
        f"returns' 95% bootstrap intervals span {num(lo, 0)} to {num(hi, 0)} over the grid: one "
        "Pendulum episode depends on its start angle, so a few seeds rank large effects only."])


# --- benchmarks --------------------------------------------------------------------

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
            loop = b["one_after_another_s"] + b["runs"] * a["alone_compile_s"]
            rows.append([b["runs"], num(b["one_program_s"], 2), num(b["one_after_another_s"], 2),
                         ratio(b["speedup"]), num(b["compile_s"]),
                         ratio(loop / (b["one_program_s"] + b["compile_s"]), 1)])
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
        thin = min(v["value"] for v in per_cell.values())
        ok = all(v["pass"] for v in per_cell.values())
        passing = [k for k, v in growth.items() if v.get("pass")]
        gt = next(iter(growth.values()), {}).get("target", "")
        ct = next(iter(per_cell.values()))["target"]
        out += ["", "Targets:",
                f"- **mctx / jwm {ct} in every cell: {'met' if ok else 'not met'}** (the thinnest "
                f"margin is {ratio(thin)})."]
        for key, head in dig(r, "ratios", default={}).items():
            m = re.fullmatch(r"mctx_over_jwm_batch(\d+)_sims(\d+)_(\w+)", key)
            if m and isinstance(head, dict):
                out.append(f"- **mctx / jwm {head.get('target')} at batch {m.group(1)} × "
                           f"{m.group(2)} simulations with {m.group(3).upper()}: "
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


def render_generic(ctx: Ctx) -> str:
    """Any result file without a renderer: its top-level scalar fields."""
    out = []
    for p in ctx.files:
        r = ctx.records.get(p)
        if not isinstance(r, dict):
            out += [f"**{code(p)}**: not readable.", ""]
            continue
        rows = [[k, num(v, 4) if isinstance(v, float) else str(v)] for k, v in r.items()
                if isinstance(v, (int, float, str, bool)) or v is None]
        out += [f"**{code(p)}**:", "", table(["field", "value"], rows, ["---", "---"]), ""]
    return "\n".join(out).strip()


# ---------------------------------------------------------------------------------
# The page: sections in order, each with the globs of the files it renders.

class Section(NamedTuple):
    title: str
    command: str
    render: Callable[[Ctx], str]
    pngs: tuple = ()


# The invocations behind result files that the section's main command does not write.
VARIANTS = {
    "pets_MountainCarContinuous-v0.json":
        "python experiments/pets.py --env gymnax:MountainCarContinuous-v0 --seeds 3",
    "svg_Pendulum-v1_mlp.json": "python experiments/svg.py --model mlp --seeds 3",
    "svg_Pendulum-v1_true.json": "python experiments/svg.py --model true",
    "dreamer_CartPole-v1_seed3.json":
        "python experiments/dreamer.py --env gymnax:CartPole-v1 --seeds 3 --seed 3",
    "muzero_CartPole-v1_lrdecay.json":
        "python experiments/muzero.py --env gymnax:CartPole-v1 --seeds 3 --set "
        "'{\"num_simulations\": 32, \"final_learning_rate\": 3e-4, \"eval_episodes\": 16}' "
        "--tag _lrdecay",
    "muzero_Breakout-MinAtar.json": "python experiments/muzero.py --env gymnax:Breakout-MinAtar "
                                    "--seeds 2",
    "alphazero_connect_four.json": "python experiments/alphazero.py --env pgx:connect_four "
                                   "--seeds 1 --match-simulations 32 128",
    "alphazero_connect_four_1h.json":
        "python experiments/alphazero.py --env pgx:connect_four --seeds 1 --steps 2867200 "
        "--match-simulations 128 --tag _1h --set '{\"eval_opponent_simulations\": 50}'",
    "ppo_CartPole-v1.json": "python experiments/ppo.py --env CartPole-v1 --seeds 5",
    "ppo_Pendulum-v1.json": "python experiments/ppo.py --env Pendulum-v1 --seeds 5",
    "ppo_Breakout-MinAtar.json": "python experiments/ppo.py --env Breakout-MinAtar --seeds 3",
}


SECTIONS: dict = {
    (f"{EXP}/true_model_mpc_*.json",): Section(
        "True-model MPC", "python experiments/true_model_mpc.py", render_true_model_mpc,
        (f"{EXP}/true_model_mpc_*.png",)),
    (f"{EXP}/pets_*.json",): Section("PETS", "python experiments/pets.py", render_pets),
    (f"{EXP}/svg_*.json",): Section("SVG", "python experiments/svg.py", render_svg),
    (f"{EXP}/dreamer_*.json",): Section(
        "Dreamer", "python experiments/dreamer.py --env gymnax:CartPole-v1|gymnax:Pendulum-v1 "
        "--seeds 3", render_dreamer),
    (f"{EXP}/muzero_*.json",): Section(
        "MuZero", "python experiments/muzero.py --env gymnax:CartPole-v1 --seeds 3", render_muzero),
    (f"{EXP}/alphazero_*.json",): Section(
        "AlphaZero", "python experiments/alphazero.py --env pgx:tic_tac_toe --seeds 2",
        render_alphazero),
    (f"{EXP}/mb_vs_mf.json", f"{EXP}/ppo_*.json"): Section(
        "Model-based vs model-free", "python experiments/mb_vs_mf.py", render_mb_vs_mf),
    (f"{EXP}/icem_vs_cem.json", f"{EXP}/gradient_planner.json"): Section(
        "Planners beyond CEM", "python experiments/icem_vs_cem.py; "
        "python experiments/gradient_planner.py", render_planners),
    (f"{EXP}/video_planning_*.json", f"{EXP}/video_sampling_*.json"): Section(
        "Video planning", "python experiments/video_planning.py; "
        "python experiments/video_sampling.py", render_video),
    (f"{EXP}/frame_model_*.json",): Section(
        "Frame model", "python experiments/frame_model.py", render_frame_model),
    (f"{EXP}/model_error_*.json",): Section(
        "Model error against horizon", "python experiments/model_error.py", render_model_error),
    (f"{EXP}/mcts_*.json",): Section(
        "MCTS with the true model", "python experiments/mcts_true_model.py",
        render_mcts_true_model),
    (f"{EXP}/sweep_pets*.json",): Section(
        "A PETS sweep", "python experiments/sweep_pets.py", render_sweep_pets,
        (f"{EXP}/sweep_pets_*.png",)),
    (f"{BENCH}/sweep.json",): Section(
        "Sweep throughput", "python benchmarks/sweep.py --full", render_bench_sweep),
    (f"{BENCH}/agents.json",): Section(
        "Whole agents against their peers", "python benchmarks/agents.py", render_bench_agents),
    (f"{BENCH}/planners.json", f"{BENCH}/loaded/planners.json"): Section(
        "Planner speed", "python benchmarks/planners.py", render_bench_planners),
    (f"{BENCH}/pets.json",): Section(
        "PETS planning speed", "python benchmarks/pets.py", render_bench_pets),
    (f"{BENCH}/mcts.json",): Section(
        "Tree search speed", "python benchmarks/mcts.py", render_bench_mcts),
    (f"{BENCH}/driver*.json",): Section(
        "Driver overhead", "python benchmarks/driver.py --iterations 12", render_bench_driver),
    (f"{BENCH}/imagination.json",): Section(
        "Imagination", "python benchmarks/imagination.py", render_bench_imagination),
    (f"{BENCH}/dreamer_parts.json",): Section(
        "Dreamer update, part by part", "python benchmarks/dreamer_parts.py --baseline 6253716",
        render_bench_dreamer_parts),
    (f"{BENCH}/muzero.json",): Section(
        "MuZero training speed", "python benchmarks/muzero.py", render_bench_muzero),
}
OTHER = Section("Other results", "see each file's script", render_generic)


def result_files() -> list:
    """Every top-level JSON in the result folders (the page must show each one)."""
    out = []
    for d in RESULT_DIRS:
        out += sorted(os.path.relpath(p, ROOT).replace(os.sep, "/")
                      for p in glob.glob(os.path.join(ROOT, d, "*.json")))
    return out


def _expand(pattern: str) -> list:
    return sorted(os.path.relpath(p, ROOT).replace(os.sep, "/")
                  for p in glob.glob(os.path.join(ROOT, pattern)))


def _sources(files, records) -> str:
    by = {}
    for p in files:
        r = records.get(p)
        by.setdefault(provenance(r) if isinstance(r, dict) else "not readable", []).append(p)
    lines = [f"- {prov}: " + ", ".join(f"[`{p}`](../{p})" for p in ps) for prov, ps in by.items()]
    return "Sources (device and versions as recorded in each file):\n\n" + "\n".join(lines)


def _pngs(section: Section, files) -> list:
    found = set()
    for pattern in section.pngs:
        found.update(_expand(pattern))
    for p in files:
        png = p[:-len(".json")] + ".png"
        if os.path.exists(os.path.join(ROOT, png)):
            found.add(png)
    return sorted(found)


def render_section(section: Section, files: list, records: dict) -> str:
    ctx = Ctx(files, records)
    try:
        body = section.render(ctx)
    except Exception as e:  # a changed or half-written file must not hide the others
        body = (f"_This section could not be rendered from its files ({type(e).__name__}: {e}); "
                "their scalar fields follow._\n\n" + render_generic(ctx))
    parts = [f"## {section.title}", "", f"`{section.command}`", ""]
    variants = [(os.path.basename(p), VARIANTS[os.path.basename(p)]) for p in files
                if os.path.basename(p) in VARIANTS]
    if variants:
        parts += ["Other files of this section come from:", ""]
        parts += [f"- `{name}`: `{cmd}`" for name, cmd in variants] + [""]
    parts += [body.strip(), ""]
    pngs = _pngs(section, files)
    if pngs:
        parts += ["Plots: " + ", ".join(f"[`{os.path.basename(p)}`](../{p})" for p in pngs), ""]
    parts += [_sources(files, records), ""]
    return "\n".join(parts)


def build_page() -> str:
    records, claimed, sections = {}, set(), []
    for patterns, section in SECTIONS.items():
        files = [p for pat in patterns for p in _expand(pat) if p not in claimed]
        if not files:
            continue
        claimed.update(files)
        for p in files:
            records[p] = load(p)
        sections.append((section, files))
    rest = [p for p in result_files() if p not in claimed]
    if rest:
        for p in rest:
            records[p] = load(p)
        sections.append((OTHER, rest))
    head = ["# Results", "",
            "Generated by `python experiments/summarise.py` from the JSON files in "
            "`experiments/results/` and `benchmarks/results/`; do not edit by hand. Every number "
            "below is read from those files. Each section gives the command that rewrites its "
            "files; re-run it, then the generator.", "", "Sections:", ""]
    head += [f"- [{s.title}](#{slug(s.title)})" for s, _ in sections]
    body = [render_section(s, files, records) for s, files in sections]
    return "\n".join(head) + "\n\n" + "\n".join(body).rstrip() + "\n"


def check(path: str = PAGE) -> tuple:
    """(ok, unified diff of the committed page against what would be written now)."""
    new = build_page()
    try:
        with open(path) as f:
            old = f.read()
    except OSError:
        old = ""
    diff = "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                        "docs/results.md (committed)",
                                        "docs/results.md (from the JSON now)"))
    return old == new, diff


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 and print a diff if docs/results.md is stale")
    args = parser.parse_args(argv)
    if args.check:
        ok, diff = check()
        if not ok:
            sys.stdout.write(diff)
            print("docs/results.md is stale: run python experiments/summarise.py",
                  file=sys.stderr)
        return 0 if ok else 1
    page = build_page()
    os.makedirs(os.path.dirname(PAGE), exist_ok=True)
    with open(PAGE, "w") as f:
        f.write(page)
    print(f"wrote {os.path.relpath(PAGE, ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

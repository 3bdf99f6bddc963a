"""Sections of the learning agents on control tasks: PETS, SVG and Dreamer, how many env
steps they need against model-free PPO, and a sweep of PETS's settings."""

from __future__ import annotations

from .formatting import code, ksteps, num, ratio, table
from .records import Ctx, dig, first_at_least, mean, seed_means


def _episodes_list(means, bold_index=None):
    # Small returns (MountainCar's action cost) need a decimal to be told apart.
    digits = 1 if max((abs(m) for m in means if m is not None), default=0) < 50 else 0
    cells = []
    for i, m in enumerate(means):
        s = num(m, digits)
        cells.append(f"**{s}**" if i == bold_index else s)
    return ", ".join(cells)


def sustained_index(r):
    """The evaluation point from which a PETS run's seed-mean stays at its target, or None."""
    tgt, steps = r.get("target") or {}, r["env_steps"]
    return steps.index(tgt["mean_sustained_steps"]) if tgt.get("mean_sustained_steps") in steps else None


def render_pets(ctx: Ctx) -> str:
    out = []
    pend = ctx.get("pets_Pendulum-v1.json")
    if pend:
        c = pend["config"]
        m, pl, lp = c["model"], c["planner"], c["loop"]
        steps = lp["steps_per_episode"] or pend["env_steps"][0]
        out.append(
            f"CEM-MPC on a probabilistic ensemble ({m['ensemble_size']} {m.get('activation', '')} "
            f"members of {len(m['hidden_sizes'])} × {m['hidden_sizes'][0]}, "
            f"{m['propagation']} with {m['particles']} particles; horizon {pl['horizon']}, "
            f"population {pl['population']}, {pl['iterations']} iterations), refit for "
            f"{lp['fit_epochs']} epochs after every episode; random actions in the first "
            f"{(lp['prefill'] or steps) // steps} episode(s). Every later episode is planned on the model fitted to "
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
        rows.append([r["env"], len(r["env_steps"]), r["env_steps"][0],
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
        k = sustained_index(pend)
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
        pl, lp = c["planner"], c["loop"]
        steps = lp["steps_per_episode"] or mc["env_steps"][0]
        planned = [x for seed in mc["eval_returns"]
                   for x in seed[(lp["prefill"] or steps) // steps:]]
        cem = dig(mc, "baselines", "true-model CEM", "returns") or []
        out += ["", f"On {mc['env']} the environment's reward and termination are given to "
                f"the model (`known_reward`), with {lp['total_steps'] // steps} episodes of "
                f"{steps} steps and CEM horizon {pl['horizon']} × population "
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
        c, le, lp = base["config"], base["config"]["learner"], base["config"]["loop"]
        m = c.get("model", {})
        out.append(
            f"A tanh-Gaussian policy ({' × '.join(map(str, le['actor_hidden_sizes']))}, "
            f"{le['activation']}) trained only by the gradient of the imagined return "
            f"through the model: {le['horizon']}-step imagined trajectories from "
            f"{lp['batch_size']} buffer states per update, λ-returns (λ {le['lambda_']}, "
            f"γ {le['discount']}) bootstrapped by an EMA target critic, "
            f"{lp['updates_per_episode']} updates per round. Each round collects one episode "
            "with the sampling policy (the first with random actions), refits the model "
            f"({m.get('ensemble_size')} members of {len(m.get('hidden_sizes', []))} × "
            f"{(m.get('hidden_sizes') or [None])[0]}, {lp['fit_epochs']} epochs) and "
            f"then evaluates the deterministic policy on {lp['eval_episodes']} fresh episodes; "
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


def reached_and_held(tgt):
    """Env steps at which a Dreamer run's seed-mean first reaches its target, and from
    which it stays there ("never" for either that did not happen)."""
    return (ksteps(tgt.get("mean_reaches_at_env_steps")),
            ksteps(tgt.get("mean_stays_from_env_steps")))


def _target_text(r, means):
    tgt = r.get("target") or {}
    if not tgt:
        return "–"
    thr, within = tgt.get("return"), tgt.get("env_steps")
    head = f"≥ {num(thr, 0)}" + (f" within {ksteps(within)}" if within else "")
    if tgt.get("mean_reaches_at_env_steps") is None:
        return f"{head}: **not met** (best {num(max(m for m in means if m is not None), 0)})"
    met = within is None or tgt["mean_reaches_at_env_steps"] <= within
    first, held = reached_and_held(tgt)
    return (f"{head}: **{'met' if met else 'not met'}**, first at {first}, held from {held}; "
            f"{tgt.get('seeds_reaching')}/{r['seeds']} seeds reach it")


def render_dreamer(ctx: Ctx) -> str:
    out = []
    cp, pd = ctx.get("dreamer_CartPole-v1.json"), ctx.get("dreamer_Pendulum-v1.json")
    ref = cp or pd
    if ref:
        m, b, lp = ref["config"]["model"], ref["config"]["learner"], ref["config"]["loop"]
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
                b, opt = r["config"]["learner"], r["config"]["optimizer"]
                out.append(f"{r['env']}: γ {b['discount']}, learning rates model "
                           f"{opt['learning_rate']}, actor {b['actor_lr']}, critic "
                           f"{b['critic_lr']}.")
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
        imag = seed_means(cp.get("metrics", {}), "learner/imagined_return")
        if imag:
            notes.append("on CartPole the critic's imagined return (seed mean) goes from "
                         f"{num(imag[0], 0)} to {num(imag[-1], 0)} over the run")
    if notes:
        text = "; ".join(notes)
        out += ["", text[:1].upper() + text[1:] + "."]
    g = ctx.get("dreamer_CartPole-v1_gamma0.99_48k.json")
    if g and cp:
        gb, gl = g["config"]["learner"], g["config"]["loop"]
        cb, cl = cp["config"]["learner"], cp["config"]["loop"]
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




def fewer_steps_than_ppo(r, env):
    """PPO's row of ``mb_vs_mf.json`` on ``env`` and, for each model-based row in file order,
    how many times fewer env steps than PPO it needs to first reach the threshold; rows that
    never reach it are left out, and without a PPO row the list is empty."""
    reached = {row["name"]: row for row in r["rows"] if row["env"] == env and row.get("mean_steps")}
    ppo = reached.get("PPO")
    if not ppo:
        return None, []
    return ppo, [(name, ppo["mean_steps"] / row["mean_steps"]) for name, row in reached.items()
                 if row["kind"] == "model-based"]


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
    ppo, fewer = fewer_steps_than_ppo(r, "Pendulum-v1")
    if ppo:
        parts = [f"{ratio(times, 0)} ({name})" for name, times in fewer]
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



def render_sweep_pets(ctx: Ctx) -> str:
    r = ctx.get("sweep_pets_summary.json")
    if not r:
        return "No `sweep_pets_summary.json` was found."
    traced = r.get("traced", [])
    rows_key, cols_key = (traced + ["planner.alpha", "optimizer.learning_rate"])[:2]
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



def render_reproduce(ctx: Ctx) -> str:
    r = ctx.get("reproduce.json")
    if not r:
        return "No `reproduce.json` was found."
    rows = [[code(name + ".json"), run["agent"], run["iterations"], run["seeds"],
             "yes" if run["eval_returns_identical"] else "no",
             num(run["max_abs_difference"], 3), num(run["wall_time_s"], 0)]
            for name, run in r["runs"].items()]
    return "\n".join([
        "The first iterations of one committed run per agent, run again from its committed "
        f"settings with the current code ({r['device']}, jax {r['jax']}). A run is `init` "
        "plus N steps of one program, so a prefix that the code still computes as it did "
        "repeats the committed evaluation returns exactly; a difference says the committed "
        "file came from code that computed something else.", "",
        table(["committed file", "agent", "iterations", "seeds", "identical",
               "largest difference", "wall time (s)"], rows,
              ["---", "---", "---:", "---:", "---", "---:", "---:"])])

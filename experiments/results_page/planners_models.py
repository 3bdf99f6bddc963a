"""Sections on planners and models measured on their own: MPC and MCTS with the true
model, planners beyond CEM (iCEM, gradient shooting), and a learned model's error
against the rollout horizon."""

from __future__ import annotations

import statistics

from .formatting import code, num, pct, ratio, table
from .records import Ctx, dig, mean


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




def render_planning_approaches(ctx: Ctx) -> str:
    """The comparison table `experiments/planning_approaches.py` builds from its own
    measurements (its ``table`` field), and which cells were measured or read."""
    r = ctx.get("planning_approaches.json")
    if not r:
        return ""
    rows = [[row["approach"], row["when"], row["strengths"], row["weaknesses"], row["ret"],
             row["steps"], row["ms"]] for row in r["table"]]
    read = sorted(set(r.get("read_from", {}).values()))
    return "\n".join([
        "Every approach on shared tasks, with the same start states per seed "
        f"({r['config'].get('seeds', '–')} seeds): return, env steps to learn, time per "
        "step (one jitted plan or act call, median after warm-up), and how the return "
        "changes with the horizon. Numbers in the strengths and weaknesses are measured; "
        "a claim that the numbers contradict says so.", "",
        table(["approach", "when to use it", "strengths (measured)", "weaknesses (measured)",
               "return", "env steps to learn", "ms / env step"], rows, ["---"] * 7), "",
        "Measured in this run: " + "; ".join(r.get("measured", [])) + ". Read from the "
        "committed full-size runs (cells that quote a file in brackets): "
        + ", ".join(code(p) for p in read) + ".", "",
        "Returns by horizon, per task and model, with standard errors: "
        "[`planning_approaches.md`](../experiments/results/planning_approaches.md).",
    ])

"""Sections of the tree-search agents: MuZero on CartPole and MinAtar Breakout, and
AlphaZero on tic-tac-toe and connect four."""

from __future__ import annotations

from .formatting import code, ksteps, num, pct, table
from .records import Ctx, dig, first_at_least, seed_means


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
        sp, opt = cp["config"]["search"], cp["config"]["optimizer"]
        out.append(
            f"`jwm.recipes.MUZERO`: representation, dynamics and prediction MLPs (hidden "
            f"{' × '.join(map(str, m['hidden_sizes']))}, hidden state {m['latent_size']}, rewards and values over "
            f"{2 * m['support'] + 1} bins of `h(x)`), {sp['rule']} search with "
            f"{sp['num_simulations']} simulations, {lp['num_envs']} self-play envs, "
            f"γ {lp['discount']}, K = {lp['unroll_steps']} unroll steps, {lp['n_step']}-step "
            f"value targets from a target network copied every {lp['target_update_every']} "
            f"updates, AdamW {opt['learning_rate']}, {lp['train_steps']} updates of "
            f"{lp['batch_size']} sequences every {lp['train_every']} env steps, prioritised "
            f"replay (α {lp['priority_exponent']}, β {lp['importance_exponent']}), reanalyse "
            f"fraction {lp['reanalyse_fraction']}. Evaluation: the search without noise, "
            f"{lp['eval_episodes']} episodes per point.")
    # CartPole (the recipe, then its variant) before the MinAtar game.
    runs = sorted(ctx.matching("muzero_*.json"), key=lambda pr: ("MinAtar" in pr[0], pr[0]))
    for p, r in runs:
        settings = {**r["config"]["search"], **r["config"]["optimizer"], **r["config"]["loop"]}
        extra = [f"{k} {settings[k]}" for k in ("num_simulations", "final_learning_rate",
                                               "eval_episodes", "n_step") if k in settings]
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


def recipe_matches(recipe):
    """The tic-tac-toe recipe's matches at its own simulation count, one per seed, and
    those of them without a loss."""
    sims = str(recipe["config"]["search"]["num_simulations"])
    seeds = recipe["matches"]["by_simulations"].get(sims, [])
    return seeds, [m for m in seeds if m["losses"] == 0]


def win_rate(m):
    """A match's share of wins and the ends of its `win_interval`, formatted."""
    n = m["wins"] + m["draws"] + m["losses"]
    return pct(m["wins"] / n), pct(m["win_interval"][0], 0), pct(m["win_interval"][1], 0)


def render_alphazero(ctx: Ctx) -> str:
    out = []
    ttt = ctx.matching("alphazero_tic_tac_toe*.json")
    if ttt:
        r0 = ttt[0][1]
        lp, md, sp = r0["config"]["loop"], r0["config"]["model"], r0["config"]["search"]
        out.append(
            f"`jwm.recipes.ALPHAZERO` on pgx tic-tac-toe: the true rules searched by "
            f"{sp['rule']} search with {sp['num_simulations']} simulations, a prediction "
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
            seeds, clean = recipe_matches(recipe)
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
        lp, md, sp = r0["config"]["loop"], r0["config"]["model"], r0["config"]["search"]
        opt = r0["config"]["optimizer"]
        out += ["", "**Connect four**: the board through an MLP (hidden "
                f"{' × '.join(map(str, md['hidden_sizes']))}, features {md['features']}), {sp['rule']} search with "
                f"{sp['num_simulations']} simulations, {lp['num_envs']} self-play games in "
                f"parallel, {lp['train_steps']} updates of {lp['batch_size']} positions every "
                f"{lp['train_every']} plies, AdamW {opt['learning_rate']} decayed to "
                f"{opt.get('final_learning_rate')}. Afterwards "
                f"{r0['matches']['games_per_seed']} games against "
                f"{r0['matches']['reference']}, half of them moving first.", ""]
        rows = []
        for p, r in c4:
            for sims, per_seed in sorted(r["matches"]["by_simulations"].items(),
                                         key=lambda kv: int(kv[0])):
                for m in per_seed:
                    rate, lo, hi = win_rate(m)
                    rows.append([code(p), ksteps(r["env_steps"][-1]),
                                 num(r.get("wall_time_s"), 0), sims, _wdl(m),
                                 f"{rate} ({lo}–{hi})", m["losses_moving_first"]])
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



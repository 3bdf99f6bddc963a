"""The textbook table of planning approaches, measured: return, env steps to learn,
planning time per env step and how each approach degrades with its planning horizon.

Approaches: random shooting, CEM, iCEM, MPPI, gradient-based shooting (Adam through the
model), MCTS, PETS (CEM on a learned ensemble), SVG (value gradients through a learned
model), Dreamer (actor-critic in the imagination of an RSSM), MuZero (search on a
value-equivalent learned model) and video planning (UniPi-style).

What is measured in this run (``measured`` in the JSON):

1. Pendulum-v1 (continuous) and CartPole-v1 (discrete) with the true model: MPC
   episodes, seeds vmapped in one program, same start states for every planner, for
   every shooting planner at several horizons (``--horizons``; CartPole also 80, the
   horizon at which the cart's drift becomes visible) and MCTS at several rollout
   depths. The planners share one budget per env: the number of H-step sequences
   scored per plan step (Pendulum 300, CartPole 256; the gradient planner 8 restarts x
   10 Adam steps, each a forward and a backward pass).
2. The same planners with a learned model: a small PETS run per env (a probabilistic
   ensemble refit after every episode, CEM-MPC on it; ``--pets-episodes`` episodes,
   the first random) gives one fitted ensemble per seed; every shooting planner then
   runs fresh episodes on its seed's ensemble. On CartPole the ensemble is given the
   env's reward (1 per step) and termination rule, as PETS does for its tasks: without
   them every sequence would score the same.
3. Breakout-MinAtar: UCT MCTS on the true model (the demonstrator of video planning)
   at two rollout depths, against random play.
4. Planning time per env step for every policy built here: one jitted ``policy.act``
   (encode + plan) on one state, after a warm-up call, ``block_until_ready``, median of
   ``--repeats`` calls (video planning: the mean, because it samples a video only every
   ``execute`` steps). Dreamer, SVG, MuZero and video planning are timed on freshly
   initialised networks of their recipes' sizes: the time does not depend on the
   weights.

Read from committed full-size runs (``--from-results``, the default; ``read_from`` in the
JSON names each file): the returns and env steps of PETS (full size), SVG, Dreamer,
MuZero and video planning. With ``--no-from-results`` SVG, Dreamer and MuZero run here
through their recipes at ``--agent-budget`` of their default length, and video
planning through ``experiments/video_planning.py`` with small training budgets.

    python experiments/planning_approaches.py              # 18 min on 2 shared CPU cores
    python experiments/planning_approaches.py --quick --out /tmp/pa.json  # every path, ~15 min (compiling)
    python experiments/planning_approaches.py --no-from-results --agent-budget 0.25

Writes experiments/results/planning_approaches.json, .png and .md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

import jwm
from jwm.curves import steps_to_threshold
from jwm.atomic import write_json
from jwm.device import device_name

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from planning_table import (BREAKOUT, CARTPOLE, PENDULUM, THRESHOLDS,  # noqa: E402
                            build_rows, markdown)
from results_io import write_result  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")

SHOOTING = ["random_shooting", "cem", "icem", "mppi", "gradient"]


# ----------------------------------------------------------------------------- planners

def shooting_planner(name: str, model, space, horizon: int, budget: int):
    """A shooting planner scoring about ``budget`` H-step sequences per plan step.

    CEM, iCEM and MPPI split it into 3 iterations (iCEM's draws shrink, so it scores
    fewer); the gradient planner always takes 8 restarts x 10 Adam steps: 80 forward
    and backward passes, about the cost of 240 forward-only sequences."""
    pop = max(2, budget // 3)
    if name == "random_shooting":
        return jwm.planners.random_shooting(model, space, horizon=horizon, population=budget)
    if name == "cem":
        # Momentum 0.5 on Discrete keeps the per-step categoricals from collapsing after
        # one refit (true_model_mpc.py's CartPole setting); 0.1 for Box, as PETS.
        alpha = 0.5 if isinstance(space, jwm.spaces.Discrete) else 0.1
        return jwm.planners.cem(model, space, horizon=horizon, population=pop, iterations=3,
                                elite_frac=0.1, alpha=alpha)
    if name == "icem":
        return jwm.planners.icem(model, space, horizon=horizon, population=pop, iterations=3)
    if name == "mppi":
        return jwm.planners.mppi(model, space, horizon=horizon, population=pop, iterations=3,
                                 temperature=1.0, smoothing=0.3)
    if name == "gradient":
        return jwm.planners.gradient(model, space, horizon=horizon, iterations=10,
                                     restarts=8, learning_rate=0.1)
    raise ValueError(name)


def mcts_planner(model, space, depth: int, simulations: int):
    """UCT with leaves valued by the best of several random rollouts of ``depth`` steps
    (the setting of experiments/mcts_true_model.py); Box actions by 8 sampled
    candidates per node."""
    extra = {} if isinstance(space, jwm.spaces.Discrete) else {"num_sampled_actions": 8}
    return jwm.planners.mcts(model, space, num_simulations=simulations, rule="uct",
                             rollout_depth=depth, num_rollouts=8, rollout_aggregate="max",
                             temperature=0.0, **extra)


def supports(name: str, space) -> bool:
    """iCEM, MPPI and the gradient planner are defined for Box actions only."""
    return not (isinstance(space, jwm.spaces.Discrete) and name in ("icem", "mppi", "gradient"))


# ---------------------------------------------------------------------------- measuring

def run_episodes(env, policy, params, keys, steps: int, per_seed_params: bool = False):
    """Undiscounted returns ``[seeds]`` of one episode per key, vmapped in one jitted
    program, and its wall time (compile included). With ``per_seed_params`` the
    leading axis of ``params`` is the seed's (each seed plans on its own learned model)."""

    def one(params, key):
        return jwm.agents.run_episode(env, policy, params, key, num_steps=steps).total_return

    run = jax.jit(jax.vmap(one, in_axes=(0 if per_seed_params else None, 0)))
    start = time.perf_counter()
    returns = jax.block_until_ready(run(params, keys))
    return np.asarray(returns, np.float64), time.perf_counter() - start


def plan_ms(env, policy, params, key, repeats: int, amortized: bool = False) -> float:
    """Milliseconds of one jitted ``policy.act`` (encode + plan) on a reset state: a
    warm-up call compiles it, then ``repeats`` timed calls, each ``block_until_ready``,
    the carry threaded through as in an episode. Median, or the mean when
    ``amortized`` (a policy that replans only every few steps)."""
    state, obs = env.reset(key)
    x = state if policy.observes_state else obs
    act = jax.jit(policy.act)
    carry = policy.init(params, key)
    carry = jax.block_until_ready(act(params, carry, x, key))[1]
    times = []
    for i in range(repeats):
        start = time.perf_counter()
        out = jax.block_until_ready(act(params, carry, x, jax.random.fold_in(key, i)))
        times.append(time.perf_counter() - start)
        carry = out[1]
    return 1e3 * float(np.mean(times) if amortized else np.median(times)), 1e3 * float(np.min(times))


def summary(returns) -> dict:
    r = np.asarray(returns, np.float64)
    return {"mean": float(r.mean()),
            "se": float(r.std(ddof=1) / np.sqrt(r.size)) if r.size > 1 else 0.0,
            "min": float(r.min()), "max": float(r.max()), "returns": r.tolist()}


def seed0(tree):
    return jax.tree_util.tree_map(lambda a: a[0], tree)


def measure(env, model, planner, params, keys, steps, repeats, per_seed_params=False):
    """Returns and plan time of MPC with ``planner`` on ``model``."""
    policy = jwm.agents.planner_policy(model, planner)
    returns, wall = run_episodes(env, policy, params, keys, steps, per_seed_params)
    timing_params = seed0(params) if per_seed_params else params
    ms, ms_min = plan_ms(env, policy, timing_params, keys[0], repeats)
    return {**summary(returns), "ms_per_step": ms, "ms_per_step_min": ms_min,
            "episodes_wall_s": wall}


def sweep(env, model, params, keys, steps, horizons, budget, repeats, bar, tag,
          per_seed_params=False, names=SHOOTING):
    """Every shooting planner the action space allows, at every horizon."""
    out = {}
    for name in names:
        if not supports(name, env.action_space):
            continue
        for h in horizons:
            bar.set_postfix_str(f"{tag} {name} H={h}")
            planner = shooting_planner(name, model, env.action_space, h, budget)
            out.setdefault(name, {})[str(h)] = measure(env, model, planner, params, keys, steps,
                                                      repeats, per_seed_params)
            r = out[name][str(h)]
            tqdm.write(f"{tag:18s} {name:16s} H={h:3d} return {r['mean']:8.1f} ± {r['se']:6.1f}"
                       f"  {r['ms_per_step']:8.2f} ms/step")
            bar.update()
    return out


def mcts_sweep(env, model, keys, steps, depths, simulations, repeats, bar, tag):
    out = {}
    for d in depths:
        bar.set_postfix_str(f"{tag} mcts depth={d}")
        out[str(d)] = measure(env, model, mcts_planner(model, env.action_space, d, simulations),
                              (), keys, steps, repeats)
        out[str(d)]["simulations"] = simulations
        r = out[str(d)]
        tqdm.write(f"{tag:18s} {'mcts':16s} D={d:3d} return {r['mean']:8.1f} ± {r['se']:6.1f}"
                   f"  {r['ms_per_step']:8.2f} ms/step")
        bar.update()
    return out


def random_returns(env, keys, steps):
    policy = jwm.agents.planner_policy(jwm.models.true_model(env),
                                       jwm.agents.random_planner(env.action_space))
    return summary(run_episodes(env, policy, (), keys, steps)[0])


# ------------------------------------------------------------------------ learned models

def cartpole_reward(obs, action, next_obs):
    return jnp.ones((), jnp.float32)


def cartpole_termination(obs, action, next_obs):
    """gymnax CartPole-v1's rule: the cart leaves +-2.4 or the pole tilts past 12 degrees."""
    return (jnp.abs(next_obs[0]) > 2.4) | (jnp.abs(next_obs[2]) > 12 * 2 * jnp.pi / 360)


def pets_run(env_name, env, keys, steps, episodes, budget, horizon):
    """A small PETS run: (ensemble model, fitted params per seed [S], record)."""
    known = {}
    if env_name == CARTPOLE:
        known = dict(reward_fn=cartpole_reward, termination_fn=cartpole_termination)
    model = jwm.models.ensemble_model(env.observation_space, env.action_space, ensemble_size=5,
                                      hidden_sizes=(64, 64, 64), particles=5, **known)
    planner = shooting_planner("cem", model, env.action_space, horizon, budget)
    agent = jwm.agents.pets(env, model, planner, total_steps=episodes * steps,
                            steps_per_episode=steps,
                            fit_options=dict(epochs=100))
    start = time.perf_counter()
    state, metrics = jax.block_until_ready(jax.jit(jax.vmap(agent.run))(keys))
    wall = time.perf_counter() - start
    returns = np.asarray(metrics.eval_return, np.float64)       # [S, episodes]
    env_steps = np.asarray(metrics.env_steps)                    # [S, episodes]
    record = {"episodes": episodes, "random_episodes": 1, "horizon": horizon,
              "sequences_per_step": budget, "particles": 5, "ensemble": "5 x (64, 64, 64) swish",
              "fit_epochs": 100, "known_reward_and_termination": bool(known),
              "eval_returns": returns.tolist(), "env_steps": env_steps.tolist(),
              "final": summary(returns[:, -1]),
              "model_data_env_steps_mean": float(env_steps[:, -1].mean()),
              "wall_s": wall}
    return model, state.model_params, record


# ------------------------------------------------------------------ learned agents

def curve_summary(record: dict, threshold: float, source: str) -> dict:
    """Final and best seed-mean return and env steps to ``threshold`` of a results
    record (``env_steps`` [P], ``eval_returns`` [S][P])."""
    steps = np.asarray(record["env_steps"])
    returns = np.asarray(record["eval_returns"], np.float64)
    reach = steps_to_threshold(steps, returns, threshold)
    mean = returns.mean(0)
    return {"source": source, "env": record.get("env"), "seeds": int(returns.shape[0]),
            "final_return": float(mean[-1]), "final_return_per_seed": returns[:, -1].tolist(),
            "best_mean_return": float(mean.max()), "total_env_steps": int(steps[-1]),
            "threshold": threshold, "steps_to_threshold": reach["mean_steps"],
            "sustained_from": reach["mean_sustained_steps"],
            "seeds_reaching": reach["seeds_reaching"],
            "wall_time_s": record.get("wall_time_s")}


def agent_policy_ms(recipe, env_name, key, repeats, overrides=None):
    """Acting time of a recipe's agent on freshly initialised networks."""
    agent = recipe.agent(recipe.config(env_name, overrides or {}))
    state = jax.jit(agent.init)(key)
    env = jwm.envs.make(env_name)
    return plan_ms(env, agent.policy, agent.policy_params(state), key, repeats)[0]


def video_policy_ms(key, repeats, horizon=4, channels=32, sampling_steps=4, execute=2):
    """Acting time of video planning at video_planning.py's default sizes (random
    weights: the cost does not depend on them). Mean over calls: a video is sampled
    only every ``execute`` steps."""
    from jwm.models.inverse_dynamics import inverse_dynamics
    from jwm.models.video_diffusion import video_diffusion
    from jwm.planners.video_plan import VideoPlanParams, frame_encoder, video_plan

    env = jwm.envs.make(BREAKOUT)
    diffusion = video_diffusion(env.observation_space, horizon=horizon, condition="task",
                                num_tasks=2, channels=channels)
    inverse = inverse_dynamics(env.observation_space, env.action_space)
    planner = video_plan(diffusion, inverse, env.observation_space, env.action_space,
                         condition=1, num_steps=sampling_steps, execute=execute, binarize=True)
    k1, k2 = jax.random.split(key)
    params = VideoPlanParams(diffusion=diffusion.init(k1), inverse=inverse.init(k2))
    policy = jwm.agents.planner_policy(frame_encoder, planner)
    return plan_ms(env, policy, params, key, max(repeats, 4 * execute), amortized=True)[0]


def learned_agents(args, bar) -> dict:
    """Returns/env steps of SVG, Dreamer, MuZero, PETS (full size) and video planning,
    read from committed results or run here; acting time always measured here."""
    from jwm.recipes import DREAMER, MUZERO, SVG, run_recipe

    key = jax.random.key(args.seed + 7)
    jobs = [("svg", SVG, PENDULUM, "svg_Pendulum-v1.json"),
            ("dreamer", DREAMER, PENDULUM, "dreamer_Pendulum-v1.json"),
            ("dreamer", DREAMER, CARTPOLE, "dreamer_CartPole-v1.json"),
            ("muzero", MUZERO, CARTPOLE, "muzero_CartPole-v1.json"),
            ("muzero", MUZERO, BREAKOUT, "muzero_Breakout-MinAtar.json")]
    out = {}
    for name, recipe, env_name, file in jobs:
        bar.set_postfix_str(f"{name} {env_name}")
        entry = {}
        if args.from_results:
            with open(os.path.join(RESULTS, file)) as f:
                record = json.load(f)
            source = f"experiments/results/{file}"
        else:
            overrides = small_budget(name, recipe, env_name, args.agent_budget)
            _, _, record = run_recipe(recipe, env_name, seeds=args.agent_seeds, seed=args.seed,
                                      overrides=overrides, progress=False)
            source = f"measured in this run ({args.agent_budget:g} x the recipe's length)"
        threshold = THRESHOLDS.get(env_name, 5.0)
        entry.update(curve_summary(record, threshold, source))
        entry["ms_per_step"] = agent_policy_ms(recipe, env_name, key, args.repeats)
        entry["ms_per_step_source"] = "measured in this run (fresh networks, recipe sizes)"
        out.setdefault(name, {})[env_name] = entry
        tqdm.write(f"{name:8s} {env_name:26s} final {entry['final_return']:8.1f} after "
                   f"{entry['total_env_steps']} env steps  {entry['ms_per_step']:7.2f} ms/step "
                   f"({source})")
        bar.update()

    # Full-size PETS (10 episodes, 5 seeds, population 200 x 5, 10 particles).
    with open(os.path.join(RESULTS, "pets_Pendulum-v1.json")) as f:
        out["pets_full"] = {PENDULUM: curve_summary(json.load(f), THRESHOLDS[PENDULUM],
                                                    "experiments/results/pets_Pendulum-v1.json")}

    bar.set_postfix_str("video planning")
    if args.from_results:
        with open(os.path.join(RESULTS, "video_planning_Breakout-MinAtar.json")) as f:
            video = json.load(f)
        source = "experiments/results/video_planning_Breakout-MinAtar.json"
    else:
        from video_planning import main as video_main

        with tempfile.TemporaryDirectory() as tmp:
            n = max(100, int(1500 * args.agent_budget))
            video = video_main(["--diffusion-steps", str(n), "--inverse-steps", str(n),
                                "--bc-steps", str(n), "--eval-episodes", "8", "--out", tmp])
        source = f"measured in this run ({n} training steps per network)"
    cfg = video["config"]
    demo_steps = (video["demonstrations"]["episodes"]["expert"]
                  + video["demonstrations"]["episodes"]["random"]) * cfg["steps"]
    out["video"] = {BREAKOUT: {
        "source": source, "returns": {k: v["mean"] for k, v in video["returns"].items()},
        "video_return": video["returns"]["video planning"]["mean"],
        "video_return_se": video["returns"]["video planning"]["stderr"],
        "demonstration_env_steps": demo_steps, "episode_steps": cfg["steps"],
        "pixel_error_by_frame": video["video_diffusion"]["pixel_error_by_frame"],
        "copy_frame_error_by_frame": video["video_diffusion"]["copy_current_frame_error_by_frame"],
        "sampling_steps": cfg["sampling_steps"], "execute": cfg["execute"],
        "ms_per_step": video_policy_ms(key, args.repeats, cfg["horizon"], cfg["channels"],
                                       cfg["sampling_steps"], cfg["execute"]),
        "ms_per_step_source": "measured in this run (random weights, same sizes; mean over "
                              "calls, a video every execute steps)"}}
    v = out["video"][BREAKOUT]
    tqdm.write(f"video    {BREAKOUT:26s} return {v['video_return']:.2f}  "
               f"{v['ms_per_step']:.1f} ms/step ({source})")
    bar.update()
    return out


def small_budget(name, recipe, env_name, fraction):
    """Overrides that shorten a recipe's run to ``fraction`` of its default length."""
    config = recipe.config(env_name, {})
    if name == "svg":
        return {"episodes": max(2, int(round(config["episodes"] * fraction)))}
    loop = config["loop"]
    total = max(int(loop["eval_every"]) * 2, int(loop["total_steps"] * fraction))
    return {"loop": {"total_steps": total}}



def plot(res: dict, path: str) -> None:
    """Top: return against horizon (or MCTS rollout depth), true model solid, learned
    dashed. Bottom: return against measured plan time, every configuration."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(12, 8.5))
    names = SHOOTING + ["mcts"]
    colors = {n: f"C{i}" for i, n in enumerate(names)}
    for col, task in enumerate(("pendulum", "cartpole")):
        top, bottom = axes[0, col], axes[1, col]
        t = res["tasks"][task]
        for kind, style in (("true", "-"), ("learned", "--")):
            for name, entry in t[kind].items():
                hs = [int(h) for h in entry]
                means = [entry[h]["mean"] for h in entry]
                ses = [entry[h]["se"] for h in entry]
                label = f"{name} ({kind})" + (" — x: rollout depth" if name == "mcts" else "")
                top.errorbar(hs, means, yerr=ses, ls=style, marker="o", capsize=2,
                             color=colors[name], label=label)
                bottom.scatter([entry[h]["ms_per_step"] for h in entry], means,
                               color=colors[name], marker="o" if kind == "true" else "x",
                               label=label)
        top.axhline(t["random"]["mean"], color="k", ls=":", lw=1, label="random actions")
        bottom.axhline(t["random"]["mean"], color="k", ls=":", lw=1)
        env = PENDULUM if task == "pendulum" else CARTPOLE
        for i, (name, marker) in enumerate((("svg", "s"), ("dreamer", "D"), ("muzero", "^"))):
            e = res["learned_agents"].get(name, {}).get(env)
            if e:
                bottom.scatter([e["ms_per_step"]], [e["final_return"]], marker=marker, s=60,
                               color=f"C{7 + i}", label=f"{name} (final, read/learned)")
        top.set_xscale("log")
        top.set_xlabel("planning horizon H / MCTS rollout depth D")
        top.set_ylabel(f"return (mean ± SE, {res['config']['seeds']} seeds)")
        top.set_title(f"{env}: return vs horizon (solid true model, dashed learned)", fontsize=10)
        top.legend(fontsize=7)
        bottom.set_xscale("log")
        bottom.set_xlabel("planning time per env step (ms, measured, log)")
        bottom.set_ylabel("return")
        bottom.set_title(f"{env}: return vs plan time (o true, x learned model)", fontsize=10)
        bottom.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------------------- main

def run_all(args) -> dict:
    """Every measurement; the results dict (without table text)."""
    start_all = time.perf_counter()
    key = jax.random.key(args.seed)
    n_h, n_ch = len(args.horizons), len(args.horizons) + len(args.cartpole_extra_horizons)
    total = (5 * n_h + len(args.horizons) + 5 * n_h          # pendulum true, mcts, learned
             + 2 * n_ch + len(args.cartpole_depths) + 2 * n_h   # cartpole
             + len(args.breakout_depths) + 6)                # breakout, learned agents
    bar = tqdm(total=total, desc="planning approaches")
    res = {"experiment": "planning approaches: the textbook table, measured", "tasks": {},
           "measured": [], "read_from": {}}
    main_h = args.main_horizon if args.main_horizon in args.horizons else args.horizons[-1]
    keys = jax.random.split(jax.random.fold_in(key, 1), args.seeds)
    # Each task's results go to a partial file as soon as they exist: with --resume a
    # crashed or killed run redoes only the tasks it had not finished.
    partial = os.path.splitext(args.out)[0] + ".partial.json"
    done = {}
    if args.resume and os.path.exists(partial):
        with open(partial) as f:
            done = json.load(f)
        tqdm.write(f"resuming: {sorted(done)} read from {partial}")
    resumed = sorted(done)  # before this run adds its own tasks

    def save(name, value):
        done[name] = value
        write_json(partial, done)

    # Pendulum: true model, then a learned ensemble from a small PETS run.
    if "pendulum" in done:
        res["tasks"]["pendulum"] = done["pendulum"]
        bar.update(11 * n_h)
    else:
        res["tasks"]["pendulum"] = pendulum_task(args, key, keys, main_h, bar)
        save("pendulum", res["tasks"]["pendulum"])
    if "cartpole" in done:
        res["tasks"]["cartpole"] = done["cartpole"]
        bar.update(2 * n_ch + len(args.cartpole_depths) + 2 * n_h)
    else:
        res["tasks"]["cartpole"] = cartpole_task(args, key, keys, bar)
        save("cartpole", res["tasks"]["cartpole"])
    if "breakout" in done:
        res["tasks"]["breakout"] = done["breakout"]
        bar.update(len(args.breakout_depths))
    else:
        res["tasks"]["breakout"] = breakout_task(args, keys, bar)
        save("breakout", res["tasks"]["breakout"])
    res["resumed_from_partial"] = resumed
    return finish(args, res, bar, start_all, main_h)


def pendulum_task(args, key, keys, main_h, bar) -> dict:
    env = jwm.envs.make(PENDULUM)
    true = jwm.models.true_model(env)
    P = {"env": PENDULUM, "steps": args.pendulum_steps}
    P["random"] = random_returns(env, keys, args.pendulum_steps)
    P["true"] = sweep(env, true, (), keys, args.pendulum_steps, args.horizons,
                      args.budget_pendulum, args.repeats, bar, "Pendulum true")
    P["true"]["mcts"] = mcts_sweep(env, true, keys, args.pendulum_steps, args.horizons,
                                   args.pendulum_simulations, args.repeats, bar, "Pendulum true")
    bar.set_postfix_str("PETS Pendulum")
    model, params, P["pets"] = pets_run(PENDULUM, env, jax.random.split(jax.random.fold_in(key, 2),
                                                                        args.seeds),
                                        args.pendulum_steps, args.pets_episodes,
                                        args.budget_pendulum, main_h)
    tqdm.write(f"PETS Pendulum: returns per episode {np.round(np.mean(P['pets']['eval_returns'], 0))}"
               f" ({P['pets']['wall_s']:.0f} s)")
    P["learned"] = sweep(env, model, params, keys, args.pendulum_steps, args.horizons,
                         args.budget_pendulum, args.repeats, bar, "Pendulum learned",
                         per_seed_params=True)
    for entry in P["learned"].values():
        for r in entry.values():
            r["model_env_steps"] = P["pets"]["model_data_env_steps_mean"]

    return P


def cartpole_task(args, key, keys, bar) -> dict:
    """Discrete actions, the same two models."""
    env = jwm.envs.make(CARTPOLE)
    true = jwm.models.true_model(env)
    ch = sorted(set(args.horizons) | set(args.cartpole_extra_horizons))
    C = {"env": CARTPOLE, "steps": args.cartpole_steps}
    C["random"] = random_returns(env, keys, args.cartpole_steps)
    C["true"] = sweep(env, true, (), keys, args.cartpole_steps, ch, args.budget_cartpole,
                      args.repeats, bar, "CartPole true")
    C["true"]["mcts"] = mcts_sweep(env, true, keys, args.cartpole_steps, args.cartpole_depths,
                                   args.mcts_simulations, args.repeats, bar, "CartPole true")
    bar.set_postfix_str("PETS CartPole")
    model, params, C["pets"] = pets_run(CARTPOLE, env, jax.random.split(jax.random.fold_in(key, 3),
                                                                        args.seeds),
                                        args.cartpole_steps, args.pets_episodes,
                                        args.budget_cartpole, args.cartpole_main_horizon)
    tqdm.write(f"PETS CartPole: returns per episode {np.round(np.mean(C['pets']['eval_returns'], 0))}"
               f" ({C['pets']['wall_s']:.0f} s)")
    C["learned"] = sweep(env, model, params, keys, args.cartpole_steps, args.horizons,
                         args.budget_cartpole,
                         args.repeats, bar, "CartPole learned", per_seed_params=True)
    for entry in C["learned"].values():
        for r in entry.values():
            r["model_env_steps"] = C["pets"]["model_data_env_steps_mean"]

    return C


def breakout_task(args, keys, bar) -> dict:
    """UCT on the simulator, against random play."""
    env = jwm.envs.make(BREAKOUT)
    B = {"env": BREAKOUT, "steps": args.breakout_steps}
    B["random"] = random_returns(env, keys, args.breakout_steps)
    B["true"] = {"mcts": mcts_sweep(env, jwm.models.true_model(env), keys, args.breakout_steps,
                                    args.breakout_depths, args.breakout_simulations,
                                    args.repeats, bar, "Breakout true")}
    return B


def finish(args, res, bar, start_all, main_h) -> dict:
    """The learned agents (read or run), then the record's provenance and settings."""
    res["measured"] += ["pendulum: true and learned-model planners, MCTS, small PETS, random",
                        "cartpole: true and learned-model planners, MCTS, small PETS, random",
                        "breakout: MCTS, random", "every ms_per_step"]

    res["learned_agents"] = learned_agents(args, bar)
    for name, per_env in res["learned_agents"].items():
        for env_name, e in per_env.items():
            if e["source"].startswith("experiments/"):
                res["read_from"][f"{name} {env_name}"] = e["source"]
            else:
                res["measured"].append(f"{name} {env_name}: returns and env steps")
    bar.close()
    res["config"] = {k: v for k, v in vars(args).items() if k != "out"}
    res["config"]["main_horizon"] = main_h
    res["config"]["steps"] = {"pendulum": args.pendulum_steps, "cartpole": args.cartpole_steps,
                              "breakout": args.breakout_steps}
    res["thresholds"] = THRESHOLDS
    res["device"], res["jax"] = device_name(), jax.__version__
    res["date"] = time.strftime("%Y-%m-%d", time.gmtime())
    res["wall_time_s"] = time.perf_counter() - start_all
    return res


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--horizons", type=int, nargs="+", default=[5, 15, 30],
                        help="shooting horizons, and MCTS rollout depths on Pendulum")
    parser.add_argument("--main-horizon", type=int, default=30,
                        help="the horizon quoted in the table's return and ms columns")
    parser.add_argument("--cartpole-extra-horizons", type=int, nargs="*", default=[80],
                        help="true model only: where the cart's drift becomes visible")
    parser.add_argument("--cartpole-main-horizon", type=int, default=30)
    parser.add_argument("--cartpole-depths", type=int, nargs="+", default=[5, 15, 30, 80],
                        help="MCTS rollout depths on CartPole")
    parser.add_argument("--breakout-depths", type=int, nargs="+", default=[5, 20])
    parser.add_argument("--budget-pendulum", type=int, default=300,
                        help="sequences scored per plan step on Pendulum")
    parser.add_argument("--budget-cartpole", type=int, default=256)
    parser.add_argument("--mcts-simulations", type=int, default=32)
    parser.add_argument("--breakout-simulations", type=int, default=32)
    parser.add_argument("--pendulum-simulations", type=int, default=64,
                        help="sampled-action MCTS: 8 candidates per node need more visits")
    parser.add_argument("--pendulum-steps", type=int, default=200)
    parser.add_argument("--cartpole-steps", type=int, default=500)
    parser.add_argument("--breakout-steps", type=int, default=100,
                        help="as in video_planning.py, so the returns compare")
    parser.add_argument("--pets-episodes", type=int, default=3,
                        help="small PETS run per env, the first random")
    parser.add_argument("--repeats", type=int, default=30, help="timed plan calls")
    parser.add_argument("--from-results", action=argparse.BooleanOptionalAction, default=True,
                        help="read SVG, Dreamer, MuZero, full PETS and video planning "
                             "returns from experiments/results/ (their acting time is "
                             "measured either way)")
    parser.add_argument("--agent-budget", type=float, default=0.1,
                        help="with --no-from-results: fraction of each recipe's length")
    parser.add_argument("--agent-seeds", type=int, default=2)
    parser.add_argument("--resume", action="store_true",
                        help="reuse the finished tasks of <out>.partial.json")
    parser.add_argument("--quick", action="store_true",
                        help="tiny budgets: checks every code path in a few minutes")
    parser.add_argument("--out", default=os.path.join(RESULTS, "planning_approaches.json"))
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.horizons, args.cartpole_extra_horizons = 2, [5, 15], []
        args.cartpole_depths, args.breakout_depths = [5, 15], [5]
        args.pendulum_steps, args.cartpole_steps, args.breakout_steps = 40, 60, 20
        args.budget_pendulum = args.budget_cartpole = 48
        args.mcts_simulations = args.breakout_simulations = args.pendulum_simulations = 8
        args.pets_episodes, args.repeats, args.cartpole_main_horizon = 2, 3, 15
    if args.seeds < 2:
        parser.error("--seeds must be >= 2 (standard errors)")
    return args


def main(argv=None) -> dict:
    args = parse(argv)
    res = run_all(args)
    flags = sys.argv[1:] if argv is None else list(argv)
    res["command_flags"] = "".join(" " + f for f in flags)
    res["table"] = build_rows(res)
    stem = os.path.splitext(args.out)[0]
    write_result(args.out, res, markdown)
    plot(res, stem + ".png")
    partial = stem + ".partial.json"
    if os.path.exists(partial):
        os.remove(partial)  # the full record supersedes it
    print(f"wrote {args.out}, .md and .png ({res['wall_time_s']:.0f} s)")
    return res


if __name__ == "__main__":
    main()

"""Video planning (UniPi-style) on a MinAtar game, against random play, behaviour
cloning on the same demonstrations, and planning with the true model.

1. Demonstrations (`jwm.agents.demonstrations`): ``--expert-episodes`` episodes of a
   true-model planner (UCT on `jwm.models.true_model`, task 1) and
   ``--random-episodes`` of random play (task 0), ``--steps`` steps each; stored in
   ``experiments/data/<env>_demos.npz`` (reused when present with the same settings).
   One fifth of the episodes of each kind is held out.
2. Inverse dynamics on every training transition; its held-out action accuracy
   against the majority-class rate.
3. Video diffusion on training clips: the next ``--horizon`` frames from the current
   frame and the task id.
4. Behaviour cloning on the expert's training transitions.
5. Returns over ``--eval-episodes`` fresh episodes of: random play, behaviour cloning,
   video planning (task 1, ``--sampling-steps`` DDIM steps, first ``--execute``
   actions of each video) and the true-model planner that made the demonstrations.

Writes ``experiments/results/video_planning_<env>.json``, its Markdown (`markdown`) and
``.png`` (returns, and a strip of one generated video beside what the environment did).

    python experiments/video_planning.py [--env Breakout-MinAtar] [--steps 100]
        [--expert-episodes 48] [--random-episodes 48] [--horizon 4]
        [--diffusion-steps 1500] [--sampling-steps 4] [--execute 2] [--eval-episodes 16]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import jax
import numpy as np
from tqdm.auto import tqdm

import jwm
from jwm.agents import demonstrations as demo
from jwm.models.behaviour_cloning import behaviour_cloning, fit_behaviour_cloning
from jwm.models.inverse_dynamics import fit_inverse_dynamics, inverse_dynamics
from jwm.models.video_diffusion import fit_video_diffusion, video_diffusion
from jwm.planners.video_plan import VideoPlanParams, frame_encoder, video_plan
from jwm.device import device_name

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # results_io, beside this file
from results_io import mean, num, pct, table, write_result  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
DATA = os.path.join(HERE, "data")
EXPERT, RANDOM = 1, 0


def expert_planner(env, simulations: int, rollout_depth: int):
    """The demonstrator: UCT search on the simulator itself, leaves valued by the best
    of 8 random rollouts (in Breakout a rollout that keeps the ball alive shows the way
    to the next brick)."""
    model = jwm.models.true_model(env)
    return model, jwm.planners.mcts(model, env.action_space, num_simulations=simulations,
                                    rule="uct", rollout_depth=rollout_depth, num_rollouts=8,
                                    rollout_aggregate="max", temperature=0.0)


def random_policy(env):
    return jwm.agents.stateless_policy(lambda params, obs, key: env.action_space.sample(key))


def demonstrations(env, args) -> demo.Demonstrations:
    settings = {"env": args.env, "steps": args.steps, "expert_episodes": args.expert_episodes,
                "random_episodes": args.random_episodes, "seed": args.seed,
                "expert": {"planner": "mcts uct, max of 8 rollouts", "model": "true_model",
                           "simulations": args.expert_simulations,
                           "rollout_depth": args.expert_rollout_depth}}
    path = os.path.join(DATA, f"{args.env}_demos.npz")
    if os.path.exists(path):
        demos, saved = demo.load(path)
        if saved == settings:
            return demos
    model, planner = expert_planner(env, args.expert_simulations, args.expert_rollout_depth)
    policy = jwm.agents.planner_policy(model, planner)
    k_expert, k_random = jax.random.split(jax.random.key(args.seed))
    expert = jax.jit(lambda k: demo.collect(env, policy, (), k, episodes=args.expert_episodes,
                                            num_steps=args.steps, task=EXPERT))(k_expert)
    rand = jax.jit(lambda k: demo.collect(env, random_policy(env), (), k,
                                          episodes=args.random_episodes, num_steps=args.steps,
                                          task=RANDOM))(k_random)
    demos = demo.concatenate(expert, rand)
    demo.save(path, demos, settings)
    return demos


def split_by_task(demos, key):
    """Holds out a fifth of each task's episodes."""
    parts = []
    for task in (EXPERT, RANDOM):
        rows = np.nonzero(np.asarray(demos.task) == task)[0]
        subset = demo.Demonstrations(*(np.asarray(x)[rows] for x in demos))
        parts.append(demo.split(subset, 0.2, jax.random.fold_in(key, task)))
    return (demo.concatenate(parts[0][0], parts[1][0]),
            demo.concatenate(parts[0][1], parts[1][1]))


def returns_of(env, policy, params, key, episodes: int, steps: int):
    run = jax.jit(jax.vmap(lambda k: jwm.agents.run_episode(env, policy, params, k,
                                                            num_steps=steps)))
    start = time.perf_counter()
    episode = jax.block_until_ready(run(jax.random.split(key, episodes)))
    return np.asarray(episode.total_return, np.float64), time.perf_counter() - start, episode


def summary(returns) -> dict:
    r = np.asarray(returns, np.float64)
    return {"mean": float(r.mean()), "std": float(r.std()),
            "stderr": float(r.std(ddof=1) / np.sqrt(len(r))) if len(r) > 1 else None,
            "returns": r.tolist()}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="Breakout-MinAtar")
    parser.add_argument("--steps", type=int, default=100, help="steps per episode")
    parser.add_argument("--expert-episodes", type=int, default=48)
    parser.add_argument("--random-episodes", type=int, default=48)
    parser.add_argument("--expert-simulations", type=int, default=32)
    parser.add_argument("--expert-rollout-depth", type=int, default=20)
    parser.add_argument("--horizon", type=int, default=4, help="frames per generated video")
    parser.add_argument("--channels", type=int, default=32)
    parser.add_argument("--diffusion-steps", type=int, default=1500)
    parser.add_argument("--inverse-steps", type=int, default=1500)
    parser.add_argument("--bc-steps", type=int, default=1500)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--sampling-steps", type=int, default=4)
    parser.add_argument("--execute", type=int, default=2)
    parser.add_argument("--eval-episodes", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=RESULTS)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    env = jwm.envs.make(f"gymnax:{args.env}")
    key = jax.random.key(args.seed + 1)
    k_split, k_inv, k_diff, k_bc, k_eval = jax.random.split(key, 5)
    timings = {}
    bar = tqdm(total=6, desc="video planning")

    t0 = time.perf_counter()
    demos = demonstrations(env, args)
    train, held = split_by_task(demos, k_split)
    timings["demonstrations_s"] = time.perf_counter() - t0
    bar.update()

    # Inverse dynamics on every kind of play: the video may show moves the expert
    # rarely makes.
    t0 = time.perf_counter()
    inverse = inverse_dynamics(env.observation_space, env.action_space)
    frames, next_frames, actions = demo.transitions(train)
    inv_params, inv_losses = fit_inverse_dynamics(
        inverse, inverse.init(k_inv), frames, next_frames, actions, k_inv,
        steps=args.inverse_steps, batch_size=args.batch_size, learning_rate=1e-3)
    inv_losses = np.asarray(inv_losses)  # waits for the training: its time is measured
    h_frames, h_next, h_actions = demo.transitions(held)
    _, inv_metrics = jax.jit(inverse.loss)(inv_params, h_frames, h_next, h_actions)
    counts = np.bincount(h_actions, minlength=env.action_space.n)
    timings["inverse_dynamics_s"] = time.perf_counter() - t0
    bar.update()

    t0 = time.perf_counter()
    diffusion = video_diffusion(env.observation_space, horizon=args.horizon, condition="task",
                                num_tasks=2, channels=args.channels)
    clip_obs, _, _, _, clip_task = demo.clips(train, args.horizon)
    diff_params, diff_losses = fit_video_diffusion(
        diffusion, diffusion.init(k_diff), clip_obs[:, 0], clip_obs[:, 1:], clip_task, k_diff,
        steps=args.diffusion_steps, batch_size=args.batch_size, learning_rate=1e-3)
    diff_losses = np.asarray(diff_losses)
    timings["video_diffusion_s"] = time.perf_counter() - t0
    bar.update()

    t0 = time.perf_counter()
    expert_train = demo.Demonstrations(*(np.asarray(x)[np.asarray(train.task) == EXPERT]
                                         for x in train))
    expert_held = demo.Demonstrations(*(np.asarray(x)[np.asarray(held.task) == EXPERT]
                                        for x in held))
    bc = behaviour_cloning(env.observation_space, env.action_space)
    e_frames, _, e_actions = demo.transitions(expert_train)
    bc_params, bc_losses = fit_behaviour_cloning(bc, bc.init(k_bc), e_frames, e_actions, k_bc,
                                                 steps=args.bc_steps, batch_size=args.batch_size)
    bc_losses = np.asarray(bc_losses)
    eh_frames, _, eh_actions = demo.transitions(expert_held)
    _, bc_metrics = jax.jit(bc.loss)(bc_params, eh_frames, eh_actions, k_bc)
    timings["behaviour_cloning_s"] = time.perf_counter() - t0
    bar.update()

    # Held-out video quality: frame k of a generated video against the real one.
    clips_held = demo.clips(expert_held, args.horizon)[0][:256]
    sample = jax.jit(jax.vmap(lambda f, k: diffusion.sample(diff_params, f, EXPERT, k,
                                                            args.sampling_steps)))
    videos = np.asarray(sample(clips_held[:, 0], jax.random.split(k_eval, len(clips_held))))
    pixel_error = (np.round(videos) != clips_held[:, 1:]).mean(axis=(0, 2, 3, 4))
    copy_error = (clips_held[:, :1] != clips_held[:, 1:]).mean(axis=(0, 2, 3, 4))
    bar.update()

    planner = video_plan(diffusion, inverse, env.observation_space, env.action_space,
                         condition=EXPERT, num_steps=args.sampling_steps,
                         execute=args.execute, binarize=True)
    model, expert = expert_planner(env, args.expert_simulations, args.expert_rollout_depth)
    runs = {
        "random play": (random_policy(env), ()),
        "behaviour cloning": (bc.policy, bc_params),
        "video planning": (jwm.agents.planner_policy(frame_encoder, planner),
                           VideoPlanParams(diffusion=diff_params, inverse=inv_params)),
        "true-model planner (demonstrator)": (jwm.agents.planner_policy(model, expert), ()),
    }
    returns, eval_seconds, episodes = {}, {}, {}
    for name, (policy, params) in tqdm(runs.items(), desc="evaluation", leave=False):
        r, seconds, episodes[name] = returns_of(env, policy, params, k_eval, args.eval_episodes,
                                                args.steps)
        returns[name], eval_seconds[name] = summary(r), seconds
        tqdm.write(f"{name}: mean return {r.mean():.2f} (+- {returns[name]['std']:.2f}) "
                   f"in {seconds:.1f} s")
    bar.update()
    bar.close()

    record = {
        "experiment": "video planning (UniPi-style) on a MinAtar game",
        "env": f"gymnax:{args.env}", "config": vars(args),
        "demonstrations": {
            "episodes": {"expert": int((np.asarray(demos.task) == EXPERT).sum()),
                         "random": int((np.asarray(demos.task) == RANDOM).sum())},
            "expert_mean_return": float(np.asarray(demos.rewards)[
                np.asarray(demos.task) == EXPERT].sum(1).mean()),
            "train_transitions": int(frames.shape[0]), "held_out_transitions":
                int(h_frames.shape[0]), "train_clips": int(clip_obs.shape[0])},
        "inverse_dynamics": {"held_out_accuracy": float(inv_metrics["accuracy"]),
                             "majority_class_rate": float(counts.max() / counts.sum()),
                             "held_out_action_counts": counts.tolist(),
                             "final_train_loss": float(np.mean(inv_losses[-50:]))},
        "behaviour_cloning": {"held_out_expert_accuracy": float(bc_metrics["accuracy"]),
                              "final_train_loss": float(np.mean(bc_losses[-50:]))},
        "video_diffusion": {
            "final_train_loss": float(np.mean(diff_losses[-50:])),
            "held_out_clips": int(len(clips_held)),
            "pixel_error_by_frame": pixel_error.tolist(),
            "copy_current_frame_error_by_frame": copy_error.tolist()},
        "returns": returns, "eval_seconds": eval_seconds, "timings_s": timings,
        "wall_time_s": time.perf_counter() - started,
        "device": device_name(),
        "jax": jax.__version__,
    }
    os.makedirs(args.out, exist_ok=True)
    stem = os.path.join(args.out, f"video_planning_{args.env}")
    write_result(stem + ".json", record, markdown)
    plot(stem + ".png", record, videos[0], clips_held[0], episodes["video planning"])
    return record


def markdown(record: dict) -> str:
    """The setting (demonstrations, video model, replanning), the return of each policy
    (``returns``) and how well the parts do on held-out data."""
    c, dm = record["config"], record["demonstrations"]
    inv, bc, vd = (record["inverse_dynamics"], record["behaviour_cloning"],
                   record["video_diffusion"])
    pe, ce = vd["pixel_error_by_frame"], vd["copy_current_frame_error_by_frame"]
    rows = [[name, f"{num(d['mean'], 2)} ± {num(d['std'], 2)}"]
            for name, d in record["returns"].items()]
    return "\n".join([
        f"UniPi-style planning. The demonstrations are {dm['episodes']['expert']} episodes "
        f"of a true-model UCT planner (mean return {num(dm['expert_mean_return'], 2)} per "
        f"{c['steps']} steps) and {dm['episodes']['random']} of random play, stored by "
        "`jwm.agents.demonstrations`; part of each is held out. A video diffusion model "
        f"({c['channels']} channels, {num(c['diffusion_steps'])} training steps) generates "
        f"the next {c['horizon']} frames from the current one and the task id. The "
        "inverse-dynamics model reads the actions off the video, and the planner executes "
        f"{c['execute']} of them, then replans ({c['sampling_steps']} DDIM steps per video). "
        f"Returns over {c['eval_episodes']} episodes of {c['steps']} steps:", "",
        table(["policy", "mean return (± std)"], rows), "",
        f"- Inverse dynamics reads held-out actions at {pct(inv['held_out_accuracy'])} "
        f"accuracy (majority class {pct(inv['majority_class_rate'])}).",
        f"- Behaviour cloning matches the expert's held-out actions "
        f"{pct(bc['held_out_expert_accuracy'])} of the time.",
        f"- The generated frames' pixel error is {pct(min(pe))}–{pct(max(pe))} by frame "
        f"(mean {pct(mean(pe))}), copying the current frame's {pct(min(ce))}–{pct(max(ce))} "
        f"(mean {pct(mean(ce))}); the PNG shows sampled videos."]) + "\n"


def _rgb(frames) -> np.ndarray:
    """``[..., H, W, C]`` binary channels as colours (one hue per channel)."""
    colours = np.array([[0.9, 0.3, 0.2], [0.2, 0.6, 0.9], [0.3, 0.8, 0.3], [0.9, 0.8, 0.2],
                        [0.7, 0.4, 0.9], [0.9, 0.5, 0.7], [0.5, 0.5, 0.5], [0.2, 0.9, 0.9],
                        [0.6, 0.3, 0.1], [0.1, 0.3, 0.6]])
    c = frames.shape[-1]
    rgb = np.clip(np.asarray(frames, np.float64) @ colours[:c], 0, 1)
    return 1.0 - (1.0 - rgb) * (np.asarray(frames).max(-1, keepdims=True) > 0)


def plot(path, record, video, real_clip, planned_episode) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    horizon = video.shape[0]
    fig = plt.figure(figsize=(10, 6))
    grid = fig.add_gridspec(3, horizon + 2)
    ax = fig.add_subplot(grid[:, :2])
    names = list(record["returns"])
    means = [record["returns"][n]["mean"] for n in names]
    errs = [record["returns"][n]["stderr"] or 0 for n in names]
    ax.barh(range(len(names)), means, xerr=errs, color=["0.6", "C1", "C0", "C2"])
    ax.set_yticks(range(len(names)), [n.replace(" (", "\n(") for n in names], fontsize=8)
    ax.set_xlabel(f"mean return over {record['config']['eval_episodes']} episodes")
    ax.set_title(record["env"], fontsize=9)
    rows = (("real (held out)", real_clip[1:]), ("generated", np.round(video)))
    for r, (label, frames) in enumerate(rows):
        for k in range(horizon):
            a = fig.add_subplot(grid[r, 2 + k])
            a.imshow(_rgb(frames[k]), interpolation="nearest")
            a.set_xticks([]), a.set_yticks([])
            if k == 0:
                a.set_ylabel(label, fontsize=8)
            if r == 0:
                a.set_title(f"t+{k + 1}", fontsize=8)
    a = fig.add_subplot(grid[2, 2:])
    a.plot(range(1, horizon + 1), record["video_diffusion"]["pixel_error_by_frame"], "o-",
           label="generated")
    a.plot(range(1, horizon + 1), record["video_diffusion"]["copy_current_frame_error_by_frame"],
           "s--", label="copy the current frame")
    a.set_xlabel("frame ahead"), a.set_ylabel("pixel error rate")
    a.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()

"""Video diffusion on MinAtar Breakout: how far generated videos stay right, and what
each DDIM sampling step costs.

Collects `jwm.agents.demonstrations` of random play (task 0) and of a true-model UCT
planner (task 1), takes every clip of ``horizon + 1`` frames inside an episode,
trains a task-conditioned `jwm.models.video_diffusion` on them, then on held-out
episodes' clips measures

  (a) the per-pixel error rate of generated frame k against the real frame k,
      k = 1..horizon (thresholded at 0.5), beside copying the current frame;
  (b) frames generated per second against the number of DDIM steps (one batch,
      compiled first, timed with block_until_ready), with the error beside;

and writes ``experiments/results/video_sampling_<env>.json`` (the numbers, device, jax
version, wall time), its Markdown (`markdown`) and ``.png`` (error against horizon, speed and
error against steps, and strips of real and generated frames).

    python experiments/video_sampling.py                 # <= 15 min on 2 idle CPU cores
    python experiments/video_sampling.py --train-steps 20000 --channels 128 \\
        --timing-batch 1024 --tag _gpu                   # the same on a GPU
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

import jax
import numpy as np
from tqdm.auto import tqdm

import jwm
from jwm.agents import demonstrations as demo
from jwm.agents import planner_policy, stateless_policy
from jwm.models.video_diffusion import fit_video_diffusion, video_diffusion
from jwm.device import device_name

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # results_io, beside this file
from results_io import mean, num, pct, write_result  # noqa: E402
from results_io import table as md_table  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
TASKS = ("random play", "true-model UCT")
CHANNELS = {"gymnax:Breakout-MinAtar": ["paddle", "ball", "trail", "brick"]}
# Breakout's channels (paddle, ball, trail, brick) as colours for the image strips.
COLOURS = np.array([[0.2, 0.5, 1.0], [1.0, 0.2, 0.2], [1.0, 0.7, 0.2], [0.45, 0.45, 0.45]])


def collect(env, policy, key, *, episodes, num_steps, chunk, task, desc):
    """`Demonstrations` of ``policy``, ``chunk`` episodes at a time (one compiled
    program, a progress bar), as NumPy."""
    run = jax.jit(lambda k: demo.collect(env, policy, (), k, episodes=chunk,
                                         num_steps=num_steps, task=task))
    parts = [jax.tree.map(np.asarray, jax.block_until_ready(run(jax.random.fold_in(key, i))))
             for i in tqdm(range(math.ceil(episodes / chunk)), desc=desc)]
    return demo.Demonstrations(*(np.concatenate(x)[:episodes] for x in zip(*parts)))


def render(frame):
    """``[H, W, 4]`` in [0, 1] -> ``[H, W, 3]`` RGB (soft: a pixel's colour is weighted
    by how sure the frame is of each channel)."""
    return np.clip(np.tensordot(np.asarray(frame, np.float32), COLOURS[:frame.shape[-1]], 1), 0, 1)


def strip(frames):
    """``[K, H, W, C]`` -> one RGB row with one-pixel white gaps."""
    pieces = []
    for f in frames:
        pieces += [render(f), np.ones((f.shape[0], 1, 3))]
    return np.concatenate(pieces[:-1], 1)


def markdown(record: dict) -> str:
    """The model and its training, then per DDIM step count the sampling speed and the
    held-out errors (``sampling``), beside copying the current frame."""
    c, order = record["config"], record.get("channels_order") or []
    rows = [[s["num_steps"], num(s["frames_per_s"], 0), num(s["clips_per_s"], 0),
             pct(s["pixel_error"], 2), pct(s["exact_frame_rate"]),
             " / ".join(pct(x, 0) for x in s.get("channel_exact_rate", []))]
            for s in record["sampling"]]
    copy = mean(record["copy_current_frame"]["pixel_error_by_k"])
    return "\n".join([
        f"A task-conditioned video diffusion model ({num(c['num_params'])} parameters, "
        f"{c['channels']} channels, horizon {c['horizon']}, {num(c['train_steps'])} training "
        f"steps) sampled with DDIM at several step counts, batch {c['timing_batch']}; errors "
        f"are over held-out clips. Copying the current frame has pixel error {pct(copy, 2)}.",
        "", md_table(["DDIM steps", "frames/s", "clips/s", "pixel error", "exact frames",
                      "exact channels (" + " / ".join(order) + ")"], rows)]) + "\n"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="gymnax:Breakout-MinAtar")
    parser.add_argument("--horizon", type=int, default=8)
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--blocks", type=int, default=3)
    parser.add_argument("--absolute", action="store_true",
                        help="diffuse the frames themselves, not their change from frame 0")
    parser.add_argument("--train-steps", type=int, default=2400)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3, help="peak; cosine decay to 10%%")
    parser.add_argument("--random-episodes", type=int, default=768)
    parser.add_argument("--expert-episodes", type=int, default=24)
    parser.add_argument("--episode-steps", type=int, default=150)
    parser.add_argument("--simulations", type=int, default=16, help="UCT simulations per step")
    parser.add_argument("--held-out", type=float, default=0.25, help="fraction of episodes")
    parser.add_argument("--sample-steps", default="1,2,4,8,16,32")
    parser.add_argument("--timing-batch", type=int, default=256,
                        help="held-out clips generated at once (also the error's sample)")
    parser.add_argument("--timing-repeats", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tag", default="", help="suffix of the output file names")
    parser.add_argument("--out", default=RESULTS)
    args = parser.parse_args(argv)
    sample_steps = [int(s) for s in args.sample_steps.split(",")]
    start = time.perf_counter()
    load_start = os.getloadavg()
    key = jax.random.key(args.seed)
    k_random, k_expert, k_split, k_init, k_fit, k_eval, k_sample = jax.random.split(key, 7)

    env = jwm.envs.make(args.env)
    random_policy = stateless_policy(lambda params, obs, k: env.action_space.sample(k))
    model_env = jwm.models.true_model(env)
    uct = dict(num_simulations=args.simulations, rule="uct", rollout_depth=20, num_rollouts=4,
               rollout_aggregate="max", temperature=0.0)
    expert_policy = planner_policy(model_env, jwm.planners.mcts(model_env, env.action_space, **uct))
    sources = [collect(env, random_policy, k_random, episodes=args.random_episodes,
                       num_steps=args.episode_steps, chunk=64, task=0, desc="random play"),
               collect(env, expert_policy, k_expert, episodes=args.expert_episodes,
                       num_steps=args.episode_steps, chunk=8, task=1, desc="true-model UCT")]
    collect_s = time.perf_counter() - start

    # Whole episodes held out, the same fraction of each task's.
    halves = [demo.split(d, args.held_out, jax.random.fold_in(k_split, i))
              for i, d in enumerate(sources)]
    train, held_out = (demo.concatenate(*parts) for parts in zip(*halves))
    data_info = {}
    for task, (d, (d_train, d_held)) in enumerate(zip(sources, halves)):
        data_info[TASKS[task]] = {
            "episodes": int(len(d.task)), "held_out_episodes": int(len(d_held.task)),
            "mean_return": float(np.asarray(d.rewards).sum(1).mean()),
            "mean_length": float(np.asarray(d.active).sum(1).mean()),
            "train_clips": int(len(demo.clips(d_train, args.horizon)[0])),
            "held_out_clips": int(len(demo.clips(d_held, args.horizon)[0]))}
    tqdm.write(f"data: {data_info}")

    def clip_arrays(demos):
        obs, _, _, _, task = demo.clips(demos, args.horizon)
        return {"frames": obs[:, 0], "future": obs[:, 1:], "task": task}

    train, held_out = clip_arrays(train), clip_arrays(held_out)

    model = video_diffusion(env.observation_space, horizon=args.horizon, condition="task",
                            num_tasks=len(TASKS), channels=args.channels, blocks=args.blocks,
                            residual=not args.absolute)
    params = model.init(k_init)
    num_params = int(sum(x.size for x in jax.tree.leaves(params)))
    chunks = min(20, args.train_steps)
    per_chunk = args.train_steps // chunks
    losses = []
    fit_start = time.perf_counter()
    for i in tqdm(range(chunks), desc="training"):
        lr = args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * i / chunks)))
        params, chunk_losses = fit_video_diffusion(
            model, params, train["frames"], train["future"], train["task"],
            jax.random.fold_in(k_fit, i), steps=per_chunk, batch_size=args.batch_size,
            learning_rate=lr)
        losses.append(np.asarray(chunk_losses))
        tqdm.write(f"  steps {(i + 1) * per_chunk}: loss {losses[-1].mean():.4f}")
    losses = np.concatenate(losses)
    fit_s = time.perf_counter() - fit_start

    # One fixed batch of held-out clips: every sampler setting is scored and timed on it.
    rows = np.asarray(jax.random.choice(k_eval, len(held_out["frames"]),
                                        (min(args.timing_batch, len(held_out["frames"])),),
                                        replace=False))
    frames, future, tasks = (held_out[k][rows] for k in ("frames", "future", "task"))
    real = np.asarray(future, np.float32) > 0.5
    sample_keys = jax.random.split(k_sample, len(rows))

    def errors(videos):
        wrong = (videos > 0.5) != real  # [B, horizon, H, W, C]
        return {"pixel_error_by_k": wrong.mean((0, 2, 3, 4)).tolist(),
                "pixel_error_by_k_and_channel": wrong.mean((0, 2, 3)).tolist(),
                "pixel_error_by_k_and_task": {
                    TASKS[t]: wrong[tasks == t].mean((0, 2, 3, 4)).tolist()
                    for t in range(len(TASKS)) if (tasks == t).any()},
                "exact_frame_rate_by_k": (~wrong.any((2, 3, 4))).mean(0).tolist(),
                # Per-pixel error favours blank channels (one ball pixel in 100); a
                # channel exactly right says whether the object was drawn in its place.
                "channel_exact_rate_by_k": (~wrong.any((2, 3))).mean(0).tolist()}

    copy = errors(np.repeat(np.asarray(frames, np.float32)[:, None], args.horizon, 1))
    table, videos_by_steps = [], {}
    for num_steps in tqdm(sample_steps, desc="sampling"):
        sampler = jax.jit(jax.vmap(lambda p, f, c, k, n=num_steps: model.sample(p, f, c, k, n),
                                   in_axes=(None, 0, 0, 0)))
        t0 = time.perf_counter()
        videos = np.asarray(jax.block_until_ready(sampler(params, frames, tasks, sample_keys)))
        compile_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        for _ in range(args.timing_repeats):
            jax.block_until_ready(sampler(params, frames, tasks, sample_keys))
        seconds = (time.perf_counter() - t0) / args.timing_repeats
        videos_by_steps[num_steps] = videos
        err = errors(videos)
        table.append({"num_steps": num_steps, "batch": len(rows),
                      "seconds_per_batch": seconds,
                      "frames_per_s": len(rows) * args.horizon / seconds,
                      "clips_per_s": len(rows) / seconds, "first_call_s": compile_s,
                      "pixel_error": float(np.mean(err["pixel_error_by_k"])),
                      "exact_frame_rate": float(np.mean(err["exact_frame_rate_by_k"])),
                      "channel_exact_rate": np.mean(err["channel_exact_rate_by_k"], 0).tolist(),
                      **err})
    names = CHANNELS.get(args.env, [f"ch{c}" for c in range(frames.shape[-1])])

    name = "video_sampling_" + args.env.split(":")[-1] + args.tag
    record = {
        "env": args.env,
        "algorithm": "task-conditioned video diffusion (v-prediction, cosine schedule, "
                     "DDIM eta=0), tasks: " + ", ".join(f"{i}={t}" for i, t in enumerate(TASKS)),
        "config": {**vars(args), "uct": uct, "num_params": num_params},
        "data": data_info,
        "train_loss": losses[::max(1, len(losses) // 200)].tolist(),
        "train_loss_last_100": float(losses[-100:].mean()),
        "horizon_k": list(range(1, args.horizon + 1)),
        "copy_current_frame": copy,
        "sampling": table,
        "channels_order": names,
        "times_s": {"collect": collect_s, "train": fit_s,
                    "train_per_step": fit_s / max(1, len(losses))},
        "device": device_name(), "device_kind": str(jax.devices()[0]), "jax": jax.__version__,
        # The machine may be shared: its load says how far the timings are from idle.
        "load_average_1_5_15_min": {"start": list(load_start), "end": list(os.getloadavg())},
        "wall_time_s": time.perf_counter() - start,
    }
    os.makedirs(args.out, exist_ok=True)
    print(markdown(record))
    write_result(os.path.join(args.out, name + ".json"), record, markdown)
    plot(record, frames, future, tasks, videos_by_steps, os.path.join(args.out, name + ".png"))
    tqdm.write(f"wrote {name}.json/.png in {args.out} ({record['wall_time_s']:.0f} s)")
    return record


def plot(record, frames, future, tasks, videos_by_steps, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ks = record["horizon_k"]
    steps = [r["num_steps"] for r in record["sampling"]]
    fig = plt.figure(figsize=(11, 9.5))
    grid = fig.add_gridspec(3, 2, height_ratios=[1.2, 1.4, 1.4])
    ax = fig.add_subplot(grid[0, 0])
    for i, r in enumerate(record["sampling"]):
        ax.plot(ks, r["pixel_error_by_k"], "o-", ms=3, color=plt.cm.viridis(i / len(steps)),
                label=f"{r['num_steps']} DDIM steps")
    ax.plot(ks, record["copy_current_frame"]["pixel_error_by_k"], "k--", label="copy frame 0")
    ax.set_xlabel("frame k ahead")
    ax.set_ylabel("pixel error rate (held-out)")
    ax.set_title("generated frame k vs real frame k", fontsize=10)
    ax.legend(fontsize=7)
    ax = fig.add_subplot(grid[0, 1])
    ax.plot(steps, [r["frames_per_s"] for r in record["sampling"]], "o-", color="C0")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("DDIM steps")
    ax.set_ylabel("frames generated / s", color="C0")
    twin = ax.twinx()
    twin.plot(steps, [r["pixel_error"] for r in record["sampling"]], "s-", color="C3")
    twin.axhline(np.mean(record["copy_current_frame"]["pixel_error_by_k"]), color="C3", ls=":")
    twin.set_ylabel("mean pixel error (dotted: copy)", color="C3")
    ax.set_title(f"sampling cost and quality, batch {record['sampling'][0]['batch']}, "
                 f"{record['device']}", fontsize=9)
    best = max(videos_by_steps)
    for row, task in enumerate((0, 1)):
        picks = np.flatnonzero(tasks == task)
        if not len(picks):
            continue
        i = picks[0]
        first = np.asarray(frames[i], np.float32)[None]
        video = videos_by_steps[best][i]
        rows = [strip(np.concatenate([first, np.asarray(future[i], np.float32)])),
                strip(np.concatenate([first, (video > 0.5).astype(np.float32)])),
                strip(np.concatenate([first, video]))]
        gap = np.ones((1, rows[0].shape[1], 3))
        ax = fig.add_subplot(grid[1 + row, :])
        ax.imshow(np.concatenate([rows[0], gap, rows[1], gap, rows[2]], 0),
                  interpolation="nearest")
        ax.set_axis_off()
        ax.set_title(f"{TASKS[task]}, frames 0..{len(ks)}: real; generated ({best} DDIM "
                     f"steps) thresholded at 0.5; generated as sampled", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()

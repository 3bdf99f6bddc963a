"""Frame model on MinAtar: how far ahead can it draw the game, and can a planner play on it?

1. Data: episodes of uniformly random play and of a planner on the true model (the
   simulator), as `jwm.agents.demonstrations`; whole episodes are held out for testing.
2. Training: `jwm.models.frame_model` fitted with `fit_frame_model` (teacher-forced
   plus free-running prediction over clips of ``--clip-length`` steps).
3. (a) Free-running prediction on the held-out episodes: from every start the model
   encodes one real frame and rolls through the real actions for ``k = 1..--horizon``
   steps; the pixel error rate (thresholded at 0.5), the Bernoulli NLL (nats per frame)
   and the fraction of exactly right frames, against copying the last real frame.
   `jwm.eval.multistep_error` gives the Euclidean state error and the return error too.
   (b) Episode returns of the same planner on the frame model, on the true model, and
   of random play. (c) A PNG of the error curves and a strip of real and predicted
   frames (channels as colours).

Writes ``experiments/results/frame_model_<env>.json``, its Markdown (`markdown`) and
``.png``.

    python experiments/frame_model.py                        # Breakout-MinAtar, ~10 min, 2 cores
    python experiments/frame_model.py --env gymnax:Asterix-MinAtar
    python experiments/frame_model.py --train-steps 20000 --random-episodes 256 \\
        --planner-episodes 96 --latent-channels 32 --channels 32 --eval-episodes 16
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from tqdm.auto import tqdm

import jwm
import jwm.eval
from jwm.agents import demonstrations, planner_policy, stateless_policy
from jwm.models.frame_model import frame_model
from jwm.models.frame_train import episode_clips, fit_frame_model
from jwm.device import device_name

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # results_io, beside this file
from results_io import num, pct, table, write_result  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
TASKS = {0: "random", 1: "planner_then_random"}


def threshold(text):
    return None if text.lower() == "none" else float(text)


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--env", default="gymnax:Breakout-MinAtar")
    p.add_argument("--seed", type=int, default=0)
    data = p.add_argument_group("data")
    data.add_argument("--random-episodes", type=int, default=256)
    data.add_argument("--planner-episodes", type=int, default=48,
                      help="episodes of the planner, switching to random play at a random step")
    data.add_argument("--planner-epsilon", type=float, default=0.1,
                      help="chance of a random action in the planner's episodes")
    data.add_argument("--num-steps", type=int, default=200, help="steps per collected episode")
    data.add_argument("--held-out", type=float, default=0.2, help="fraction of episodes")
    model = p.add_argument_group("model and training")
    model.add_argument("--latent-channels", type=int, default=16,
                       help="latent features per cell of the half-resolution grid")
    model.add_argument("--channels", type=int, default=16)
    model.add_argument("--hidden", type=int, default=32, help="dynamics channels")
    model.add_argument("--layers", type=int, default=1, help="dynamics hidden layers")
    model.add_argument("--head-hidden", type=int, default=32)
    model.add_argument("--continue-threshold", type=threshold, default=0.5,
                       help="discount = continue probability > this; 'none': the probability")
    model.add_argument("--clip-length", type=int, default=10)
    model.add_argument("--train-steps", type=int, default=3000)
    model.add_argument("--batch-size", type=int, default=16)
    model.add_argument("--learning-rate", type=float, default=1e-3)
    model.add_argument("--free-weight", type=float, default=1.0)
    model.add_argument("--reward-weight", type=float, default=10.0)
    model.add_argument("--continue-weight", type=float, default=10.0)
    ev = p.add_argument_group("evaluation")
    ev.add_argument("--horizon", type=int, default=20, help="longest prediction k")
    ev.add_argument("--planner", choices=("mcts", "random_shooting"), default="mcts")
    ev.add_argument("--plan-horizon", type=int, default=10,
                    help="MCTS rollout depth, or the random-shooting horizon")
    ev.add_argument("--simulations", type=int, default=32, help="MCTS simulations")
    ev.add_argument("--rollouts", type=int, default=8, help="MCTS rollouts per leaf (max)")
    ev.add_argument("--population", type=int, default=256, help="random shooting sequences")
    ev.add_argument("--survival-value", type=float, default=10.0,
                    help="value of a latent the model has not ended (0: none); losing "
                         "the ball costs no reward, so without it planners let it fall")
    ev.add_argument("--eval-episodes", type=int, default=4)
    ev.add_argument("--eval-steps", type=int, default=200)
    return p.parse_args(argv)


def planner_config(args) -> dict:
    if args.planner == "random_shooting":
        return dict(horizon=args.plan_horizon, population=args.population)
    return dict(num_simulations=args.simulations, rule="uct", rollout_depth=args.plan_horizon,
                num_rollouts=args.rollouts, rollout_aggregate="max", temperature=0.0)


def make_planner(model, env, args):
    """The one planner configuration every model is planned with. The constant value
    at the end of a look-ahead counts only while the model's discounts are 1, so it
    rewards staying alive."""
    survival = args.survival_value
    value_fn = (lambda params, latent: jnp.float32(survival)) if survival else None
    build = getattr(jwm.planners, args.planner)
    return build(model, env.action_space, value_fn=value_fn, **planner_config(args))


def bar_callback(bar):
    return lambda step: bar.update(1)


def exploring(policy, action_space, epsilon, num_steps):
    """``policy`` with a uniformly random action in place of its own with probability
    ``epsilon``, and only random actions after a step drawn uniformly in
    ``[0, num_steps)`` per episode. A planner rarely loses the ball, so without this
    the data would show terminations only from the opening (random play's): the model
    then learns that a ball in play mid-game always survives, and plans on that."""

    def init(params, key):
        k_policy, k_switch = jax.random.split(key)
        switch = jax.random.randint(k_switch, (), 0, num_steps)
        return policy.init(params, k_policy), jnp.zeros((), jnp.int32), switch

    def act(params, carry, obs, key):
        inner, t, switch = carry
        k_act, k_coin, k_random = jax.random.split(key, 3)
        action, inner, info = policy.act(params, inner, obs, k_act)
        explore = (jax.random.uniform(k_coin) < epsilon) | (t >= switch)
        action = jnp.where(explore, action_space.sample(k_random), action)
        return action, (inner, t + 1, switch), info

    return dataclasses.replace(policy, init=init, act=act)


def collect(env, args, key):
    """Random-play and true-model-planner episodes, labelled task 0 and 1."""
    random_policy = stateless_policy(lambda p, obs, k: env.action_space.sample(k))
    true = jwm.models.true_model(env)
    expert = exploring(planner_policy(true, make_planner(true, env, args)), env.action_space,
                       args.planner_epsilon, args.num_steps)
    parts = []
    k_random, k_expert = jax.random.split(key)
    for policy, episodes, task, k in ((random_policy, args.random_episodes, 0, k_random),
                                      (expert, args.planner_episodes, 1, k_expert)):
        if episodes == 0:
            continue
        run = jax.jit(lambda kk, policy=policy, episodes=episodes, task=task:
                      demonstrations.collect(env, policy, (), kk, episodes=episodes,
                                             num_steps=args.num_steps, task=task))
        parts.append(jax.device_get(run(k)))
    return demonstrations.concatenate(*parts)


def prediction_errors(model, params, demos, horizon):
    """Free-running errors from every start of every held-out episode.

    Returns a dict of ``[N, T, horizon]`` NumPy arrays: ``nll`` (nats per frame),
    ``pixel_error`` and ``exact`` of the model, ``copy_pixel_error`` and ``copy_exact``
    of repeating the start frame, and ``valid`` (all ``k`` steps inside the episode).
    """
    obs = jnp.asarray(demos.observations, jnp.float32)
    actions, active = jnp.asarray(demos.actions), jnp.asarray(demos.active)
    pad = lambda x: jnp.concatenate([x, jnp.repeat(x[:, -1:], horizon, 1)], 1)
    obs_p, act_p = pad(obs), pad(actions)
    ok_p = jnp.concatenate([active, jnp.zeros((active.shape[0], horizon), bool)], 1)
    starts = jnp.arange(active.shape[1])
    pixels = lambda x: x.mean((-3, -2, -1))

    def per_episode(xs):
        o, a, ok = xs

        def at(s):
            window = lambda x, off: jax.lax.dynamic_slice_in_dim(x, s + off, horizon, 0)
            real = window(o, 1) > 0.5

            def body(z, action):
                z, _, _ = model.step(params, z, action, jax.random.key(0))
                return z, z

            _, zs = jax.lax.scan(body, model.encode(params, o[s]), window(a, 0))
            logits = model.decode_logits(params, zs)
            nll = optax.sigmoid_binary_cross_entropy(logits, real).sum((-3, -2, -1))
            wrong = (logits > 0) != real
            copy_wrong = (o[s] > 0.5) != real
            return dict(nll=nll, pixel_error=pixels(wrong), exact=~wrong.any((-3, -2, -1)),
                        copy_pixel_error=pixels(copy_wrong),
                        copy_exact=~copy_wrong.any((-3, -2, -1)),
                        valid=jnp.cumprod(window(ok, 0).astype(jnp.int32)) > 0)

        return jax.vmap(at)(starts)

    out = jax.jit(lambda xs: jax.lax.map(per_episode, xs))((obs_p, act_p, ok_p))
    return jax.tree.map(np.asarray, out)


def summarise_errors(errors, mask_episodes=None):
    valid = errors["valid"] if mask_episodes is None else \
        errors["valid"] & mask_episodes[:, None, None]
    count = valid.sum((0, 1))
    mean = lambda x: ((np.where(valid, x, 0.0)).sum((0, 1)) / np.maximum(count, 1)).tolist()
    return {"count": count.tolist(), "model_pixel_error": mean(errors["pixel_error"]),
            "copy_pixel_error": mean(errors["copy_pixel_error"]),
            "model_nll": mean(errors["nll"]), "model_exact_frame": mean(errors["exact"]),
            "copy_exact_frame": mean(errors["copy_exact"])}


def multistep(model, params, demos, horizon):
    """`jwm.eval.multistep_error` of the model and of copying the last frame."""
    obs = jnp.asarray(demos.observations, jnp.float32)
    flat = obs.reshape(obs.shape[:2] + (-1,))
    # multistep_error passes encode the flattened observation it compares with.
    flat_model = dataclasses.replace(
        model, encode=lambda p, o: model.encode(p, o.reshape(model.obs_shape)))
    decode = lambda z: model.decode(params, z).reshape(-1)
    copy = jwm.models.WorldModel(init=lambda k: (), encode=lambda p, o: o,
                                 step=lambda p, z, a, k: (z, jnp.zeros(()), jnp.ones(())))
    kw = dict(horizon=horizon, active=demos.active)
    ours = jwm.eval.multistep_error(flat_model, params, flat, demos.actions, demos.rewards,
                                    decode=decode, **kw)
    base = jwm.eval.multistep_error(copy, (), flat, demos.actions, demos.rewards,
                                    decode=lambda z: z, **kw)
    return {"model_state_error": np.asarray(ours.state_error).tolist(),
            "copy_state_error": np.asarray(base.state_error).tolist(),
            "model_return_error": np.asarray(ours.return_error).tolist(),
            "zero_reward_return_error": np.asarray(base.return_error).tolist()}


def play(env, model, params, args, key, label):
    """Returns of ``--eval-episodes`` MPC episodes of the planner on ``model``."""
    planner = make_planner(model, env, args)
    with tqdm(total=args.eval_steps, desc=label) as bar:
        episode = lambda k: jwm.agents.mpc_episode(env, model, planner, params, k,
                                                   num_steps=args.eval_steps,
                                                   progress=bar_callback(bar))
        ep = jax.jit(jax.vmap(episode))(jax.random.split(key, args.eval_episodes))
        returns = np.asarray(ep.total_return, np.float64)
    return returns, np.asarray(ep.length)


def render(frame, palette):
    """``[H, W, C]`` probabilities -> RGB on black, each channel its own colour."""
    return np.clip(np.einsum("hwc,cr->hwr", np.asarray(frame, np.float64), palette), 0, 1)


def strip_example(model, params, demos, horizon):
    """Real and predicted frames of one held-out planner episode over ``0..horizon``."""
    active = np.asarray(demos.active)
    task = np.asarray(demos.task)
    lengths = active.sum(1)
    order = np.argsort(-(lengths + 1000 * (task == 1)))
    n = int(order[0])
    start = int(max(0, min(10, lengths[n] - horizon)))
    steps = int(min(horizon, lengths[n] - start))
    obs = np.asarray(demos.observations[n], np.float32)
    z = model.encode(params, obs[start])
    preds = [np.asarray(model.decode(params, z))]
    for t in range(steps):
        z, _, _ = model.step(params, z, demos.actions[n, start + t], jax.random.key(0))
        preds.append(np.asarray(model.decode(params, z)))
    return obs[start:start + steps + 1], np.stack(preds)


def plot(record, real, pred, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    pred_k = record["prediction"]["all"]
    k = np.arange(1, len(pred_k["model_pixel_error"]) + 1)
    c = real.shape[-1]
    palette = np.array(plt.get_cmap("tab10").colors[:c]) if c <= 10 else \
        plt.get_cmap("hsv")(np.linspace(0, 1, c, endpoint=False))[:, :3]
    show = [i for i in (0, 1, 2, 3, 4, 6, 8, 10, 12, 16, 20, 25, 30) if i < len(real)]
    fig = plt.figure(figsize=(12, 7.5))
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.2, 1])
    axes = top.subplots(1, 2)
    for ax, metric, ylabel in ((axes[0], "pixel_error", "pixels wrong (%)"),
                               (axes[1], "exact_frame", "frames exactly right (%)")):
        ax.plot(k, 100 * np.asarray(pred_k[f"model_{metric}"]), "o-", ms=3,
                label="frame model (free-running)")
        ax.plot(k, 100 * np.asarray(pred_k[f"copy_{metric}"]), "s--", ms=3, color="0.5",
                label="copy the last real frame")
        ax.set_xlabel("steps ahead k")
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=8)
    axes[0].set_ylim(bottom=0)
    axes[1].set_ylim(0, 100)
    axes[0].set_title("held-out episodes", fontsize=10)
    strip = bottom.subplots(2, len(show), squeeze=False)
    bottom.suptitle("one held-out planner episode: real frames (top) and the model's, "
                    "encoded at k=0 and rolled through the real actions (bottom)", fontsize=9)
    bottom.legend(handles=[Patch(color=palette[i], label=f"channel {i}") for i in range(c)],
                  loc="lower center", ncol=c, fontsize=8, frameon=False)
    for j, i in enumerate(show):
        for row, frames in enumerate((real, pred)):
            a = strip[row, j]
            a.imshow(render(frames[i], palette), interpolation="nearest")
            a.set_xticks([])
            a.set_yticks([])
            if row == 0:
                a.set_title(f"k={i}", fontsize=9)
        strip[0, 0].set_ylabel("real", fontsize=9)
        strip[1, 0].set_ylabel("predicted", fontsize=9)
    plan = record["planning"]
    top.suptitle(f"{record['env']}: frame model ({args_summary(record)}); mean returns of "
                 f"{record['planner_config']['planner']}: frame model "
                 f"{plan['frame_model']['mean']:.1f}, true model {plan['true_model']['mean']:.1f}"
                 f"; random play {plan['random']['mean']:.1f}", fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def args_summary(record):
    c = record["config"]
    return (f"{c['train_steps']} steps, clips of {c['clip_length']}, "
            f"{record['data']['train_clips']} clips")


def markdown(record: dict) -> str:
    """The model's size and training, its open-loop prediction error k steps ahead on
    held-out frames beside copying the current frame (``prediction``), and the return
    of planning on each model (``planning``)."""
    c, pc = record["config"], record.get("planner_config", {})
    out = [f"**{record['env']}**: {record['algorithm']}; {num(record['num_parameters'])} "
           f"parameters, {num(c['train_steps'])} training steps on clips of "
           f"{c['clip_length']} frames."]
    rows = []
    for subset in ("all", "random", "planner"):
        d = record["prediction"].get(subset)
        n = len(d["model_pixel_error"]) if d else 0
        for k in sorted({1, 5, 10, n} & set(range(1, n + 1))):
            rows.append([subset, k, pct(d["model_pixel_error"][k - 1], 2),
                         pct(d["copy_pixel_error"][k - 1], 2), pct(d["model_exact_frame"][k - 1])])
    out += ["", "Open-loop prediction of held-out frames, k steps ahead:", "",
            table(["data", "k", "model pixel error", "copy-current-frame pixel error",
                   "model exact frames"], rows)]
    rows = [[name, num(d.get("mean"), 2), len(d.get("returns", []))]
            for name, d in record["planning"].items()]
    out += ["", f"Planning with {pc.get('planner', 'the planner')} "
            f"({pc.get('num_simulations')} simulations) on each model:", "",
            table(["model", "mean return", "episodes"], rows)]
    return "\n".join(out) + "\n"


def main(argv=None):
    args = parse(argv)
    os.makedirs(RESULTS, exist_ok=True)
    t_start = time.perf_counter()
    walls = {}
    env = jwm.envs.make(args.env)
    key = jax.random.key(args.seed)
    k_data, k_split, k_init, k_fit, k_true, k_model, k_random = jax.random.split(key, 7)

    tick = time.perf_counter()
    demos = collect(env, args, k_data)
    train, held = demonstrations.split(demos, args.held_out, k_split)
    clips = episode_clips(train.observations, train.actions, train.rewards, train.active,
                          train.terminated, length=args.clip_length)
    walls["collect"] = time.perf_counter() - tick
    per_task = {TASKS[t]: {"episodes": int((demos.task == t).sum()),
                           "mean_return": float(np.asarray(demos.rewards)[demos.task == t]
                                                .sum(1).mean()),
                           "mean_length": float(np.asarray(demos.active)[demos.task == t]
                                                .sum(1).mean())}
                for t in TASKS if (demos.task == t).any()}
    tqdm.write(f"data: {per_task}; {clips.rewards.shape[0]} training clips")

    model = frame_model(env.observation_space, env.action_space,
                        latent_channels=args.latent_channels, channels=args.channels,
                        hidden=args.hidden, layers=args.layers, head_hidden=args.head_hidden,
                        continue_threshold=args.continue_threshold)
    params = model.init(k_init)
    tick = time.perf_counter()
    with tqdm(total=args.train_steps, desc="training") as bar:
        params, info = fit_frame_model(
            model, params, clips, k_fit, steps=args.train_steps, batch_size=args.batch_size,
            learning_rate=args.learning_rate, progress=bar_callback(bar),
            free_weight=args.free_weight, reward_weight=args.reward_weight,
            continue_weight=args.continue_weight)
        info = jax.device_get(info)
    walls["train"] = time.perf_counter() - tick
    every = max(1, args.train_steps // 100)
    losses = {f: np.asarray(getattr(info, f))[::every].tolist() for f in info._fields}
    final = {f: float(np.asarray(getattr(info, f))[-every:].mean()) for f in info._fields}
    tqdm.write(f"final training losses (last {every} steps): {final}")

    tick = time.perf_counter()
    horizon = min(args.horizon, args.num_steps)
    errors = prediction_errors(model, params, held, horizon)
    prediction = {"all": summarise_errors(errors)}
    for t, label in TASKS.items():
        if (held.task == t).any():
            prediction[label] = summarise_errors(errors, np.asarray(held.task) == t)
    prediction["multistep_error"] = multistep(model, params, held, horizon)
    walls["prediction"] = time.perf_counter() - tick
    p = prediction["all"]
    for i in sorted({0, 4, 9, horizon - 1} & set(range(horizon))):
        tqdm.write(f"k={i + 1:2d}: pixels wrong {100 * p['model_pixel_error'][i]:.2f}% (copy "
                   f"{100 * p['copy_pixel_error'][i]:.2f}%), exact frames "
                   f"{100 * p['model_exact_frame'][i]:.1f}% (copy "
                   f"{100 * p['copy_exact_frame'][i]:.1f}%), NLL {p['model_nll'][i]:.2f}")

    tick = time.perf_counter()
    true = jwm.models.true_model(env)
    planning = {}
    for label, m, prm, k in (("frame_model", model, params, k_model),
                             ("true_model", true, (), k_true)):
        returns, lengths = play(env, m, prm, args, k, f"{args.planner} on {label}")
        planning[label] = {"returns": returns.tolist(), "lengths": lengths.tolist(),
                           "mean": float(returns.mean())}
    random_policy = stateless_policy(lambda prm, obs, k: env.action_space.sample(k))
    returns = np.asarray(jwm.agents.evaluate(env, random_policy, (), k_random,
                                             episodes=max(args.eval_episodes, 16),
                                             num_steps=args.eval_steps), np.float64)
    planning["random"] = {"returns": returns.tolist(), "mean": float(returns.mean())}
    walls["planning"] = time.perf_counter() - tick
    tqdm.write("returns: " + ", ".join(f"{k} {v['mean']:.2f}" for k, v in planning.items()))

    name = args.env.split(":")[-1]
    record = {
        "env": args.env,
        "algorithm": "frame model (CNN encoder/decoder, grid latent, residual convolutional "
                     "dynamics, per-cell reward and end heads), "
                     "teacher-forced + free-running multi-step loss",
        "config": vars(args),
        "planner_config": {"planner": args.planner, "survival_value": args.survival_value,
                           **planner_config(args)},
        "model_config": model.config,
        "num_parameters": int(sum(x.size for x in jax.tree.leaves(params))),
        "data": {"per_task": per_task, "train_episodes": int(train.task.shape[0]),
                 "held_out_episodes": int(held.task.shape[0]),
                 "train_clips": int(clips.rewards.shape[0])},
        "training": {"final": final, "every": every, "losses": losses},
        "prediction": prediction,
        "planning": planning,
        "wall_time_s": {**walls, "total": time.perf_counter() - t_start},
        "device": device_name(), "jax": jax.__version__,
    }
    real, pred = strip_example(model, params, held, horizon)
    write_result(os.path.join(RESULTS, f"frame_model_{name}.json"), record, markdown)
    plot(record, real, pred, os.path.join(RESULTS, f"frame_model_{name}.png"))
    tqdm.write(f"wrote {os.path.join(RESULTS, f'frame_model_{name}.json')} "
               f"({record['wall_time_s']['total']:.0f} s)")


if __name__ == "__main__":
    main()

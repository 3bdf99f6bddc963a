"""Benchmark: imagined latent steps per second, with gradients, for RSSM sizes.

One timed call is what a Dreamer update spends on imagination: ``B`` start latents
rolled out ``H`` steps by the actor inside the RSSM (`jwm.imagination.imagine`), the
lambda-return of the imagined rewards and critic values, and its gradient with respect
to the actor through the model's dynamics (a continuous action space, so the gradient
flows through every GRU step). Throughput is ``B * H`` imagined steps per second.

Sizes (deter / hidden / stoch x classes / units):

* ``jwm default``  -- what the Dreamer recipe trains with on a CPU: 128 / 64 / 16x4 / 64
* ``size1m``       -- DreamerV3's smallest preset: 512 / 64 / 32x4 / 64 (8 GRU blocks)
* ``size12m``      -- DreamerV3's 12M preset: 2048 / 256 / 32x16 / 256 (8 GRU blocks)

This is a report, not a comparison: no peer runs the same imagination step in JAX here
(DreamerV3's own code needs its embodied/ninjax stack). On a lent GPU, run it there too
and keep the results side by side under ``benchmarks/results/``.

    python benchmarks/imagination.py [--starts 1024] [--horizon 15] [--repeats 10]
"""

from __future__ import annotations

import argparse
import os
import sys

import jax

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (blocking, device_info, device_text, rewrite_markdown,  # noqa: E402
                    time_interleaved, write_results)

import jwm  # noqa: E402
from jwm.imagination import actor_critic, imagine, lambda_returns  # noqa: E402
from jwm.models import rssm_model  # noqa: E402

SIZES = {
    "jwm default": dict(deter=128, hidden=64, stoch=16, classes=4, units=64, blocks=4),
    "size1m": dict(deter=512, hidden=64, stoch=32, classes=4, units=64, blocks=8),
    "size12m": dict(deter=2048, hidden=256, stoch=32, classes=16, units=256, blocks=8),
}


def imagination_step(size: dict, starts: int, horizon: int):
    env = jwm.envs.make("gymnax:Pendulum-v1")
    model = rssm_model(env.observation_space, env.action_space, **size)
    params = model.init(jax.random.key(0))
    behavior = actor_critic(model.features, model.feature_dim, env.action_space,
                            actor_hidden_sizes=(size["units"],) * 2,
                            critic_hidden_sizes=(size["units"],) * 2, horizon=horizon)
    state = behavior.init(jax.random.key(1))
    obs = jax.random.normal(jax.random.key(2), (starts, 3))
    start_latents = jax.vmap(model.encode, in_axes=(None, 0))(params, obs)

    def objective(actor, key):
        policy = lambda latent, k: behavior.act(actor, model.features(latent), k)
        traj = imagine(model, params, policy, start_latents, horizon, key)
        values = behavior.value(state.critic, model.features(traj.latents))
        return lambda_returns(traj.rewards, 0.99 * traj.discounts, values).mean()

    step = jax.jit(jax.value_and_grad(objective))
    return step, state.actor, sum(x.size for x in jax.tree.leaves(params))


def markdown(result: dict) -> str:
    """The table of a result: per model size its widths, parameter count, the median
    time of one imagination step with gradients and the imagined steps per second."""
    load_start, load_end = result["loadavg_start"], result["loadavg_end"]
    lines = [f"# Imagined latent steps per second, with gradients ({result['starts']} starts x "
             f"{result['horizon']} steps)", "",
             f"Device: {device_text(result['device'])}; load {load_start[0]:.1f} -> "
             f"{load_end[0]:.1f}.", "",
             "| size | deter | hidden | stoch x classes | model params | median ms | "
             "imagined steps/s |", "|---|---:|---:|---|---:|---:|---:|"]
    for name, r in result["rows"].items():
        lines.append(f"| {name} | {r['deter']} | {r['hidden']} | {r['stoch']}x{r['classes']} | "
                     f"{r['model_params']:,} | {r['median_ms']:.1f} | "
                     f"{r['imagined_steps_per_s']:,.0f} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--starts", type=int, default=1024)
    parser.add_argument("--horizon", type=int, default=15)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--sizes", nargs="*", default=list(SIZES))
    parser.add_argument("--markdown-only", action="store_true",
                        help="rewrite imagination.md from imagination.json (no timing)")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = parser.parse_args(argv)
    if args.markdown_only:
        return rewrite_markdown(args.out, "imagination", markdown)

    fns, params = {}, {}
    for name in args.sizes:
        step, actor, params[name] = imagination_step(SIZES[name], args.starts, args.horizon)
        fns[name] = blocking(step, actor, jax.random.key(3))
    load_start = os.getloadavg()
    stats, _ = time_interleaved(fns, args.repeats, rounds=min(args.repeats, 5), warmup=1,
                                progress=True)
    load_end = os.getloadavg()
    steps = args.starts * args.horizon
    rows = {name: {**SIZES[name], "model_params": int(params[name]), **stats[name],
                   "imagined_steps_per_s": steps / (stats[name]["median_ms"] / 1e3)}
            for name in args.sizes}
    result = {"benchmark": "imagination", "starts": args.starts, "horizon": args.horizon,
              "rows": rows, "device": device_info(), "loadavg_start": load_start,
              "loadavg_end": load_end}
    write_results(args.out, "imagination", result, markdown(result))
    return result


if __name__ == "__main__":
    main()

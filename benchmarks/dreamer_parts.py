"""Benchmark: where one Dreamer update's time goes, part by part.

The recipe's CartPole-v1 agent (`jwm.recipes.DREAMER`: RSSM deter 128 in 4 blocks,
16 x 4 latents, MLPs of 64, a 16 x 32 batch, imagination horizon 15) is initialised
(its random prefill fills the buffer), a fixed 16 x 32 batch is cut from the buffer, and
each part of an update runs as its own jitted function on it:

* ``filter``: the encoder and the posterior filter over the batch (the ``[B, T]`` scan
  of `observe_sequence`), forward only;
* ``world model loss``: the filter plus decoder, reward, continue and KL terms, forward;
* ``world model grad``: the same, forward and backward;
* ``world model optimiser``: clipping and Adam on those gradients;
* ``imagination``: the actor rolled 15 steps in the model from the batch's 512
  posterior states, forward;
* ``imagination, states only``: the same rollout with the reward and continue heads
  left out (the actor and the RSSM's prior steps): the rest of ``imagination`` is what
  the heads cost;
* ``actor-critic update``: `behavior.update` (the imagination, λ-returns, critic and
  actor losses, their gradients, both optimisers and the target critic);
* ``update``: all of an update in one jitted function (sampling left out), which is
  what the agent runs; its difference from the parts' sum is what fusing them saves;
* ``iteration of 25 phases``: the agent's own step, shortened to 25 phases of 8 env
  steps in 4 envs (each observation filtered by the model, the actor acting, the rows
  stored) and one update each, then its evaluation: less the evaluation, the time of
  a phase inside the agent and the training env steps per second;
* ``evaluation``: the iteration's closing evaluation (8 episodes of up to 500 steps).

Every part is timed after compilation, round-robin in one schedule (`time_interleaved`),
so a change of the machine's load hits all parts alike. ``per env step`` divides by
the env steps one update pays for (``train_every`` = 8 at replay ratio 64).

    python benchmarks/dreamer_parts.py [--repeats 20] [--tag _before] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (blocking, device_info, rewrite_markdown, time_interleaved,  # noqa: E402
                    write_results)

from jwm.agents.episode import evaluate  # noqa: E402
from jwm.imagination import imagine  # noqa: E402
from jwm.models.rssm_train import Sequences, observe_sequence, world_model_loss  # noqa: E402
from jwm.recipes import DREAMER  # noqa: E402
from jwm.recipes.dreamer import build_parts  # noqa: E402

ENV = "gymnax:CartPole-v1"


def _batch(buffer_state, batch_size: int, seq_len: int) -> Sequences:
    """``[batch_size, seq_len]`` windows of the prefilled buffer, spread over its envs."""
    rows = buffer_state.experience
    num_envs, filled = rows.obs.shape[0], int(buffer_state.current_index)
    starts = np.linspace(0, max(filled - seq_len, 0), batch_size // num_envs + 1).astype(int)
    env_index, start = np.meshgrid(np.arange(num_envs), starts, indexing="ij")
    env_index, start = env_index.reshape(-1)[:batch_size], start.reshape(-1)[:batch_size]
    window = start[:, None] + np.arange(seq_len)
    take = lambda x: x[env_index[:, None], window]  # noqa: E731
    return Sequences(obs=take(rows.obs), prev_action=take(rows.prev_action),
                     reward=take(rows.reward), is_first=take(rows.is_first),
                     is_terminal=take(rows.is_terminal))


def parts(overrides: dict | None = None):
    """``(functions, info)``: the jitted parts with their arguments bound, as
    zero-argument blocking callables, and the settings they ran with."""
    config = DREAMER.config(ENV, overrides or {})
    agent = DREAMER.agent(config)
    env, model, behavior = build_parts(ENV, config)
    horizon = config["behavior"]["horizon"]
    loop = config["loop"]
    state = jax.jit(agent.init)(jax.random.key(0))
    batch = _batch(state.buffer, loop["batch_size"], loop["seq_len"])
    params, ac_state = state.model_params, state.learner
    tx = optax.chain(optax.clip_by_global_norm(loop["model_grad_clip"]),
                     optax.adam(loop["model_lr"], eps=1e-8))
    opt_state = tx.init(params)
    key = jax.random.key(1)

    def filter_batch(p, b, k):
        return jax.vmap(observe_sequence, in_axes=(None, None, 0, 0, 0, 0))(
            model, p, b.obs, b.prev_action, b.is_first, jax.random.split(k, b.obs.shape[0]))

    def loss(p, b, k):
        return world_model_loss(model, p, b, k)

    def grad(p, b, k):
        return jax.grad(lambda q: loss(q, b, k), has_aux=True)(p)

    grads, (_, posts) = jax.jit(grad)(params, batch, key)
    starts = jax.tree.map(lambda x: x.reshape((-1,) + x.shape[2:]), posts)
    weights = 1.0 - batch.is_terminal.reshape(-1).astype(jnp.float32)

    def optimise(g, o, p):
        updates, o = tx.update(g, o, p)
        return optax.apply_updates(p, updates), o

    def imagine_starts(actor, p, s, k):
        return imagine(model, p, lambda latent, kk: behavior.act(actor, model.features(latent),
                                                                 kk), s, horizon, k)

    def imagine_states(actor, p, s, k):
        def body(latent, kk):
            k_act, k_model = jax.random.split(kk)
            action = behavior.act(actor, model.features(latent), k_act)
            return model.imagine_step(p, latent, action, k_model), action

        def one(latent, kk):
            return jax.lax.scan(body, latent, jax.random.split(kk, horizon))

        return jax.vmap(one)(s, jax.random.split(k, jax.tree.leaves(s)[0].shape[0]))

    def ac_update(a, p, s, k, w):
        return behavior.update(a, model, p, s, k, start_weights=w)

    def update(p, o, a, b, k):
        k_model, k_ac = jax.random.split(k)
        g, (_, posts) = grad(p, b, k_model)
        p, o = optimise(g, o, p)
        s = jax.tree.map(lambda x: x.reshape((-1,) + x.shape[2:]), posts)
        w = 1.0 - b.is_terminal.reshape(-1).astype(jnp.float32)
        return p, o, behavior.update(a, model, p, s, k_ac, start_weights=w)

    policy_params = agent.policy_params(state)

    def evaluation(pp, k):
        return evaluate(env, agent.policy, pp, k, episodes=loop["eval_episodes"],
                        num_steps=loop["eval_steps"] or env.max_episode_steps)

    # One iteration of many phases: less its evaluation and its updates, the rest is
    # the env phases.
    phases = 25
    short_loop = {**(overrides or {}).get("loop", {}), "eval_every": loop["train_every"] * phases,
                  "total_steps": loop["train_every"] * phases}
    short_agent = DREAMER.agent(DREAMER.config(ENV, {**(overrides or {}), "loop": short_loop}))

    functions = {
        "filter": blocking(jax.jit(filter_batch), params, batch, key),
        "world model loss": blocking(jax.jit(loss), params, batch, key),
        "world model grad": blocking(jax.jit(grad), params, batch, key),
        "world model optimiser": blocking(jax.jit(optimise), grads, opt_state, params),
        "imagination": blocking(jax.jit(imagine_starts), ac_state.actor, params, starts, key),
        "imagination, states only": blocking(jax.jit(imagine_states), ac_state.actor, params,
                                             starts, key),
        "actor-critic update": blocking(jax.jit(ac_update), ac_state, params, starts, key,
                                        weights),
        "update": blocking(jax.jit(update), params, opt_state, ac_state, batch, key),
        "evaluation": blocking(jax.jit(evaluation), policy_params, key),
    }
    short_state = jax.jit(short_agent.init)(jax.random.key(0))
    functions[f"iteration of {phases} phases"] = blocking(jax.jit(short_agent.step),
                                                          short_state)
    info = {"config": config, "phases_per_iteration": phases,
            "train_every": loop["train_every"]}
    return functions, info


def markdown(result) -> str:
    rows = result["parts"]
    update = rows["update"]["median_ms"]
    phases = result["phases_per_iteration"]
    iteration = rows[f"iteration of {phases} phases"]["median_ms"]
    evaluation = rows["evaluation"]["median_ms"]
    tag = f" ({result['tag'].strip('_')})" if result["tag"] else ""
    lines = [f"# Dreamer update, part by part{tag} ({result['device']['description']}, "
             f"{result['device']['cpu_count']} cores, jax {result['device']['jax_version']})", "",
             "CartPole-v1, the recipe's sizes; medians of "
             f"{rows['update']['repeats']} timed calls after compilation, round-robin.", "",
             "| part | median (ms) | min (ms) | share of an update |", "|---|---:|---:|---:|"]
    for name in ("filter", "world model loss", "world model grad", "world model optimiser",
                 "imagination", "imagination, states only", "actor-critic update",
                 "update"):
        if name not in rows:    # a part added after a result was recorded
            continue
        r = rows[name]
        lines.append(f"| {name} | {r['median_ms']:.2f} | {r['min_ms']:.2f} | "
                     f"{r['median_ms'] / update:.0%} |")
    per_phase = (iteration - evaluation) / phases
    parts_sum = sum(rows[n]["median_ms"] for n in ("world model grad", "world model optimiser",
                                                    "actor-critic update"))
    lines += ["", f"Sum of world model grad, optimiser and actor-critic update: "
              f"{parts_sum:.2f} ms against {update:.2f} ms as one function.", "",
              f"Inside the agent, one iteration of {phases} phases (each "
              f"{result['train_every']} env steps, the model filtering every observation, "
              f"and one update) and an evaluation: {iteration:.0f} ms; the evaluation alone "
              f"{evaluation:.0f} ms: {per_phase:.1f} ms per phase, against {update:.1f} ms "
              f"(median; min {rows['update']['min_ms']:.1f}) for the update called on its "
              "own, so the env steps cost little beside the update.", "",
              f"Training env steps per second at replay ratio 64 (one update per "
              f"{result['train_every']} env steps, evaluation left out): "
              f"{1e3 * result['train_every'] / per_phase:.0f}."]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--tag", default="", help="suffix of the result files")
    parser.add_argument("--markdown-only", action="store_true",
                        help="rewrite the .md from the .json (no timing)")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(
        os.path.abspath(__file__)), "results"))
    args = parser.parse_args(argv)
    if args.markdown_only:
        return rewrite_markdown(args.out, f"dreamer_parts{args.tag}", markdown)
    functions, info = parts()
    stats, _ = time_interleaved(functions, repeats=args.repeats, rounds=min(args.repeats, 5),
                                warmup=1, progress=True)
    result = {"device": device_info(), "tag": args.tag, "parts": stats,
              "phases_per_iteration": info["phases_per_iteration"],
              "train_every": info["train_every"], "config": info["config"]}
    write_results(args.out, f"dreamer_parts{args.tag}", result, markdown(result))
    return result


if __name__ == "__main__":
    main()

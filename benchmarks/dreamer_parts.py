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

``--baseline REV`` also builds the main parts from an earlier revision of jwm
(`baseline.py`) on the same inputs and times them in the same schedule: a before/after
that a shared machine's drifts cannot fake.

The floor: the update's matrix products, counted from the networks' kernel shapes (a
Dense layer of an ``[n, m]`` kernel costs ``n m`` multiply-adds per row; backward passes
twice its forward), at the machine's measured rate for products of the update's row
counts (512 rows inside the scans, 7,680 over imagined trajectories): what the update
would take if nothing but its matrix products ran, at that rate.

    python benchmarks/dreamer_parts.py [--repeats 20] [--tag _after] [--baseline REV]
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np
import optax

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (blocking, device_info, device_text, rewrite_markdown, time_interleaved,  # noqa: E402
                    write_results)

from baseline import baseline_package  # noqa: E402

ENV = "gymnax:CartPole-v1"
# The parts timed for a baseline revision too (the others need the current agent).
COMPARED = ("filter", "world model grad", "imagination", "actor-critic update", "update")
# The shape of the products timed for the floor's rates: [rows, 192] @ [192, 64], the
# features into a 64-unit layer.
FLOOR_ROWS = {"scan": 512, "trajectories": 512 * 15}


def _matmul_name(rows: int) -> str:
    return f"matmul [{rows} x 192] @ [192 x 64]"


def _model_optimiser(optimizer: dict) -> optax.GradientTransformation:
    """The world model's optimiser as the recipe's optimizer settings make it."""
    return optax.chain(optax.clip_by_global_norm(optimizer["grad_clip"]),
                       optax.adam(optimizer["learning_rate"], eps=1e-8))


def _modules(package: str) -> SimpleNamespace:
    """What the parts need from ``package`` (``jwm`` or a `baseline_package`)."""
    def get(module):
        return importlib.import_module(f"{package}.{module}")

    train = get("models.rssm_train")
    return SimpleNamespace(evaluate=get("agents.episode").evaluate,
                           imagine=get("imagination").imagine, Sequences=train.Sequences,
                           observe_sequence=train.observe_sequence,
                           world_model_loss=train.world_model_loss,
                           DREAMER=get("recipes").DREAMER,
                           build_parts=get("recipes.dreamer").build_parts)


def _batch(buffer_state, batch_size: int, seq_len: int, sequences):
    """``[batch_size, seq_len]`` windows of the prefilled buffer, spread over its envs."""
    rows = buffer_state.experience
    num_envs, filled = rows.obs.shape[0], int(buffer_state.current_index)
    starts = np.linspace(0, max(filled - seq_len, 0), batch_size // num_envs + 1).astype(int)
    env_index, start = np.meshgrid(np.arange(num_envs), starts, indexing="ij")
    env_index, start = env_index.reshape(-1)[:batch_size], start.reshape(-1)[:batch_size]
    window = start[:, None] + np.arange(seq_len)
    take = lambda x: x[env_index[:, None], window]  # noqa: E731
    return sequences(obs=take(rows.obs), prev_action=take(rows.prev_action),
                     reward=take(rows.reward), is_first=take(rows.is_first),
                     is_terminal=take(rows.is_terminal))


def _update_parts(m: SimpleNamespace, config: dict, inputs: dict) -> dict:
    """The update's parts built from the modules ``m``, as jitted blocking callables on
    ``inputs`` (params, optimiser state, actor-critic state, batch, starts, weights,
    key), which every package is handed alike."""
    env, model, behavior = m.build_parts(ENV, config)
    horizon = config["learner"]["horizon"]
    loop = config["loop"]
    tx = _model_optimiser(config["optimizer"])
    batch = m.Sequences(*inputs["batch"])

    def filter_batch(p, b, k):
        return jax.vmap(m.observe_sequence, in_axes=(None, None, 0, 0, 0, 0))(
            model, p, b.obs, b.prev_action, b.is_first, jax.random.split(k, b.obs.shape[0]))

    def loss(p, b, k):
        return m.world_model_loss(model, p, b, k)

    def grad(p, b, k):
        return jax.grad(lambda q: loss(q, b, k), has_aux=True)(p)

    def optimise(g, o, p):
        updates, o = tx.update(g, o, p)
        return optax.apply_updates(p, updates), o

    def imagine_starts(actor, p, s, k):
        return m.imagine(model, p, lambda latent, kk: behavior.act(
            actor, model.features(latent), kk), s, horizon, k)

    def imagine_states(actor, p, s, k):
        def body(latent, kk):
            k_act, k_model = jax.random.split(kk)
            action = behavior.act(actor, model.features(latent), k_act)
            return model.imagine_step(p, latent, action, k_model), action

        def one(latent, kk):   # unrolled as `imagine` unrolls
            return jax.lax.scan(body, latent, jax.random.split(kk, horizon),
                                unroll=min(5, horizon))

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

    # The same arrays in this package's own record types (a scan's carry must keep
    # its type).
    x = dict(inputs, starts=type(model.initial())(*inputs["starts"]),
             ac_state=type(jax.eval_shape(behavior.init, jax.random.key(0)))(
                 *inputs["ac_state"]))
    return {
        "filter": blocking(jax.jit(filter_batch), x["params"], batch, x["key"]),
        "world model loss": blocking(jax.jit(loss), x["params"], batch, x["key"]),
        "world model grad": blocking(jax.jit(grad), x["params"], batch, x["key"]),
        "world model optimiser": blocking(jax.jit(optimise), x["grads"], x["opt_state"],
                                          x["params"]),
        "imagination": blocking(jax.jit(imagine_starts), x["ac_state"].actor, x["params"],
                                x["starts"], x["key"]),
        "imagination, states only": blocking(jax.jit(imagine_states), x["ac_state"].actor,
                                             x["params"], x["starts"], x["key"]),
        "actor-critic update": blocking(jax.jit(ac_update), x["ac_state"], x["params"],
                                        x["starts"], x["key"], x["weights"]),
        "update": blocking(jax.jit(update), x["params"], x["opt_state"], x["ac_state"], batch,
                           x["key"]),
    }


def matmul_work(model, behavior, config: dict) -> dict:
    """GFLOP of an update's matrix products, by the rows they run on: ``scan``, the
    imagination's steps (512 rows each) and the world model's products (its filter
    steps have only 16 rows, and its heads 512: counting all at the 512-row rate
    lowers the floor); ``trajectories``, the products over all imagined states at once
    (7,680 rows)."""
    def kernel_macs(tree, *names):
        return sum(int(np.prod(leaf.shape)) for path, leaf in
                   jax.tree_util.tree_leaves_with_path(tree)
                   if "kernel" in jax.tree_util.keystr(path)
                   and (not names or any(f"'{n}'" in jax.tree_util.keystr(path) for n in names)))

    params = jax.eval_shape(model.init, jax.random.key(0))
    ac = jax.eval_shape(behavior.init, jax.random.key(0))
    actor, critic = kernel_macs(ac.actor), kernel_macs(ac.critic)
    sequence = kernel_macs(params, "in_deter", "in_stoch", "in_action", "gru")
    heads = kernel_macs(params, "reward_head", "continue_head")
    loop = config["loop"]
    horizon, batch = config["learner"]["horizon"], loop["batch_size"] * loop["seq_len"]
    imagined = batch * horizon
    world_model = kernel_macs(params, "encoder", "decoder", "posterior_net", "prior_net",
                              "in_deter", "in_stoch", "in_action", "gru", "reward_head",
                              "continue_head")
    macs = {
        # forward: the actor and a prior step per imagined state
        "scan": imagined * (actor + sequence + kernel_macs(params, "prior_net"))
        # forward and backward (3x) of every world-model product on the batch
        + 3 * batch * world_model,
        # the heads once over the trajectories; the critic forward and backward on
        # H + 1 states, the target critic forward, the actor forward and backward
        "trajectories": imagined * heads + 3 * batch * (horizon + 1) * critic
        + imagined * critic + 3 * imagined * actor,
    }
    return {where: 2 * m / 1e9 for where, m in macs.items()}


MATMULS_PER_CALL = 32


def _matmul(rows: int):
    """`MATMULS_PER_CALL` products ``[rows, 192] @ [192, 64]`` in one call, one per step
    of a scan as in the update's loops: a call's dispatch is not counted as
    multiplying."""
    a = jax.random.normal(jax.random.key(0), (MATMULS_PER_CALL, rows, 192))
    b = jax.random.normal(jax.random.key(1), (192, 64))

    def products(a, b):
        return jax.lax.scan(lambda total, x: (total + jnp.sum(x @ b), None), 0.0, a)[0]

    return blocking(jax.jit(products), a, b)


def parts(overrides: dict | None = None, baseline: str | None = None):
    """``(functions, info)``: the jitted parts with their arguments bound, as
    zero-argument blocking callables, and the settings they ran with. With
    ``baseline`` (a revision), the `COMPARED` parts of that revision too, named
    ``"<part> (baseline)"``."""
    m = _modules("jwm")
    config = m.DREAMER.config(ENV, overrides or {})
    agent = m.DREAMER.agent(config)
    env, model, behavior = m.build_parts(ENV, config)
    loop = config["loop"]
    state = jax.jit(agent.init)(jax.random.key(0))
    batch = _batch(state.buffer, loop["batch_size"], loop["seq_len"], m.Sequences)
    params, key = state.model_params, jax.random.key(1)
    grads, (_, posts) = jax.jit(jax.grad(lambda p: m.world_model_loss(model, p, batch, key),
                                         has_aux=True))(params)
    opt_state = _model_optimiser(config["optimizer"]).init(params)
    inputs = {"params": params, "opt_state": opt_state, "ac_state": state.learner,
              "batch": tuple(batch), "grads": grads, "key": key,
              "starts": jax.tree.map(lambda x: x.reshape((-1,) + x.shape[2:]), posts),
              "weights": 1.0 - batch.is_terminal.reshape(-1).astype(jnp.float32)}
    functions = _update_parts(m, config, inputs)
    if baseline is not None:
        old = _update_parts(_modules(baseline_package(baseline)), config, inputs)
        functions.update({f"{name} (baseline)": old[name] for name in COMPARED})

    def evaluation(pp, k):
        return m.evaluate(env, agent.policy, pp, k, episodes=loop["eval_episodes"],
                          num_steps=loop["eval_steps"] or env.max_episode_steps)

    # One iteration of many phases: less its evaluation and its updates, the rest is
    # the env phases.
    phases = 25
    short_loop = {**(overrides or {}).get("loop", {}), "eval_every": loop["train_every"] * phases,
                  "total_steps": loop["prefill"] + loop["train_every"] * phases}
    short_agent = m.DREAMER.agent(m.DREAMER.config(ENV, {**(overrides or {}),
                                                         "loop": short_loop}))
    functions["evaluation"] = blocking(jax.jit(evaluation), agent.policy_params(state), key)
    short_state = jax.jit(short_agent.init)(jax.random.key(0))
    functions[f"iteration of {phases} phases"] = blocking(jax.jit(short_agent.step),
                                                          short_state)
    functions.update({_matmul_name(rows): _matmul(rows)
                      for rows in FLOOR_ROWS.values()})
    info = {"config": config, "phases_per_iteration": phases,
            "train_every": loop["train_every"], "baseline": baseline,
            "matmul_gflop": matmul_work(model, behavior, config)}
    return functions, info


def _floor_lines(result) -> list:
    rows, work = result["parts"], result.get("matmul_gflop")
    if not work:
        return []
    lines = ["", "The floor, an update's matrix products alone at this machine's rate for "
             "their row counts:", "",
             "| where | GFLOP per update | rate (GFLOP/s) | ms |", "|---|---:|---:|---:|"]
    total = 0.0
    for where, rows_n in FLOOR_ROWS.items():
        timed = rows[_matmul_name(rows_n)]["median_ms"]
        rate = MATMULS_PER_CALL * 2 * rows_n * 192 * 64 / 1e9 / (timed / 1e3)
        ms = 1e3 * work[where] / rate
        total += ms
        lines.append(f"| {where} ({rows_n}-row products) | {work[where]:.2f} | {rate:.0f} | "
                     f"{ms:.1f} |")
    update = rows["update"]["median_ms"]
    lines += ["", f"Matrix products alone: {total:.0f} ms; the update takes {update:.0f} ms, "
              f"{update / total:.1f}× that floor (the rest: layer norms, activations, "
              "softmaxes over 255 bins, sampling, the scans' steps)."]
    return lines


def markdown(result) -> str:
    rows = result["parts"]
    update = rows["update"]["median_ms"]
    phases = result["phases_per_iteration"]
    iteration = rows[f"iteration of {phases} phases"]["median_ms"]
    evaluation = rows["evaluation"]["median_ms"]
    baseline = result.get("baseline")
    tag = f" ({result['tag'].strip('_')})" if result["tag"] else ""
    header = "| part | median (ms) | min (ms) | share of an update |"
    rule = "|---|---:|---:|---:|"
    if baseline:
        header += f" baseline {baseline} median (ms) | baseline / now |"
        rule += "---:|---:|"
    lines = [f"# Dreamer update, part by part{tag} ({device_text(result['device'])}, "
             f"jax {result['device']['jax_version']})", "",
             "CartPole-v1, the recipe's sizes; medians of "
             f"{rows['update']['repeats']} timed calls after compilation, round-robin"
             + (f", the baseline revision {baseline} in the same schedule on the same inputs"
                if baseline else "") + ".", "", header, rule]
    for name in ("filter", "world model loss", "world model grad", "world model optimiser",
                 "imagination", "imagination, states only", "actor-critic update",
                 "update"):
        if name not in rows:    # a part added after a result was recorded
            continue
        r = rows[name]
        line = (f"| {name} | {r['median_ms']:.2f} | {r['min_ms']:.2f} | "
                f"{r['median_ms'] / update:.0%} |")
        if baseline:
            old = rows.get(f"{name} (baseline)")
            line += (f" {old['median_ms']:.2f} | {old['median_ms'] / r['median_ms']:.2f}× |"
                     if old else " | |")
        lines.append(line)
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
    lines += _floor_lines(result)
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--tag", default="", help="suffix of the result files")
    parser.add_argument("--baseline", default=None,
                        help="a git revision whose update parts are timed alongside")
    parser.add_argument("--markdown-only", action="store_true",
                        help="rewrite the .md from the .json (no timing)")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(
        os.path.abspath(__file__)), "results"))
    args = parser.parse_args(argv)
    if args.markdown_only:
        return rewrite_markdown(args.out, f"dreamer_parts{args.tag}", markdown)
    functions, info = parts(baseline=args.baseline)
    stats, _ = time_interleaved(functions, repeats=args.repeats, rounds=min(args.repeats, 5),
                                warmup=1, progress=True)
    result = {"device": device_info(), "tag": args.tag, "parts": stats, **info}
    write_results(args.out, f"dreamer_parts{args.tag}", result, markdown(result))
    return result


if __name__ == "__main__":
    main()

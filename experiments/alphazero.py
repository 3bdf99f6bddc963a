"""AlphaZero on pgx board games: self-play training, then matches against a reference
player, seeds vmapped in one jitted program.

Trains the AlphaZero recipe (`jwm.recipes.ALPHAZERO`) through `jwm.train`, then plays
``--games`` games per seed against the reference, half of them moving second:

- ``pgx:tic_tac_toe``: a perfect player (negamax over every position, uniformly random
  among the optimal moves), against which the best result is a draw. Target: no loss.
- ``pgx:connect_four``: UCT with random rollouts at ``--reference-simulations``
  simulations per move. Target: >= 90% wins.

Writes ``experiments/results/alphazero_<game>.json`` (results schema of
docs/design.md, plus ``matches``) and the learning curve ``alphazero_<game>.png``
(mean outcome against a uniformly random player during training).

    python experiments/alphazero.py --env pgx:tic_tac_toe --seeds 3
    python experiments/alphazero.py --env pgx:connect_four --seeds 1 --reference-simulations 200 \
        --match-simulations 32 128
"""

from __future__ import annotations

import argparse
import functools
import os

import jax
import jax.numpy as jnp
import numpy as np

from jwm import envs, runs
from jwm.atomic import write_json
from jwm.agents import stateless_policy
from jwm.eval import match, random_player, rollout_mcts_player
from jwm.recipes import ALPHAZERO, run_recipe
from jwm.recipes.base import deep_update, parse_settings

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
LINES = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6)]


def _won(cells):
    return any(all(c in cells for c in line) for line in LINES)


@functools.lru_cache(maxsize=None)
def _negamax(mine: frozenset, theirs: frozenset) -> int:
    """The value for the player to move (+1 win, 0 draw, -1 loss) under perfect play."""
    if _won(theirs):
        return -1
    free = [c for c in range(9) if c not in mine and c not in theirs]
    if not free:
        return 0
    return max(-_negamax(theirs, mine | {c}) for c in free)


def perfect_tic_tac_toe_player():
    """``(policy, params)``: from the observation (pgx: channel 0 the mover's marks,
    channel 1 the opponent's) pick uniformly among the moves of best negamax value. The
    table covers every position, reachable or not (3^9 rows)."""
    table = np.zeros((3 ** 9, 9), bool)
    for index in range(3 ** 9):
        digits = [(index // 3 ** c) % 3 for c in range(9)]
        mine = frozenset(c for c in range(9) if digits[c] == 1)
        theirs = frozenset(c for c in range(9) if digits[c] == 2)
        free = [c for c in range(9) if digits[c] == 0]
        if not free or _won(mine) or _won(theirs):
            table[index] = [d == 0 for d in digits] if free else True
            continue
        values = {c: -_negamax(theirs, mine | {c}) for c in free}
        best = max(values.values())
        table[index, [c for c in free if values[c] == best]] = True
    powers = jnp.asarray(3 ** np.arange(9), jnp.int32)

    def act(params, obs, key):
        cells = obs.reshape(9, 2)
        index = jnp.sum((cells[:, 0] + 2 * cells[:, 1]).astype(jnp.int32) * powers)
        best = params[index]
        return jax.random.categorical(key, jnp.where(best, 0.0, -jnp.inf)).astype(jnp.int32)

    return stateless_policy(act), jnp.asarray(table)


def reference_player(env, reference_simulations):
    if env.name == "pgx:tic_tac_toe":
        return "perfect (negamax) player", perfect_tic_tac_toe_player()
    return (f"UCT with random rollouts, {reference_simulations} simulations",
            rollout_mcts_player(env, num_simulations=reference_simulations))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="pgx:tic_tac_toe")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=None,
                        help="self-play plies of the run, the prefill included")
    parser.add_argument("--games", type=int, default=200)
    parser.add_argument("--reference-simulations", type=int, default=200)
    parser.add_argument("--match-simulations", type=int, nargs="+", default=None,
                        help="simulations per move of the trained agent in the matches, one "
                             "set of matches per budget (default: as in training)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="any recipe setting, as `jwm alphazero --set` takes it, e.g. "
                             "loop.eval_opponent_simulations=50 or model.representation=mlp")
    parser.add_argument("--tag", default="", help="suffix of the output file names")
    parser.add_argument("--checkpoint-dir", default=None)
    parser.add_argument("--out", default=RESULTS)
    args = parser.parse_args(argv)

    loop = {} if args.steps is None else {"total_steps": args.steps}
    overrides = deep_update({"loop": loop}, parse_settings(args.set))
    config, result, record = run_recipe(ALPHAZERO, args.env, seeds=args.seeds, seed=args.seed,
                                        overrides=overrides, checkpoint_dir=args.checkpoint_dir)
    agent = ALPHAZERO.agent(config)
    env = envs.make(args.env)
    name, reference = reference_player(env, args.reference_simulations)
    if env.name == "pgx:tic_tac_toe":   # the reference must be perfect for the claim
        check = match(env, reference, random_player(env), jax.random.key(99), games=400)
        assert check.losses == 0, check
    record["matches"] = {"reference": name, "games_per_seed": args.games, "by_simulations": {}}
    for simulations in args.match_simulations or [config["search"]["num_simulations"]]:
        # The trained network searched with this budget (its params do not depend on it).
        player = ALPHAZERO.agent(ALPHAZERO.config(args.env, {
            "model": config["model"], "loop": config["loop"],
            "search": dict(config["search"], num_simulations=simulations)})).policy
        results = []
        for i in range(args.seeds):
            params = agent.policy_params(result.state)
            if args.seeds > 1:
                params = jax.tree.map(lambda x: x[i], params)
            m = match(env, (player, params), reference, jax.random.key(1000 + i),
                      games=args.games)
            first = -(-args.games // 2)
            results.append({"seed": args.seed + i, "wins": m.wins, "draws": m.draws,
                            "losses": m.losses, "win_interval": list(m.win_interval),
                            "loss_interval": list(m.loss_interval),
                            "losses_moving_first": int((np.asarray(m.outcomes[:first]) < 0)
                                                       .sum()),
                            "mean_plies": float(np.mean(m.lengths))})
            print(f"seed {args.seed + i}, {simulations} simulations, against the {name}: "
                  f"{m.wins} wins, {m.draws} draws, {m.losses} losses (win rate 95% CI "
                  f"{m.win_interval[0]:.3f}-{m.win_interval[1]:.3f})")
        record["matches"]["by_simulations"][str(simulations)] = results
    out = os.path.join(args.out, "alphazero_" + args.env.split(":")[-1] + args.tag)
    write_json(out + ".json", record)
    runs.plot_learning_curves(record, out + ".png")
    print(f"wall {record['wall_time_s']:.0f} s (training)")
    return record


if __name__ == "__main__":
    main()

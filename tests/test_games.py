"""Two-player board games from pgx: the adapter's rewards and masks, the true model's
discount of -1 between plies, tree search that wins and blocks, and the match runner."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jwm
from jwm.agents import stateless_policy
from jwm.eval import match, random_player, wilson_interval

pytest.importorskip("pgx")
FAST_COMPILE = {"xla_backend_optimization_level": 0}
TTT = jwm.envs.make("pgx:tic_tac_toe")


def _after(moves, key=0):
    state, _ = TTT.reset(jax.random.key(key))
    for move in moves:
        state = TTT.transition(jax.random.key(1), state, move).state
    return state


def test_tic_tac_toe_rewards_the_mover_and_masks_taken_cells():
    assert TTT.num_players == 2 and TTT.max_episode_steps == 9
    assert TTT.action_space.n == 9 and TTT.observation_space.shape == (3, 3, 2)
    state = _after([0, 3, 1, 4])
    np.testing.assert_array_equal(TTT.legal_actions(state),
                                  [False, False, True, False, False, True, True, True, True])
    t = TTT.transition(jax.random.key(2), state, 2)          # X completes the top row
    assert float(t.reward) == 1.0 and bool(t.terminated) and not bool(t.truncated)
    model = jwm.models.true_model(TTT)
    _, reward, discount = model.step((), state, 5, jax.random.key(3))
    assert float(reward) == 0.0 and float(discount) == -1.0  # the opponent's value next
    assert float(model.step((), state, 2, jax.random.key(3))[2]) == 0.0
    np.testing.assert_array_equal(model.invalid_actions((), state), ~TTT.legal_actions(state))
    with pytest.raises(ValueError, match="unknown pgx game"):
        jwm.envs.make("pgx:tic_tac_tow")


def test_search_in_the_true_rules_wins_and_blocks():
    model = jwm.models.true_model(TTT)
    planner = jwm.planners.mcts(model, TTT.action_space, num_simulations=96, rule="uct",
                                rollout_depth=9, temperature=0.0)
    plan = jax.jit(jax.vmap(lambda s, k: planner.plan((), (), s, k)[0], in_axes=(None, 0)),
                   compiler_options=FAST_COMPILE)
    keys = jax.random.split(jax.random.key(4), 16)
    win = np.asarray(plan(_after([0, 3, 1, 4]), keys))       # X to move: 2 wins
    block = np.asarray(plan(_after([0, 4, 1]), keys))        # O to move: 2 blocks
    assert (win == 2).mean() >= 0.8 and (block == 2).mean() >= 0.8
    # Never an occupied cell.
    assert not np.isin(win, [0, 1, 3, 4]).any() and not np.isin(block, [0, 1, 4]).any()


def _lowest_legal():
    return stateless_policy(lambda params, obs, key: jnp.argmax(
        (obs.sum(-1) == 0).reshape(-1)).astype(jnp.int32))


def test_match_alternates_who_starts_and_counts_from_a_side():
    # Both players take the lowest free cell: the starter completes 2-4-6 on ply 7.
    player = (_lowest_legal(), ())
    result = match(TTT, player, player, jax.random.PRNGKey(0), games=5)
    np.testing.assert_array_equal(result.outcomes, [1, 1, 1, -1, -1])
    np.testing.assert_array_equal(result.lengths, 7)
    assert (result.wins, result.draws, result.losses) == (3, 0, 2)
    # The first mover's edge under random play (58.5% wins, 28.8% losses).
    rand = random_player(TTT)
    result = match(TTT, rand, rand, jax.random.key(1), games=400)
    first, second = np.asarray(result.outcomes[:200]), np.asarray(result.outcomes[200:])
    assert (first > 0).mean() > (first < 0).mean() + 0.15
    assert (second < 0).mean() > (second > 0).mean() + 0.15
    assert result.wins + result.draws + result.losses == 400


def test_wilson_interval_and_bad_input():
    np.testing.assert_allclose(wilson_interval(0, 10), (0.0, 0.2775), atol=1e-4)
    np.testing.assert_allclose(wilson_interval(5, 10), (0.2366, 0.7634), atol=1e-4)
    with pytest.raises(ValueError, match="two-player"):
        random_player(jwm.envs.make("gymnax:CartPole-v1"))
    with pytest.raises(ValueError, match="games"):
        match(TTT, random_player(TTT), random_player(TTT), jax.random.key(0), games=0)


def test_alphazero_self_play_moves_only_on_free_cells():
    """Random opening moves included: they too are drawn among the legal moves. (The
    board through the MLP: the residual CNN is the MuZero model's, tested there.)"""
    model = jwm.models.alphazero_model(TTT, features=8, hidden_sizes=(8,), support=2,
                                       representation="mlp")
    assert model.config["representation"] == "mlp"
    search = jwm.agents.muzero_search(model, TTT.action_space, num_simulations=4,
                                      discount=1.0)
    agent = jwm.agents.muzero(TTT, model, search=search, unroll_steps=0, n_step=9,
                              total_steps=112, eval_every=32, num_envs=4, train_every=16,
                              train_steps=1, batch_size=8, eval_episodes=4,
                              random_opening=2)
    assert agent.name == "alphazero" and agent.config["two_player"]
    state, metrics = jax.jit(agent.run, compiler_options=FAST_COMPILE)(jax.random.key(0))
    rows = state.buffer.experience
    written = np.asarray(rows.search_policy.sum(-1) > 0)      # rows the replay holds
    cells = np.asarray(rows.obs).reshape(rows.obs.shape[:2] + (9, 2))
    chosen = np.take_along_axis(cells, np.asarray(rows.action)[..., None, None], 2)[..., 0, :]
    assert written.sum() > 64 and not chosen[written].any()   # the chosen cell was empty
    # The search policy puts no weight on occupied cells either.
    occupied = cells.sum(-1) > 0
    assert np.abs(np.asarray(rows.search_policy)[written][occupied[written]]).max() < 1e-6
    assert np.all(np.abs(metrics.eval_return) <= 1.0)
    with pytest.raises(ValueError, match="unroll_steps must be 0"):
        jwm.agents.muzero(TTT, model, unroll_steps=5)
    with pytest.raises(ValueError, match="reanalyse_fraction"):
        jwm.agents.muzero(TTT, model, unroll_steps=0, reanalyse_fraction=0.5)

"""MuZero: the value transform, n-step targets with episode ends, the unrolled loss
against a hand computation, reanalyse, robustness to a NaN network, bad input, and a
tiny run that learns."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jwm
from jwm.agents.muzero import muzero
from jwm.agents.muzero_update import replay_targets
from jwm.agents.self_play import SearchRow, self_play
from jwm.models.muzero import muzero_model
from jwm.models.muzero_loss import n_step_values, unroll_loss, unroll_targets
from jwm.models.twohot import value_transform, value_transform_inverse

CARTPOLE = jwm.envs.make("gymnax:CartPole-v1")
FAST_COMPILE = {"xla_backend_optimization_level": 0}


def test_value_transform_and_its_inverse():
    x = jnp.array([-1e4, -300.0, -2.5, -1e-3, 0.0, 1e-3, 0.7, 3.0, 499.0, 1e5])
    np.testing.assert_allclose(value_transform_inverse(value_transform(x)), x, rtol=2e-6,
                               atol=1e-6)
    # h(3) = sqrt(4) - 1 + 0.003; odd; increasing.
    np.testing.assert_allclose(value_transform(jnp.array([3.0, -3.0])), [1.003, -1.003],
                               rtol=1e-6)
    assert bool(jnp.all(jnp.diff(value_transform(jnp.linspace(-50, 50, 101))) > 0))


R = jnp.arange(1.0, 9.0)            # rewards of rows 0..7
V = 10.0 * jnp.arange(1.0, 9.0)     # bootstrap values of rows 0..7
NO = jnp.zeros(8, bool)


def _flag(row):
    return NO.at[row].set(True)


def test_n_step_values_without_an_end():
    # z_0 = 1 + .5 * 2 + .25 * 3 + .125 * V_3 = 7.75; z_1 = 2 + 1.5 + 1 + .125 * 50.
    z = n_step_values(R, NO, NO, V, discount=0.5, n_step=3, num_targets=2)
    np.testing.assert_allclose(z, [7.75, 2 + 1.5 + 1 + 6.25])


def test_n_step_values_stop_at_a_termination():
    # Terminated right after row 1: z_0 = 1 + .5 * 2, z_1 = 2, nothing bootstrapped.
    z = n_step_values(R, _flag(1), NO, V, discount=0.5, n_step=3, num_targets=2)
    np.testing.assert_allclose(z, [2.0, 2.0])


def test_n_step_values_bootstrap_from_the_last_row_at_a_truncation():
    # Truncated after row 1 (its successor is not stored): z_0 = 1 + .5 * V_1, z_1 = V_1.
    z = n_step_values(R, NO, _flag(1), V, discount=0.5, n_step=3, num_targets=2)
    np.testing.assert_allclose(z, [11.0, 20.0])


def test_unroll_targets_absorb_after_a_termination_and_mask_after_a_truncation():
    policy = jnp.tile(jnp.array([[0.25, 0.75]]), (8, 1))
    action = jnp.arange(8) % 2
    term = unroll_targets(action, R, _flag(1), NO, policy, V, discount=0.5, n_step=3,
                          unroll_steps=3)
    np.testing.assert_array_equal(term.actions, [0, 1, 0])
    np.testing.assert_allclose(term.value, [2.0, 2.0, 0.0, 0.0])
    np.testing.assert_array_equal(term.value_weight, [1, 1, 1, 1])
    np.testing.assert_allclose(term.reward, [1.0, 2.0, 0.0])
    np.testing.assert_array_equal(term.reward_weight, [1, 1, 1])
    np.testing.assert_array_equal(term.policy_weight, [1, 1, 0, 0])
    cut = unroll_targets(action, R, NO, _flag(1), policy, V, discount=0.5, n_step=3,
                         unroll_steps=3)
    np.testing.assert_allclose(cut.value[:2], [11.0, 20.0])
    np.testing.assert_array_equal(cut.value_weight, [1, 1, 0, 0])
    np.testing.assert_array_equal(cut.reward_weight, [1, 1, 0])
    np.testing.assert_array_equal(cut.policy_weight, [1, 1, 0, 0])
    with pytest.raises(ValueError, match="too short"):
        n_step_values(R, NO, NO, V, discount=0.5, n_step=6, num_targets=3)


@dataclasses.dataclass(frozen=True)
class _LinearModel:
    """A model simple enough to compute its loss by hand: support -1..1, two actions,
    latent = obs, dynamics ``latent * w + action``."""

    bins: jnp.ndarray = dataclasses.field(default_factory=lambda: jnp.array([-1.0, 0.0, 1.0]))

    def represent(self, params, obs):
        return obs

    def recurrent(self, params, latent, action):
        nxt = latent * params + action[:, None]
        return nxt, jnp.stack([nxt[:, 0], -nxt[:, 0], jnp.zeros_like(nxt[:, 0])], -1)

    def predict(self, params, latent):
        return latent, jnp.stack([jnp.zeros_like(latent[:, 0]), latent[:, 1], latent[:, 0]], -1)

    def scalar(self, logits):
        p = jax.nn.softmax(logits)
        return value_transform_inverse(p @ self.bins)


def test_unroll_loss_matches_a_hand_computation():
    model = _LinearModel()
    obs = jnp.array([[0.5, -1.0]])
    quarter = float(value_transform_inverse(jnp.float32(0.25)))   # two-hot [0, .75, .25]
    targets = unroll_targets(jnp.array([1, 0, 0, 0]), jnp.array([0.0, 0.0, 0.0, 0.0]),
                             NO[:4], NO[:4], jnp.array([[0.2, 0.8]] * 4),
                             jnp.zeros(4), discount=1.0, n_step=2, unroll_steps=1)
    targets = jax.tree.map(lambda x: x[None], targets)
    targets = targets._replace(value=jnp.array([[quarter, 0.0]]),
                               reward=jnp.array([[quarter]]))
    loss, metrics = unroll_loss(model, jnp.array([2.0, 3.0]), obs, targets, value_coef=0.25)

    def ce(p, logits):
        logits = np.asarray(logits, np.float64)
        return -np.sum(np.asarray(p) * (logits - np.log(np.exp(logits).sum())))

    s0 = np.array([0.5, -1.0])
    s1 = s0 * np.array([2.0, 3.0]) + 1.0                      # [2, -2] after action 1
    step0 = ce([0.2, 0.8], s0) + 0.25 * ce([0, 0.75, 0.25], [0, s0[1], s0[0]])
    step1 = (ce([0.2, 0.8], s1) + 0.25 * ce([0, 1, 0], [0, s1[1], s1[0]])
             + ce([0, 0.75, 0.25], [s1[0], -s1[0], 0]))
    np.testing.assert_allclose(float(loss), step0 + step1 / 1, rtol=1e-5)
    predicted = float(model.scalar(jnp.array([0.0, -1.0, 0.5])))
    np.testing.assert_allclose(metrics.priorities, [abs(predicted - quarter)], rtol=1e-5)


def test_gradient_into_the_dynamics_is_halved_per_step():
    """Only step 2's terms weigh: ``L = f(l2) / K``, ``l2 = l1 * w``, ``l1 = s0 * w``. The
    gradient entering the dynamics at step 2 is halved, so ``dL/dw = f'(l2) / K *
    (l1 + w * s0 / 2)``, not ``(l1 + w * s0)``."""
    model = _LinearModel()
    s0 = jnp.array([0.3, 0.1])
    w = jnp.array([1.5, 0.7])
    targets = unroll_targets(jnp.zeros(5, jnp.int32), jnp.zeros(5), NO[:5], NO[:5],
                             jnp.array([[0.5, 0.5]] * 5), jnp.zeros(5), discount=1.0,
                             n_step=2, unroll_steps=2)
    targets = jax.tree.map(lambda x: x[None], targets)._replace(
        value=jnp.array([[0.0, 0.0, 2.0]]), reward=jnp.array([[0.0, 1.0]]),
        policy_weight=jnp.array([[0.0, 0.0, 1.0]]), value_weight=jnp.array([[0.0, 0.0, 1.0]]),
        reward_weight=jnp.array([[0.0, 1.0]]))
    grad = jax.grad(lambda w: unroll_loss(model, w, s0[None], targets)[0])(w)

    def step2_terms(l2):
        policy_logits, value_logits = model.predict(None, l2[None])
        reward_logits = jnp.stack([l2[0], -l2[0], 0.0])[None]
        t = jax.tree.map(lambda x: x[0], targets)
        return (-jnp.sum(t.policy[2] * jax.nn.log_softmax(policy_logits[0]))
                + 0.25 * jwm.models.twohot.twohot_loss(value_logits[0], t.value[2], model.bins,
                                                       squash=value_transform)
                + jwm.models.twohot.twohot_loss(reward_logits[0], t.reward[1], model.bins,
                                                squash=value_transform)) / 2

    l1 = s0 * w
    expected = jax.grad(step2_terms)(l1 * w) * (l1 + 0.5 * w * s0)
    np.testing.assert_allclose(grad, expected, rtol=1e-5)
    assert not np.allclose(grad, jax.grad(step2_terms)(l1 * w) * (l1 + w * s0), rtol=1e-3)


SMALL = muzero_model(CARTPOLE.observation_space, CARTPOLE.action_space, latent_size=8,
                     hidden_sizes=(16,), support=5)


def _rows(params, batch=3, length=5):
    """Replayed rows whose stored search policies all say 'action 0'."""
    obs = jax.random.normal(jax.random.key(0), (batch, length, 4)) * 0.05
    return SearchRow(obs=obs, action=jnp.zeros((batch, length), jnp.int32),
                     reward=jnp.ones((batch, length)), terminated=jnp.zeros((batch, length), bool),
                     truncated=jnp.zeros((batch, length), bool),
                     search_policy=jnp.tile(jnp.array([1.0, 0.0]), (batch, length, 1)),
                     root_value=jnp.zeros((batch, length)))


def test_reanalyse_replaces_the_stored_policy_targets():
    params = SMALL.init(jax.random.key(1))
    planner = jwm.planners.mcts(SMALL, CARTPOLE.action_space, num_simulations=4,
                                rule="gumbel", prior_fn=SMALL.prior_fn, value_fn=SMALL.value_fn,
                                gumbel_scale=0.0)
    rows = _rows(params)
    options = dict(discount=0.9, n_step=2, unroll_steps=2)
    targets = {n: jax.jit(lambda p, r, k, n=n: replay_targets(
        SMALL, planner, p, p, r, k, reanalysed=n, **options), compiler_options=FAST_COMPILE)
        for n in (0, 2)}
    kept = targets[0](params, rows, jax.random.key(2))
    fresh = targets[2](params, rows, jax.random.key(2))
    np.testing.assert_array_equal(kept.policy, rows.search_policy[:, :3])
    # The first two sequences are searched again: an untrained network's search puts
    # weight on both actions; the third keeps what was stored.
    assert bool((fresh.policy[:2, :, 1] > 0.1).all())
    np.testing.assert_array_equal(fresh.policy[2], rows.search_policy[2, :3])
    np.testing.assert_allclose(fresh.policy.sum(-1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(fresh.value, kept.value)


def test_value_targets_read_the_target_network_only_where_needed():
    """Replay targets bootstrap from K + 2 rows per sequence; they equal the targets
    computed from the target network's values of every row."""
    noisy = jax.tree.map(lambda x: x + 0.3 * jax.random.normal(jax.random.key(3), x.shape),
                         SMALL.init(jax.random.key(1)))          # non-zero value head
    batch, length, options = 6, 6, dict(discount=0.9, n_step=3, unroll_steps=2)
    rows = _rows(noisy, batch=batch, length=length)
    ends = {1: ("truncated", 1), 2: ("terminated", 2), 3: ("truncated", 4),
            4: ("terminated", 0), 5: ("truncated", 0)}
    for b, (kind, row) in ends.items():
        rows = rows._replace(**{kind: getattr(rows, kind).at[b, row].set(True)})
    rows = rows._replace(truncated=rows.truncated.at[4, 3].set(True),   # a second end
                         reward=jax.random.normal(jax.random.key(4), (batch, length)))
    got = replay_targets(SMALL, None, None, noisy, rows, None, reanalysed=0, **options)
    every_row = SMALL.scalar(SMALL.predict(noisy, SMALL.represent(noisy, rows.obs))[1])
    want = jax.vmap(lambda a, r, te, tr, p, v: unroll_targets(a, r, te, tr, p, v, **options))(
        rows.action, rows.reward, rows.terminated, rows.truncated, rows.search_policy,
        every_row)
    assert float(jnp.abs(every_row).min()) > 1e-3
    np.testing.assert_allclose(got.value, want.value, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(got.value_weight, want.value_weight)


def test_a_nan_network_never_makes_self_play_pick_an_illegal_or_non_finite_action():
    nan_params = jax.tree.map(lambda x: jnp.full_like(x, jnp.nan),
                              SMALL.init(jax.random.key(0)))
    # Action 0 illegal everywhere: masks at the root and every node.
    for rule in ("gumbel", "puct"):
        planner = jwm.planners.mcts(SMALL, CARTPOLE.action_space, num_simulations=6, rule=rule,
                                    prior_fn=SMALL.prior_fn, value_fn=SMALL.value_fn,
                                    invalid_actions_fn=lambda p, s: jnp.array([True, False]))
        players = self_play(CARTPOLE, SMALL, planner, num_envs=2, steps=4,
                            sample_action=rule == "puct")
        _, rows, _, nonfinite = jax.jit(players.collect, compiler_options=FAST_COMPILE)(
            players.init(jax.random.key(1)), nan_params, jax.random.key(2), 1.0)
        np.testing.assert_array_equal(rows.action, 1)
        assert np.isfinite(rows.search_policy).all()
        np.testing.assert_allclose(rows.search_policy[..., 0], 0.0, atol=1e-6)
        assert int(nonfinite) > 0


@pytest.mark.parametrize("kwargs, match", [
    (dict(reanalyse_fraction=1.5), "reanalyse_fraction"),
    (dict(priority_exponent=0.0), "priority_exponent"),
    (dict(unroll_steps=0), "unroll_steps"),
    (dict(train_every=12, num_envs=8), "train_every"),
    (dict(total_steps=50_000), r"prefill \(120 env steps\).*e\.g\. 45120 or 50120"),
])
def test_bad_hyperparameters_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        muzero(CARTPOLE, SMALL, **kwargs)


@pytest.mark.parametrize("build, kwargs, match", [
    ("search", dict(rule="alphabeta"), "rule"),
    ("search", dict(discount=1.2), "discount"),
    ("search", dict(temperature=-0.5, rule="puct"), "temperature"),
    ("search", dict(temperature=0.5, rule="gumbel"), "temperature is for"),
    ("optimizer", dict(learning_rate=-1.0), "learning_rate"),
    ("optimizer", dict(final_learning_rate=1.0), "final_learning_rate"),
    ("optimizer", dict(final_learning_rate=1e-4, num_updates=None), "num_updates"),
])
def test_the_parts_name_their_bad_settings(build, kwargs, match):
    with pytest.raises(ValueError, match=match):
        if build == "search":
            jwm.agents.muzero_search(SMALL, CARTPOLE.action_space, **kwargs)
        else:
            jwm.agents.muzero_optimizer(**{"num_updates": 10, **kwargs})


def test_the_agent_takes_its_searches_and_optimizer_built():
    """The searches and the optimizer are parts: the agent built from them equals the
    agent built from the same settings by default, and records them."""
    import functools

    small = dict(total_steps=48, num_envs=2, unroll_steps=2, n_step=2, batch_size=4,
                 train_every=8, train_steps=1, eval_every=16, eval_episodes=2, eval_steps=20)
    default = muzero(CARTPOLE, SMALL, **small)
    search = jwm.agents.muzero_search(SMALL, CARTPOLE.action_space)
    built = muzero(CARTPOLE, SMALL, search=search,
                   optimizer=functools.partial(jwm.agents.muzero_optimizer,
                                               learning_rate=3e-3), **small)
    keys = jax.random.split(jax.random.key(0), 1)[0]
    a = jax.jit(default.run)(keys)[1].eval_return
    b = jax.jit(built.run)(keys)[1].eval_return
    np.testing.assert_array_equal(a, b)
    assert built.config["search"]["rule"] == "gumbel"
    assert built.config["optimizer"] == {"function": "muzero_optimizer", "learning_rate": 3e-3}
    with pytest.raises(TypeError, match="MuZeroSearch"):
        muzero(CARTPOLE, SMALL, search=object(), **small)


def test_mismatched_parts_are_refused():
    pendulum = jwm.envs.make("gymnax:Pendulum-v1")
    with pytest.raises(TypeError, match="Discrete"):
        muzero(pendulum, SMALL)
    with pytest.raises(TypeError, match="MuZeroModel"):
        muzero(CARTPOLE, jwm.models.true_model(CARTPOLE))
    acrobot = jwm.envs.make("gymnax:Acrobot-v1")
    with pytest.raises(ValueError, match="observations"):
        muzero(acrobot, SMALL)
    with pytest.raises(TypeError, match="Discrete"):
        muzero_model(pendulum.observation_space, pendulum.action_space)
    with pytest.raises(ValueError, match="obs must have shape"):
        SMALL.encode(SMALL.init(jax.random.key(0)), jnp.zeros(3))


def test_the_model_plans_with_shooting_planners_too():
    params = SMALL.init(jax.random.PRNGKey(0))                 # legacy keys work too
    planner = jwm.planners.random_shooting(SMALL, CARTPOLE.action_space, horizon=3,
                                           population=8)
    latent = SMALL.encode(params, jnp.zeros(4))
    action, _, info = planner.plan(planner.init(None), params, latent, jax.random.PRNGKey(1))
    assert int(action) in (0, 1) and np.isfinite(info.predicted_return)


def test_a_tiny_run_learns_to_balance():
    """4,000 env steps with small networks: the untrained search balances ~10 steps;
    after training it holds the pole many times longer (measured 148-200 of 200 on
    seeds 0-2)."""
    model = muzero_model(CARTPOLE.observation_space, CARTPOLE.action_space, latent_size=16,
                         hidden_sizes=(32,), support=10)
    search = jwm.agents.muzero_search(model, CARTPOLE.action_space, num_simulations=8,
                                      discount=0.99)
    agent = muzero(CARTPOLE, model, search=search, total_steps=4120, eval_every=2000,
                   num_envs=8, batch_size=64, train_every=40, train_steps=10,
                   eval_episodes=4, eval_steps=200)
    state = jax.jit(agent.init, compiler_options=FAST_COMPILE)(jax.random.key(0))
    evaluate = jax.jit(lambda p, k: jwm.agents.evaluate(CARTPOLE, agent.policy, p, k,
                                                        episodes=4, num_steps=200),
                       compiler_options=FAST_COMPILE)
    before = float(evaluate(state.model_params, jax.random.key(7)).mean())
    _, metrics = jax.jit(lambda s: jax.lax.scan(lambda c, _: agent.step(c), s, None,
                                                length=agent.iterations),
                         compiler_options=FAST_COMPILE)(state)
    assert before < 20
    assert float(metrics.eval_return[-1]) >= max(100.0, 5 * before)
    assert int(metrics.num_nonfinite.sum()) == 0


def test_image_observations_go_through_the_residual_cnn():
    breakout = jwm.envs.make("gymnax:Breakout-MinAtar")
    model = muzero_model(breakout.observation_space, breakout.action_space, latent_size=16,
                         hidden_sizes=(16,), channels=8, blocks=1)
    assert model.config["representation"] == "resnet"
    params = model.init(jax.random.key(0))
    _, obs = breakout.reset(jax.random.key(1))
    latent = model.encode(params, obs)
    assert latent.shape == (16,) and float(latent.min()) == 0.0
    np.testing.assert_allclose(float(latent.max()), 1.0, rtol=1e-6)   # scaled to [0, 1]
    batch = model.represent(params, jnp.stack([obs] * 3)[None])
    assert batch.shape == (1, 3, 16)
    next_latent, reward, discount = model.step(params, latent, jnp.int32(2), None)
    # Zero-initialised heads: the untrained model predicts reward and value 0, a
    # uniform prior, discount 1.
    np.testing.assert_allclose([float(reward), float(model.value_fn(params, next_latent))],
                               0.0, atol=1e-5)
    np.testing.assert_allclose(model.prior_fn(params, next_latent), 0.0)
    assert float(discount) == 1.0
    with pytest.raises(ValueError, match="hidden_sizes"):
        muzero_model(breakout.observation_space, breakout.action_space, hidden_sizes=())
    with pytest.raises(ValueError, match="support"):
        muzero_model(breakout.observation_space, breakout.action_space, support=0)


def test_images_can_go_through_the_mlp_instead():
    breakout = jwm.envs.make("gymnax:Breakout-MinAtar")
    model = muzero_model(breakout.observation_space, breakout.action_space, latent_size=16,
                         hidden_sizes=(16,), representation="mlp")
    assert model.config["representation"] == "mlp"
    params = model.init(jax.random.key(0))
    # The MLP sees the flattened 10 x 10 x 4 frame: its first kernel has 400 rows.
    kernels = [x for x in jax.tree.leaves(params["params"]["representation"]) if x.ndim == 2]
    assert kernels[0].shape == (400, 16)
    _, obs = breakout.reset(jax.random.key(1))
    assert model.represent(params, jnp.stack([obs] * 3)).shape == (3, 16)
    with pytest.raises(ValueError, match="representation"):
        muzero_model(CARTPOLE.observation_space, CARTPOLE.action_space,
                     representation="resnet")          # vectors have no image to convolve
    with pytest.raises(ValueError, match="representation"):
        muzero_model(breakout.observation_space, breakout.action_space,
                     representation="transformer")

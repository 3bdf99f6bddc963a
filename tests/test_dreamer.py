"""RSSM world model and the Dreamer loop: shapes, the world-model loss, planning in the
latent space, errors, and learning CartPole from a small budget."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jwm
from jwm.agents import dreamer
from jwm.imagination import actor_critic
from jwm.models import Sequences, rssm_model, world_model_loss
from jwm.spaces import Discrete

from conftest import OPTIMISED

CARTPOLE = jwm.envs.make("gymnax:CartPole-v1")


def _tiny_model(env, **kw):
    options = dict(deter=32, hidden=16, stoch=4, classes=3, units=16, blocks=4)
    options.update(kw)
    return rssm_model(env.observation_space, env.action_space, **options)


def test_block_gru_is_each_block_reading_its_own_state_and_the_whole_input():
    from jwm.models.layers import layer_norm
    from jwm.models.rssm_net import _BlockGRU

    blocks, size, inputs_dim, batch = 4, 32, 12, (3, 5)
    d = size // blocks
    gru = _BlockGRU(size, blocks)
    deter = jax.random.normal(jax.random.key(0), batch + (size,))
    inputs = jax.random.normal(jax.random.key(1), batch + (inputs_dim,))
    params = gru.init(jax.random.key(2), deter, inputs)
    kernel = params["params"]["kernel"]
    assert kernel.shape == (blocks, d + inputs_dim, 3 * d)
    # The definition: block i's gates are kernel[i] applied to [state block i, inputs].
    grouped = deter.reshape(batch + (blocks, d))
    x = jnp.concatenate([grouped, jnp.broadcast_to(inputs[..., None, :],
                                                   batch + (blocks, inputs_dim))], -1)
    gates = jnp.einsum("...gi,gio->...go", x, kernel).reshape(batch + (3 * size,))
    gates = layer_norm().apply({"params": params["params"]["norm"]}, gates)
    reset, cand, update = jnp.split(gates.reshape(batch + (blocks, 3 * d)), 3, -1)
    cand = jnp.tanh(jax.nn.sigmoid(reset) * cand)
    update = jax.nn.sigmoid(update - 1.0)
    expected = (update * cand + (1 - update) * grouped).reshape(batch + (size,))
    np.testing.assert_allclose(gru.apply(params, deter, inputs), expected, rtol=1e-5,
                               atol=1e-5)


@pytest.mark.parametrize("stochastic", ["discrete", "gaussian"])
@pytest.mark.parametrize("env_name", ["gymnax:Pendulum-v1", "gymnax:Breakout-MinAtar"])
def test_rssm_shapes_and_world_model_step(env_name, stochastic):
    env = jwm.envs.make(env_name)
    model = _tiny_model(env, stochastic=stochastic)
    params = model.init(jax.random.key(0))
    _, obs = env.reset(jax.random.key(1))
    latent = model.encode(params, obs)
    stoch_shape = (4, 3) if stochastic == "discrete" else (4,)
    assert latent.deter.shape == (32,) and latent.stoch.shape == stoch_shape
    assert model.features(latent).shape == (model.feature_dim,)
    action = env.action_space.sample(jax.random.key(2))
    latent, reward, cont = model.step(params, latent, action, jax.random.key(3))
    assert reward.shape == () and 0.0 <= float(cont) <= 1.0
    if stochastic == "discrete":
        assert np.allclose(np.asarray(latent.stoch).sum(-1), 1.0, atol=1e-5)
    recon = model.net.apply(params, model.features(latent), method="decode")
    assert recon.shape == tuple(env.observation_space.shape)


def _fixed_batch(key, length=12, batch=4):
    """Random-action CartPole sequences with DreamerV3's row layout."""
    def episode(key):
        k_reset, k_run = jax.random.split(key)
        state, obs = CARTPOLE.reset(k_reset)

        def body(carry, key):
            state, obs = carry
            k_action, k_env = jax.random.split(key)
            action = CARTPOLE.action_space.sample(k_action)
            t = CARTPOLE.transition(k_env, state, action)
            return (t.state, t.obs), (obs, action, t.reward)

        _, (obs_seq, actions, rewards) = jax.lax.scan(body, (state, obs),
                                                      jax.random.split(k_run, length))
        prev = jnp.concatenate([jnp.zeros((1,), jnp.int32), actions[:-1]])
        rew = jnp.concatenate([jnp.zeros((1,)), rewards[:-1]])
        first = jnp.arange(length) == 0
        return Sequences(obs_seq, prev, rew, first, jnp.zeros((length,), bool))

    return jax.vmap(episode)(jax.random.split(key, batch))


def test_world_model_loss_decreases_when_training_on_a_batch():
    model = _tiny_model(CARTPOLE)
    params = model.init(jax.random.key(0))
    batch = _fixed_batch(jax.random.key(1))
    tx = optax.adam(3e-3)

    @jax.jit
    def train(params, key):
        def step(carry, key):
            params, opt = carry
            grads, (metrics, _) = jax.grad(
                lambda p: world_model_loss(model, p, batch, key), has_aux=True)(params)
            updates, opt = tx.update(grads, opt)
            return (optax.apply_updates(params, updates), opt), metrics
        return jax.lax.scan(step, (params, tx.init(params)), jax.random.split(key, 150))

    (_, _), metrics = train(params, jax.random.key(2))
    loss, decoder, reward = (np.asarray(x) for x in (metrics.loss, metrics.decoder, metrics.reward))
    assert np.isfinite(loss).all()
    assert loss[-10:].mean() < 0.5 * loss[:10].mean(), loss[::15]
    assert decoder[-10:].mean() < 0.2 * decoder[:10].mean(), decoder[::15]
    assert reward[-10:].mean() < 0.2 * reward[:10].mean(), reward[::15]
    # Free bits: the KL terms never count below 1 nat.
    assert float(metrics.dyn.min()) >= 1.0 - 1e-6 and float(metrics.rep.min()) >= 1.0 - 1e-6


def test_shooting_planners_plan_in_the_rssm_latent_space():
    env = jwm.envs.make("gymnax:Pendulum-v1")
    model = _tiny_model(env)
    params = model.init(jax.random.key(0))
    planner = jwm.planners.cem(model, env.action_space, horizon=4, population=16,
                               iterations=2, elite_frac=0.25)
    _, obs = env.reset(jax.random.key(1))
    action, _, info = jax.jit(planner.plan)(planner.init(jax.random.key(2)), params,
                                            model.encode(params, obs), jax.random.key(3))
    assert action.shape == (1,) and -2.0 <= float(action[0]) <= 2.0


def test_rssm_and_dreamer_reject_bad_input():
    with pytest.raises(ValueError, match="deter"):
        rssm_model(CARTPOLE.observation_space, CARTPOLE.action_space, deter=30, blocks=4)
    with pytest.raises(ValueError, match="stochastic"):
        rssm_model(CARTPOLE.observation_space, CARTPOLE.action_space, stochastic="beta")
    with pytest.raises(ValueError, match="stoch"):
        rssm_model(CARTPOLE.observation_space, CARTPOLE.action_space, stoch=0)
    with pytest.raises(TypeError, match="observation_space"):
        rssm_model(Discrete(3), CARTPOLE.action_space)
    model = _tiny_model(CARTPOLE)
    behavior = actor_critic(model.features, model.feature_dim, CARTPOLE.action_space,
                            actor_hidden_sizes=(8, 8), critic_hidden_sizes=(8, 8))
    with pytest.raises(ValueError, match="train_every"):
        dreamer(CARTPOLE, model, behavior, train_every=10, num_envs=4)
    with pytest.raises(ValueError, match="eval_every"):
        dreamer(CARTPOLE, model, behavior, total_steps=1000, eval_every=300, train_every=100,
                num_envs=4)
    with pytest.raises(ValueError, match="batch_size"):
        dreamer(CARTPOLE, model, behavior, batch_size=0)
    pendulum = jwm.envs.make("gymnax:Pendulum-v1")
    with pytest.raises(ValueError, match="observations have shape"):
        dreamer(pendulum, model, behavior)


@pytest.fixture(scope="module")
def cartpole_run():
    model = rssm_model(CARTPOLE.observation_space, CARTPOLE.action_space, deter=64, hidden=32,
                       stoch=8, classes=4, units=32, blocks=4)
    behavior = actor_critic(model.features, model.feature_dim, CARTPOLE.action_space,
                            actor_hidden_sizes=(32, 32), critic_hidden_sizes=(32, 32),
                            horizon=10, actor_lr=1e-4, critic_lr=1e-4)
    # total_steps counts the prefill: 500 steps collected as 63 phases of 8, then 6,000.
    agent = dreamer(CARTPOLE, model, behavior, total_steps=6_504, num_envs=4, prefill=500,
                    train_every=8, train_steps=1, batch_size=8, seq_len=32,
                    optimizer=jwm.agents.dreamer_optimizer(3e-4),
                    eval_every=1_000, eval_episodes=8, eval_steps=500)
    run = jax.jit(agent.run, compiler_options=OPTIMISED)
    return agent, run, run(jax.random.key(0))


def test_tiny_dreamer_improves_on_cartpole(cartpole_run):
    _, _, (_, metrics) = cartpole_run
    returns = np.asarray(metrics.eval_return)
    # A random policy lasts about 22 steps on CartPole; the first evaluation comes
    # after 1,000 learning steps.
    assert returns[-2:].mean() > 2.5 * 22, returns
    assert returns[-2:].mean() > returns[0] + 20, returns


def test_dreamer_metrics_and_the_run_is_one_program(cartpole_run):
    agent, _, (state, m) = cartpole_run
    assert agent.iterations == 6 and int(state.iteration) == 6
    assert m.eval_return.shape == (6,) and m.model.loss.shape == (6,)
    # Every loop step counts, resets included: the points come at the prefill plus
    # whole periods of eval_every, as the settings say.
    np.testing.assert_array_equal(m.env_steps, 504 + 1_000 * np.arange(1, 7))
    assert np.isfinite(np.asarray(m.model.loss)).all()
    assert agent.config["replay_ratio"] == 8 * 32 / 8


def test_dreamer_program_size_does_not_grow_with_the_run_length():
    model = _tiny_model(CARTPOLE)
    behavior = actor_critic(model.features, model.feature_dim, CARTPOLE.action_space,
                            actor_hidden_sizes=(8, 8), critic_hidden_sizes=(8, 8), horizon=3)
    sizes = []
    for total in (96, 288):
        agent = dreamer(CARTPOLE, model, behavior, total_steps=total, num_envs=2, prefill=32,
                        train_every=8, batch_size=2, seq_len=8, eval_every=32, eval_steps=10)
        sizes.append(len(jax.make_jaxpr(agent.run)(jax.random.key(0)).jaxpr.eqns))
    assert sizes[0] == sizes[1], sizes


def test_dreamer_collector_stores_rows_as_dreamerv3_does():
    """The collector on its own: an episode's first row has a zero action and reward,
    the row after a last row is a first row, and every loop step, a reset included,
    is an env step."""
    from jwm.agents.contract import AgentState
    from jwm.agents.dreamer_collect import collector, replay

    model = _tiny_model(CARTPOLE)
    behavior = actor_critic(model.features, model.feature_dim, CARTPOLE.action_space,
                            actor_hidden_sizes=(8,), critic_hidden_sizes=(8,), horizon=2)
    buffer = replay("t", num_envs=2, batch_size=2, seq_len=4, capacity=256)
    collect = collector(CARTPOLE, model, behavior, buffer, num_envs=2, chunk=64)

    @functools.partial(jax.jit, static_argnums=1)       # random is a Python bool
    def fill(key, random):
        params = model.init(key)
        carry, stored = collect.init(params, jax.random.key(1), jax.random.key(2))
        zero = jnp.zeros((), jnp.int32)
        state = AgentState(key=key, iteration=zero, env_steps=zero, updates=zero,
                           model_params=params, model_opt=(), learner=behavior.init(key),
                           buffer=stored, env=carry)
        return collect.fill(state, jax.random.key(3), random)

    for random in (True, False):
        state, finished = jax.block_until_ready(fill(jax.random.key(0), random))
        rows = jax.tree.map(lambda x: np.asarray(x[:, :64]), state.buffer.experience)
        assert rows.is_first[:, 0].all()
        first = rows.is_first
        np.testing.assert_array_equal(rows.prev_action[first], 0)
        np.testing.assert_array_equal(rows.reward[first], 0.0)
        np.testing.assert_array_equal(first[:, 1:], rows.is_last[:, :-1])
        assert not (rows.is_terminal & ~rows.is_last).any()
        # Every loop step is an env step, a reset (which stores a first row) included.
        assert int(state.env_steps) == 2 * 64 and rows.is_last.sum() >= 2
        returns = np.asarray(finished)[~np.isnan(finished)]
        assert returns.size >= 2 and (returns >= 1).all(), returns    # ~22-step episodes

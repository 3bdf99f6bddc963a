"""The agent contract, for every agent: ``run(key)`` is ``init`` + N ``step``s bit for
bit, the step compiles once, vmapped seeds equal single seeds, typed and legacy keys
agree, and the policy acts through the one shared evaluation loop."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jwm
from jwm.agents import AgentState, evaluate
from jwm.training.checkpoints import RunDirectory

# Compile time dominates these tiny runs; both sides of every comparison use the same
# options, so bit-for-bit holds as it does at the default level.
FAST_COMPILE = {"xla_backend_optimization_level": 0}
PENDULUM = jwm.envs.make("gymnax:Pendulum-v1")
CARTPOLE = jwm.envs.make("gymnax:CartPole-v1")


def _pets():
    model = jwm.models.ensemble_model(PENDULUM.observation_space, PENDULUM.action_space,
                                      ensemble_size=2, hidden_sizes=(8,), particles=2)
    planner = jwm.planners.cem(model, PENDULUM.action_space, horizon=3, population=8,
                               iterations=1)
    return jwm.agents.pets(PENDULUM, model, planner, total_steps=30, steps_per_episode=10,
                           fit_options=dict(epochs=2, batch_size=8))


def _svg():
    model = jwm.models.ensemble_model(PENDULUM.observation_space, PENDULUM.action_space,
                                      ensemble_size=2, hidden_sizes=(8,), particles=2)
    learner = jwm.imagination.value_gradient(
        jwm.models.member_model(model), PENDULUM.observation_space, PENDULUM.action_space,
        horizon=3, actor_hidden_sizes=(8,), critic_hidden_sizes=(8,))
    return jwm.agents.svg(PENDULUM, model, learner, total_steps=30, steps_per_episode=10,
                          updates_per_episode=2, batch_size=8, eval_episodes=2,
                          fit_options=dict(epochs=2, batch_size=8))


def _dreamer():
    rssm = jwm.models.rssm_model(CARTPOLE.observation_space, CARTPOLE.action_space, deter=16,
                                 hidden=8, stoch=4, classes=4, units=8, blocks=2)
    behavior = jwm.imagination.actor_critic(rssm.features, rssm.feature_dim,
                                            CARTPOLE.action_space, horizon=3,
                                            actor_hidden_sizes=(8,), critic_hidden_sizes=(8,))
    return jwm.agents.dreamer(CARTPOLE, rssm, behavior, total_steps=96, num_envs=2,
                              prefill=32, train_every=16, batch_size=2, seq_len=8,
                              eval_every=32, eval_episodes=2, eval_steps=20)


def _muzero():
    model = jwm.models.muzero_model(CARTPOLE.observation_space, CARTPOLE.action_space,
                                    latent_size=8, hidden_sizes=(8,), support=5)
    search = jwm.agents.muzero_search(model, CARTPOLE.action_space, num_simulations=4)
    return jwm.agents.muzero(CARTPOLE, model, search=search, total_steps=48, num_envs=2,
                             unroll_steps=2, n_step=2, batch_size=4, train_every=8,
                             train_steps=1, eval_every=16, eval_episodes=2, eval_steps=20,
                             reanalyse_fraction=0.5, target_update_every=2)


BUILDERS = {"pets": (_pets, PENDULUM), "svg": (_svg, PENDULUM), "dreamer": (_dreamer, CARTPOLE),
            "muzero": (_muzero, CARTPOLE)}


def _raw(x):
    return np.asarray(jax.random.key_data(x) if jnp.issubdtype(x.dtype, jax.dtypes.prng_key)
                      else x)


def assert_trees_equal(a, b):
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for (path, x), y in zip(jax.tree_util.tree_flatten_with_path(a)[0], jax.tree.leaves(b)):
        np.testing.assert_array_equal(_raw(x), _raw(y), err_msg=jax.tree_util.keystr(path))


@pytest.fixture(scope="module", params=sorted(BUILDERS))
def built(request):
    build, env = BUILDERS[request.param]
    agent = build()
    run = jax.jit(agent.run, compiler_options=FAST_COMPILE)
    return agent, env, run, run(jax.random.key(0))


def test_run_is_init_then_steps_bit_for_bit_and_keys_of_both_kinds_agree(built):
    agent, _, _, (final, metrics) = built
    assert isinstance(final, AgentState)
    step = jax.jit(agent.step, compiler_options=FAST_COMPILE)
    # A legacy key; run got a typed one.
    state = jax.jit(agent.init, compiler_options=FAST_COMPILE)(jax.random.PRNGKey(0))
    history = []
    for _ in range(agent.iterations):
        state, m = step(state)
        history.append(m)
    assert step._cache_size() == 1                        # one compile for every iteration
    assert_trees_equal((state, jax.tree.map(lambda *x: jnp.stack(x), *history)),
                       (final, metrics))
    assert int(final.iteration) == agent.iterations
    np.testing.assert_array_equal(final.env_steps, metrics.env_steps[-1])
    assert int(final.updates) > 0
    # Every agent reports the same fields first.
    assert metrics._fields[:2] == ("env_steps", "eval_return")
    assert np.isfinite(metrics.eval_return).all()
    assert len(repr(final)) < 4000 and "f32[" in repr(final)


def test_vmapped_seeds_equal_single_seeds(built):
    agent, _, run, _ = built
    keys = jax.random.split(jax.random.key(1), 2)
    _, batched = jax.jit(jax.vmap(agent.run), compiler_options=FAST_COMPILE)(keys)
    for i in range(2):
        _, single = run(keys[i])
        # A batched program may round differently from a single one (XLA fuses them
        # differently), so equal means equal to float32 rounding here.
        for (path, x), y in zip(jax.tree_util.tree_flatten_with_path(single)[0],
                                jax.tree.leaves(batched)):
            np.testing.assert_allclose(np.asarray(y[i], np.float64), np.asarray(x, np.float64),
                                       rtol=1e-4, atol=1e-4, err_msg=jax.tree_util.keystr(path))


def test_policy_acts_through_the_shared_evaluation(built):
    agent, env, _, (final, _) = built
    params = agent.policy_params(final)
    returns = jax.jit(lambda p, k: evaluate(env, agent.policy, p, k, episodes=3, num_steps=15),
                      compiler_options=FAST_COMPILE)(params, jax.random.key(2))
    assert returns.shape == (3,) and np.isfinite(returns).all()
    assert bool((returns > 0).all()) if env is CARTPOLE else bool((returns < 0).all())



def test_every_agents_state_survives_a_checkpoint(built, tmp_path):
    """The driver's checkpoints hold every part of each agent's state (replay buffers,
    sum trees, target networks, optimiser moments, env states, typed keys) bit for bit:
    what the driver restores is what it saved."""
    agent, _, _, (final, metrics) = built
    store = RunDirectory(tmp_path, {"agent": agent.name}, keep=1)
    store.save(agent.iterations, final, metrics)
    store.close()
    abstract_metrics = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape[1:], x.dtype),
                                    metrics)
    iteration, state, history = RunDirectory(tmp_path, {"agent": agent.name}, keep=1) \
        .restore_latest(jax.eval_shape(lambda: final), abstract_metrics,
                        jax.random.key_impl(final.key))
    assert iteration == agent.iterations
    assert_trees_equal((state, history), (final, metrics))

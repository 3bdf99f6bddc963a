"""PETS: the replay buffer, the whole act-plan-learn run as one program, and learning."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jwm
from jwm.agents import pets, transition_buffer
from jwm.models import Transitions, ensemble_model
from jwm.spaces import Box

from conftest import OPTIMISED

PENDULUM = jwm.envs.make("gymnax:Pendulum-v1")


def _agent(episodes, steps, *, hidden=64, horizon=20, population=100, epochs=100,
           fit_options=None, **kw):
    model = ensemble_model(PENDULUM.observation_space, PENDULUM.action_space, ensemble_size=3,
                           hidden_sizes=(hidden, hidden), particles=3)
    planner = jwm.planners.cem(model, PENDULUM.action_space, horizon=horizon,
                               population=population, iterations=3, elite_frac=0.1)
    return pets(PENDULUM, model, planner, total_steps=episodes * steps, steps_per_episode=steps,
                fit_options=fit_options or dict(epochs=epochs), **kw)


@pytest.fixture(scope="module")
def learning_run():
    agent = _agent(4, 200)
    return agent, jax.jit(jax.vmap(agent.run), compiler_options=OPTIMISED)(
        jax.random.split(jax.random.key(0), 4))


def test_pets_improves_the_return_on_pendulum(learning_run):
    _, (_, metrics) = learning_run
    returns = np.asarray(metrics.eval_return)
    random_return, learned = returns[:, 0], returns[:, 1:]
    # Random actions score about -1000 to -1600; a swing-up that balances scores > -200.
    assert learned[:, -1].mean() > random_return.mean() + 400, returns
    assert (learned.max(1) > -300).sum() >= 3, returns


def test_pets_metrics_and_buffer(learning_run):
    agent, (state, m) = learning_run
    assert m.eval_return.shape == (4, 4) and m.model.val_error.shape == (4, 4, 3)
    np.testing.assert_array_equal(m.train_return, m.eval_return)
    np.testing.assert_array_equal(m.env_steps[0], [200, 400, 600, 800])
    np.testing.assert_array_equal(m.random[0], [True, False, False, False])
    assert np.isnan(m.planner.predicted_return[:, 0]).all()
    assert np.isfinite(m.planner.predicted_return[:, 1:]).all()
    assert np.isfinite(m.model.val_error).all() and np.isfinite(m.model.loss).all()
    assert (np.asarray(m.num_nonfinite) == 0).all()
    assert agent.config["capacity"] == 800 and agent.iterations == 4
    np.testing.assert_array_equal(state.iteration, 4)
    np.testing.assert_array_equal(state.env_steps, 800)
    np.testing.assert_array_equal(state.updates, 4)
    contents = jax.vmap(transition_buffer(800, (3,), (1,)).contents)(state.buffer)
    assert int(contents.valid.sum()) == 4 * 800
    # Stored transitions are the env's: next_obs is the following row's obs within an episode.
    np.testing.assert_allclose(contents.next_obs[0, :199], contents.obs[0, 1:200])


def test_whole_run_is_one_program_that_compiles_once():
    small = lambda k: _agent(k, 20, hidden=8, horizon=5, population=8, epochs=2)
    run = jax.jit(small(3).run)
    run(jax.random.key(0))
    run(jax.random.key(1))
    assert run._cache_size() == 1
    # Episodes are a scan, not unrolled: the traced program does not grow with their number.
    eqns = [len(jax.make_jaxpr(small(k).run)(jax.random.key(0)).jaxpr.eqns) for k in (3, 7)]
    assert eqns[0] == eqns[1], eqns


def test_buffer_wraps_and_masks():
    buf = transition_buffer(5, (2,), (1,))
    rows = lambda n, v, valid: Transitions(jnp.full((n, 2), v), jnp.zeros((n, 1)), jnp.full(n, v),
                                           jnp.zeros((n, 2)), valid)
    state = buf.add(buf.init(), rows(3, 1.0, jnp.array([True, True, False])))
    c = buf.contents(state)
    np.testing.assert_array_equal(c.valid, [True, True, False, False, False])
    state = buf.add(state, rows(4, 2.0, jnp.ones(4, bool)))
    c = buf.contents(state)
    np.testing.assert_array_equal(c.reward, [2.0, 2.0, 1.0, 2.0, 2.0])
    np.testing.assert_array_equal(c.valid, [True, True, False, True, True])
    with pytest.raises(ValueError, match="capacity"):
        buf.add(state, rows(6, 0.0, jnp.ones(6, bool)))
    with pytest.raises(ValueError, match="capacity"):
        transition_buffer(0, (2,), (1,))


def test_bad_input_is_rejected():
    other = ensemble_model(Box(-1.0, 1.0, (4,)), PENDULUM.action_space, ensemble_size=1, particles=1)
    planner = jwm.planners.random_shooting(other, PENDULUM.action_space, horizon=2, population=2)
    with pytest.raises(ValueError, match="observations have shape"):
        pets(PENDULUM, other, planner)
    wrong_action = ensemble_model(PENDULUM.observation_space, Box(-1.0, 1.0, (2,)), ensemble_size=1,
                                  particles=1)
    with pytest.raises(ValueError, match="actions have shape"):
        pets(PENDULUM, wrong_action, planner)
    with pytest.raises(ValueError, match="prefill must be an int >= 1"):
        _agent(3, 20, prefill=0)
    with pytest.raises(ValueError, match="total_steps must be an int >= 1"):
        _agent(0, 20)
    with pytest.raises(ValueError, match=r"prefill \(20\) must be < total_steps \(20\)"):
        _agent(1, 20)
    with pytest.raises(ValueError, match="no episode is planned"):
        _agent(2, 20, prefill=40)
    with pytest.raises(ValueError, match=r"prefill \(30\) must be a whole number of episodes.*"
                                         r"e\.g\. 20 or 40"):
        _agent(3, 20, prefill=30)
    with pytest.raises(ValueError, match="capacity"):
        _agent(3, 20, capacity=10)
    with pytest.raises(ValueError, match="fit_options"):
        _agent(2, 20, fit_options={"epoch": 3})
    with pytest.raises(TypeError, match="learned dynamics model"):
        pets(PENDULUM, jwm.models.true_model(PENDULUM), planner)

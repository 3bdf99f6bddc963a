"""Every hyperparameter that does not fix a shape may be traced: planners, the model
fit and gymnax env parameters built inside ``jax.vmap`` over two settings give what
each setting built with concrete numbers gives, and the shape-fixing ones are refused
when traced, naming the parameter."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jwm
from jwm.models.fit import Transitions, fit

PENDULUM = jwm.envs.make("gymnax:Pendulum-v1")
CARTPOLE = jwm.envs.make("gymnax:CartPole-v1")
KEY = jax.random.key(0)


def assert_traced_equals_concrete(build_and_run, settings: dict):
    """``build_and_run(**values)`` vmapped over the two settings of each name equals
    the second setting built from Python floats, and the settings change the result."""
    values = {k: jnp.asarray(v, jnp.float32) for k, v in settings.items()}
    traced = jax.jit(jax.vmap(lambda h: build_and_run(**h)))(values)
    concrete = jax.jit(lambda: build_and_run(**{k: v[1] for k, v in settings.items()}))()
    for t, c in zip(jax.tree.leaves(traced), jax.tree.leaves(concrete)):
        np.testing.assert_allclose(np.asarray(t[1], float), np.asarray(c, float), rtol=2e-5,
                                   atol=1e-6)
    assert any(not np.allclose(np.asarray(t[0], float), np.asarray(t[1], float))
               for t in jax.tree.leaves(traced))


def _plan(planner, env):
    model = jwm.models.true_model(env)
    params = model.init(KEY)
    state, obs = env.reset(KEY)
    latent = model.encode(params, state)
    action, _, info = planner.plan(planner.init(KEY), params, latent, jax.random.key(1))
    return action, info.predicted_return


def test_cem():
    def run(alpha, min_std, init_std, discount):
        model = jwm.models.true_model(PENDULUM)
        return _plan(jwm.planners.cem(model, PENDULUM.action_space, horizon=4, population=16,
                                      iterations=3, alpha=alpha, min_std=min_std,
                                      init_std=init_std, discount=discount), PENDULUM)

    assert_traced_equals_concrete(run, dict(alpha=[0.0, 0.5], min_std=[0.0, 0.3],
                                            init_std=[0.5, 1.0], discount=[1.0, 0.9]))


def test_mppi():
    def run(temperature, noise_std, smoothing):
        model = jwm.models.true_model(PENDULUM)
        return _plan(jwm.planners.mppi(model, PENDULUM.action_space, horizon=4, population=16,
                                       iterations=2, temperature=temperature,
                                       noise_std=noise_std, smoothing=smoothing), PENDULUM)

    assert_traced_equals_concrete(run, dict(temperature=[1.0, 0.3], noise_std=[0.5, 1.0],
                                            smoothing=[0.0, 0.6]))


@pytest.mark.parametrize("rule, settings", [
    ("puct", dict(pb_c_init=[1.25, 3.0], dirichlet_fraction=[0.0, 0.25], temperature=[0.0, 1.0],
                  dirichlet_alpha=[0.3, 1.0])),
    ("gumbel", dict(gumbel_scale=[0.0, 1.0], value_scale=[0.1, 1.0], maxvisit_init=[50.0, 5.0],
                    discount=[0.99, 0.5])),
])
def test_mcts(rule, settings):
    def run(**knobs):
        model = jwm.models.true_model(CARTPOLE)
        planner = jwm.planners.mcts(model, CARTPOLE.action_space, num_simulations=8,
                                    rollout_depth=4, rule=rule, **knobs)
        action, plan_state, info = planner.plan(planner.init(KEY), model.init(KEY),
                                                model.encode(None, CARTPOLE.reset(KEY)[0]),
                                                jax.random.key(1))
        return action, info.visit_counts, info.root_value

    assert_traced_equals_concrete(run, settings)


def test_model_fit():
    model = jwm.models.ensemble_model(PENDULUM.observation_space, PENDULUM.action_space,
                                      ensemble_size=2, hidden_sizes=(8,))
    rows = 24
    k = jax.random.split(KEY, 4)
    data = Transitions(obs=jax.random.normal(k[0], (rows, 3)),
                       action=jax.random.uniform(k[1], (rows, 1), minval=-2, maxval=2),
                       reward=jax.random.normal(k[2], (rows,)),
                       next_obs=jax.random.normal(k[3], (rows, 3)), valid=jnp.ones(rows, bool))

    def run(learning_rate, weight_decay, logvar_penalty):
        params, info = fit(model, model.init(KEY), data, KEY, epochs=3, batch_size=8,
                           learning_rate=learning_rate, weight_decay=weight_decay,
                           logvar_penalty=logvar_penalty)
        return info.train_loss, params.net

    assert_traced_equals_concrete(run, dict(learning_rate=[1e-3, 1e-2], weight_decay=[0.0, 0.1],
                                            logvar_penalty=[0.01, 0.1]))


def test_gymnax_env_parameters():
    def run(gravity, force_mag):
        env = jwm.envs.make("gymnax:CartPole-v1", gravity=gravity, force_mag=force_mag)
        state, _ = env.reset(KEY)
        return jax.lax.scan(lambda s, k: (env.transition(k, s, jnp.int32(1)).state, None),
                            state, jax.random.split(KEY, 5))[0]

    assert_traced_equals_concrete(run, dict(gravity=[9.8, 20.0], force_mag=[10.0, 5.0]))


@pytest.mark.parametrize("build, match", [
    (lambda v: jwm.planners.cem(jwm.models.true_model(PENDULUM), PENDULUM.action_space,
                                horizon=2, population=8, elite_frac=v),
     "cem: elite_frac fixes a shape"),
    (lambda v: jwm.planners.cem(jwm.models.true_model(PENDULUM), PENDULUM.action_space,
                                horizon=2, population=v), "cem: population must be an int"),
    (lambda v: jwm.envs.make("gymnax:CartPole-v1", max_steps_in_episode=v),
     "max_steps_in_episode fixes the time limit"),
])
def test_shape_fixing_values_are_refused_when_traced(build, match):
    with pytest.raises(TypeError, match=match):
        jax.eval_shape(lambda v: build(v) and jnp.zeros(()), jnp.float32(0.5))

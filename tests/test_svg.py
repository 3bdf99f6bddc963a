"""SVG: value gradients through the model, the learner, and the whole agent run."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jwm
from jwm.agents import svg as svg_agent
from jwm.imagination import value_gradient
from jwm.models import ensemble_model, member_model, mlp_model
from jwm.spaces import Box, Discrete

from conftest import OPTIMISED

PENDULUM = jwm.envs.make("gymnax:Pendulum-v1")
DIFF_PENDULUM = jwm.envs.make("gymnax:Pendulum-v1", transition_gradients=True)
BOX1 = Box(-1.0, 1.0, (1,))
BOX2 = Box(-10.0, 10.0, (2,))


def _linear_model(stop_dynamics=False):
    """x' = A x + B u, reward -|x|^2 (no direct action term, so every gradient of the
    return must go through the dynamics). The latent is the observation itself."""
    a = jnp.array([[1.0, 0.1], [0.0, 1.0]])
    b = jnp.array([[0.0], [0.1]])

    def step(params, x, u, key):
        nxt = params[0] @ x + params[1] @ u
        if stop_dynamics:
            nxt = jax.lax.stop_gradient(nxt)
        return nxt, -(x @ x), jnp.ones(())

    return jwm.WorldModel(init=lambda key: (a, b), encode=lambda p, obs: obs, step=step)


def _actor_grad_fn(learner, key=jax.random.key(1)):
    """``grad(model_params, latents) -> flat actor gradient``, jitted once per learner
    (op-by-op dispatch of an unjitted grad is slower on CPU)."""

    @jax.jit
    def grad(model_params, latents):
        state = learner.init(jax.random.key(0))
        grads = jax.grad(lambda p: learner.actor_loss(p, state, learner.model, model_params,
                                                      latents, key))(state.actor)
        return jnp.concatenate([jnp.ravel(g) for g in jax.tree.leaves(grads)])

    return lambda model_params, latents: np.asarray(grad(model_params, latents))


def _actor_grad(learner, model_params, latents):
    return _actor_grad_fn(learner)(model_params, latents)


def test_actor_gradient_flows_through_the_dynamics():
    starts = jax.random.normal(jax.random.key(2), (16, 2))
    grads = {}
    for stop in (False, True):
        model = _linear_model(stop)
        learner = value_gradient(model, BOX2, BOX1, horizon=3, observe=lambda x: x, entropy_coef=0.0,
                      actor_hidden_sizes=(16,), critic_hidden_sizes=(16,))
        grads[stop] = _actor_grad(learner, model.init(None), starts)
    assert np.isfinite(grads[False]).all() and np.abs(grads[False]).max() > 1e-6
    # With the dynamics cut, the actions reach neither a reward nor a value: the whole
    # gradient came through model.step.
    np.testing.assert_array_equal(grads[True], 0.0)


def test_actor_gradient_depends_on_the_dynamics():
    model = _linear_model()
    learner = value_gradient(model, BOX2, BOX1, horizon=3, observe=lambda x: x, entropy_coef=0.0,
                  actor_hidden_sizes=(16,), critic_hidden_sizes=(16,))
    starts = jax.random.normal(jax.random.key(2), (16, 2))
    a, b = model.init(None)
    grad = _actor_grad_fn(learner)
    g1 = grad((a, b), starts)
    g2 = grad((a, -b), starts)                     # the action pushes the other way
    assert np.abs(g1 - g2).max() > 1e-3 * np.abs(g1).max()


def test_gradients_through_learned_and_true_pendulum_models():
    ens = ensemble_model(PENDULUM.observation_space, PENDULUM.action_space, ensemble_size=3,
                         hidden_sizes=(16, 16), particles=3)
    view = member_model(ens)
    learner = value_gradient(view, PENDULUM.observation_space, PENDULUM.action_space, horizon=3,
                  actor_hidden_sizes=(16,), critic_hidden_sizes=(16,))
    params = ens.init(jax.random.key(3))
    obs = jax.vmap(lambda k: PENDULUM.reset(k)[1])(jax.random.split(jax.random.key(4), 8))
    latents = jax.vmap(view.encode, (None, 0))(params, obs)
    g = _actor_grad(learner, params, latents)
    assert np.isfinite(g).all() and np.abs(g).max() > 0

    states = jax.vmap(lambda k: PENDULUM.reset(k)[0])(jax.random.split(jax.random.key(4), 8))
    norms = {}
    for env in (PENDULUM, DIFF_PENDULUM):
        true = jwm.models.true_model(env)
        learner = value_gradient(true, env.observation_space, env.action_space, horizon=3,
                      observe=env.observe, entropy_coef=0.0, actor_hidden_sizes=(16,),
                      critic_hidden_sizes=(16,))
        g = _actor_grad(learner, (), states)
        assert np.isfinite(g).all()
        norms[env is DIFF_PENDULUM] = np.linalg.norm(g)
    # gymnax detaches transitions unless asked: only the -0.001 u^2 reward term is left.
    assert norms[True] > 10 * norms[False] > 0, norms


def test_env_observe_and_transition_gradients():
    state, obs = DIFF_PENDULUM.reset(jax.random.key(0))
    np.testing.assert_allclose(DIFF_PENDULUM.observe(state), obs)
    theta = lambda env, u: env.transition(jax.random.key(1), state, u).state.theta
    assert jax.grad(lambda u: theta(DIFF_PENDULUM, u).sum())(jnp.array([0.5])) != 0
    assert jax.grad(lambda u: theta(PENDULUM, u).sum())(jnp.array([0.5])) == 0
    with pytest.raises(ValueError, match="transition gradients"):
        jwm.envs.make("gymnax:CartPole-v1", transition_gradients=True)


def test_member_model_keeps_one_member_per_trajectory():
    ens = ensemble_model(PENDULUM.observation_space, PENDULUM.action_space, ensemble_size=4,
                         hidden_sizes=(8,), particles=4, probabilistic=False)
    view = member_model(ens)
    params = ens.init(jax.random.key(0))
    latent = view.encode(params, jnp.array([1.0, 0.0, 0.5]))
    assert int(latent.member) == -1
    members = []
    step = jax.jit(view.step)
    for i in range(3):
        latent, reward, discount = step(params, latent, jnp.array([0.3]), jax.random.key(i))
        members.append(int(latent.member))
        assert latent.obs.shape == (3,) and reward.shape == () and float(discount) == 1.0
    assert members[0] in range(4) and len(set(members)) == 1
    # One member of an MLP model: the view steps exactly as the model's one particle.
    mlp = mlp_model(PENDULUM.observation_space, PENDULUM.action_space, hidden_sizes=(8,))
    p = mlp.init(jax.random.key(1))
    obs, u = jnp.array([0.0, 1.0, -1.0]), jnp.array([-1.0])
    a = mlp.step(p, mlp.encode(p, obs), u, jax.random.key(2))
    b = member_model(mlp).step(p, member_model(mlp).encode(p, obs), u, jax.random.key(2))
    np.testing.assert_allclose(a[0].obs[0], b[0].obs, rtol=1e-6)
    np.testing.assert_allclose(a[1], b[1], rtol=1e-6)


@pytest.fixture(scope="module")
def true_model_run():
    true = jwm.models.true_model(DIFF_PENDULUM)
    learner = value_gradient(true, DIFF_PENDULUM.observation_space, DIFF_PENDULUM.action_space,
                  horizon=10, observe=DIFF_PENDULUM.observe)
    agent = svg_agent(DIFF_PENDULUM, true, learner, total_steps=1_000, updates_per_episode=200,
                      batch_size=128, eval_episodes=4)
    return agent, jax.jit(jax.vmap(agent.run), compiler_options=OPTIMISED)(
        jax.random.split(jax.random.key(0), 2))


def test_svg_with_the_true_model_improves_the_return(true_model_run):
    agent, (_, m) = true_model_run
    assert not agent.config["learned"] and m.eval_return.shape == (2, 5)
    assert np.isnan(m.model.loss).all() and m.model.val_error.shape == (2, 5, 1)
    initial = float(m.train_return[:, 0].mean())          # uniformly random actions
    final = float(m.eval_return[:, -1].mean())
    # Random actions score about -1200; a swing-up that balances scores above -200.
    assert final > initial + 500, np.asarray(m.eval_return)
    assert np.isfinite(m.learner.actor_loss).all() and np.isfinite(m.learner.critic_loss).all()


def test_learned_model_run_compiles_once_with_metrics_of_the_right_shapes():
    model = ensemble_model(PENDULUM.observation_space, PENDULUM.action_space, ensemble_size=2,
                           hidden_sizes=(8,), particles=2)
    learner = value_gradient(member_model(model), PENDULUM.observation_space, PENDULUM.action_space,
                  horizon=3, actor_hidden_sizes=(8,), critic_hidden_sizes=(8,))
    agent = svg_agent(PENDULUM, model, learner, total_steps=60, steps_per_episode=20,
                      updates_per_episode=2, batch_size=8, eval_episodes=2,
                      fit_options=dict(epochs=2))
    assert agent.config["learned"] and agent.config["capacity"] == 60
    run = jax.jit(agent.run)      # vmapped over seeds in the true-model test
    state, m = run(jax.random.key(0))
    run(jax.random.key(1))
    assert run._cache_size() == 1
    flat = jwm.training.pytrees.flat_metrics(m)
    assert "learner/last_latents" not in flat
    for field, value in flat.items():
        assert value.shape == ((3, 2) if field == "model/val_error" else (3,)), field
    np.testing.assert_array_equal(m.env_steps, [20, 40, 60])
    np.testing.assert_array_equal(m.random, [True, False, False])
    for field in ("eval_return", "learner/actor_loss", "learner/critic_loss", "model/loss",
                  "model/val_error"):
        assert np.isfinite(flat[field]).all(), field
    assert int(state.learner.steps) == 6 and int(state.updates) == 6


def test_bad_inputs_are_rejected():
    model = _linear_model()
    with pytest.raises(ValueError, match="horizon"):
        value_gradient(model, BOX2, BOX1, horizon=0, observe=lambda x: x)
    with pytest.raises(TypeError, match="action_space"):
        value_gradient(model, BOX2, Discrete(3), observe=lambda x: x)
    with pytest.raises(ValueError, match="action_space"):
        value_gradient(model, BOX2, Box(-np.inf, np.inf, (1,)), observe=lambda x: x)
    for param, value in (("discount", 1.5), ("discount", 0.0), ("lambda_", -0.1),
                         ("actor_lr", 0.0), ("grad_clip", -1.0), ("target_tau", 0.0),
                         ("entropy_coef", -1.0), ("actor_hidden_sizes", (8, 0)),
                         ("activation", "gelu")):
        with pytest.raises(ValueError, match=param):
            value_gradient(model, BOX2, BOX1, observe=lambda x: x, **{param: value})
    with pytest.raises(TypeError, match="observe"):
        value_gradient(model, BOX2, BOX1, observe=3)
    with pytest.raises(TypeError, match="WorldModel"):
        value_gradient(object(), BOX2, BOX1)
    with pytest.raises(TypeError, match="EnsembleModel"):
        member_model(model)

    ens = ensemble_model(PENDULUM.observation_space, PENDULUM.action_space, ensemble_size=1,
                         particles=1, hidden_sizes=(8,))
    learner = value_gradient(member_model(ens), PENDULUM.observation_space, PENDULUM.action_space)
    with pytest.raises(ValueError, match="prefill must be an int >= 1"):
        svg_agent(PENDULUM, ens, learner, prefill=0)
    with pytest.raises(ValueError, match="updates_per_episode"):
        svg_agent(PENDULUM, ens, learner, updates_per_episode=0)
    with pytest.raises(ValueError, match="fit_options"):
        svg_agent(PENDULUM, ens, learner, fit_options={"epoch": 3})
    true = jwm.models.true_model(DIFF_PENDULUM)
    with pytest.raises(ValueError, match="observes_state"):
        svg_agent(DIFF_PENDULUM, true, learner)     # learner imagines in another model
    true_learner = value_gradient(true, PENDULUM.observation_space, PENDULUM.action_space,
                       observe=DIFF_PENDULUM.observe)
    with pytest.raises(ValueError, match="fit_options"):
        svg_agent(DIFF_PENDULUM, true, true_learner, fit_options={"epochs": 3})
    with pytest.raises(TypeError, match="learner"):
        svg_agent(PENDULUM, ens, object())


def test_actions_stay_in_the_box_even_for_nan_observations():
    learner = value_gradient(_linear_model(), BOX2, Box(-2.0, 3.0, (1,)))
    state = learner.init(jax.random.key(0))
    obs = jax.random.normal(jax.random.key(1), (64, 2)) * 100
    obs = obs.at[:3].set(jnp.nan)
    for deterministic in (False, True):
        a = learner.act(state.actor, obs, jax.random.key(2), deterministic)
        assert a.shape == (64, 1) and bool(jnp.isfinite(a).all())
        assert float(a.min()) >= -2.0 and float(a.max()) <= 3.0
        np.testing.assert_array_equal(a[:3], 0.5)

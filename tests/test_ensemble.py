"""Learned dynamics: the ensemble network, trajectory sampling, normalisation, fitting."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jwm
from jwm.models import Transitions, ensemble_model, fit, fit_normalizer, mlp_model
from jwm.spaces import Box, Discrete

BOX1 = Box(-1.0, 1.0, (1,))


def _sine_data(n, valid, key, noise=0.05, lo=-1.0, hi=1.0):
    """next = obs + sin(3 a) + noise, reward = a^2, obs fixed at 0 (a 1-D regression)."""
    k_a, k_n = jax.random.split(key)
    a = jax.random.uniform(k_a, (n, 1), minval=lo, maxval=hi)
    obs = jnp.zeros((n, 1))
    nxt = obs + jnp.sin(3 * a) + noise * jax.random.normal(k_n, (n, 1))
    return Transitions(obs, a, a[:, 0] ** 2, nxt, jnp.arange(n) < valid)


def _predict(model, params, actions):
    """Member means and variances (raw units) of the delta at obs 0: ``[E, B]`` each."""
    x = params.input_norm.normalize(model.features(jnp.zeros((actions.shape[0], 1)), actions))
    mean, logvar = model.forward(params.net, jnp.broadcast_to(x, (model.ensemble_size,) + x.shape))
    mu = params.target_norm.denormalize(mean)[..., 0]
    if logvar is None:
        return mu, None
    var = jnp.exp(logvar[..., 0]) * params.target_norm.std[0] ** 2
    return mu, var


@pytest.fixture(scope="module")
def fitted():
    model = ensemble_model(BOX1, BOX1, hidden_sizes=(64, 64), particles=5)
    data = _sine_data(512, 400, jax.random.key(0))
    params, info = jax.jit(lambda p, d, k: fit(model, p, d, k, epochs=100))(
        model.init(jax.random.key(1)), data, jax.random.key(2))
    return model, params, info


def test_ensemble_fits_nonlinear_function(fitted):
    model, params, info = fitted
    a = jnp.linspace(-0.9, 0.9, 37)[:, None]
    mu, _ = _predict(model, params, a)
    np.testing.assert_allclose(mu.mean(0), jnp.sin(3 * a[:, 0]), atol=0.08)
    # Hold-out error (normalised units) well below the target's variance of 1.
    assert float(info.best_val_error.max()) < 0.02
    assert int(info.num_val) == 40 and int(info.num_train) == 360


def test_ensemble_variance_is_calibrated_in_range_and_grows_away_from_data(fitted):
    model, params, _ = fitted
    held_out = _sine_data(2000, 2000, jax.random.key(7))
    mu, var = _predict(model, params, held_out.action)
    resid = held_out.next_obs[:, 0] - mu.mean(0)
    total = var.mean(0) + mu.var(0)
    z2 = float(jnp.mean(resid ** 2 / total))
    # Standardised squared residuals average ~1 when the predicted variance is calibrated.
    assert 0.6 < z2 < 1.6, z2
    inside = _predict(model, params, jnp.array([[0.0], [0.5], [-0.5]]))
    outside = _predict(model, params, jnp.array([[3.0], [-3.0]]))
    tot_in = inside[1].mean(0) + inside[0].var(0)
    tot_out = outside[1].mean(0) + outside[0].var(0)
    assert float(tot_out.min()) > 10 * float(tot_in.max())
    # The members disagree away from the data (epistemic spread).
    assert float(outside[0].var(0).min()) > 10 * float(inside[0].var(0).max())


def test_learned_reward_is_fitted(fitted):
    model, params, _ = fitted
    x = params.input_norm.normalize(model.features(jnp.zeros((3, 1)), jnp.array([[0.0], [0.5], [-0.8]])))
    mean, _ = model.forward(params.net, jnp.broadcast_to(x, (5,) + x.shape))
    reward = params.target_norm.denormalize(mean)[..., 1].mean(0)
    np.testing.assert_allclose(reward, [0.0, 0.25, 0.64], atol=0.05)


def test_deterministic_mlp_trains_by_squared_error():
    model = mlp_model(BOX1, BOX1, hidden_sizes=(32, 32))
    data = _sine_data(256, 256, jax.random.key(3), noise=0.0)
    params, info = fit(model, model.init(jax.random.key(4)), data, jax.random.key(5), epochs=60)
    assert info.val_error.shape == (60, 1)
    assert float(info.train_loss[-1]) < 0.1 * float(info.train_loss[0])
    mu, _ = _predict(model, params, jnp.array([[0.3]]))
    np.testing.assert_allclose(mu[0, 0], np.sin(0.9), atol=0.1)
    assert jax.tree.leaves(params.net)[0].shape[0] == 1


def test_constant_dimensions_do_not_blow_up():
    x = jnp.stack([jnp.full(50, 3.0), jnp.linspace(0, 1, 50)], 1)
    norm = fit_normalizer(x)
    out = norm.normalize(x)
    assert np.all(np.isfinite(out)) and float(jnp.abs(out[:, 0]).max()) == 0.0
    np.testing.assert_allclose(norm.std[0], 1.0)
    # A model fit on data with a constant observation dimension stays finite.
    obs_space = Box(-1.0, 1.0, (2,))
    model = ensemble_model(obs_space, BOX1, hidden_sizes=(16,), ensemble_size=2, particles=2)
    n = 64
    a = jnp.linspace(-1, 1, n)[:, None]
    obs = jnp.stack([jnp.full(n, 0.7), jnp.zeros(n)], 1)
    data = Transitions(obs, a, jnp.zeros(n), obs + jnp.concatenate([0 * a, a], 1), jnp.ones(n, bool))
    params, info = fit(model, model.init(jax.random.key(0)), data, jax.random.key(1), epochs=5)
    assert np.all(np.isfinite(info.train_loss))
    latent, r, d = model.step(params, model.encode(params, obs[0]), a[0], jax.random.key(2))
    assert np.all(np.isfinite(latent.obs)) and np.isfinite(r)


# --- trajectory sampling -------------------------------------------------------------------

E, P = 4, 8
OBS2 = Box(-1.0, 1.0, (2,))


@pytest.fixture(scope="module")
def members():
    """Deterministic members (no sampling noise) so propagation can be checked exactly."""
    models = {prop: ensemble_model(OBS2, BOX1, ensemble_size=E, particles=P, hidden_sizes=(16,),
                                   probabilistic=False, propagation=prop)
              for prop in jwm.models.PROPAGATIONS}
    params = models["ts_inf"].init(jax.random.key(0))
    return models, params


def _member_step(model, params, obs, action, member):
    """Raw next obs of one member for ``obs [B, d]``."""
    x = params.input_norm.normalize(model.features(obs, jnp.broadcast_to(action, obs.shape[:1] + action.shape)))
    mean, _ = model.forward(params.net, jnp.broadcast_to(x, (E,) + x.shape))
    return obs + params.target_norm.denormalize(mean[member])[:, :2]


def _rollout(model, params, obs0, actions, key):
    latent = model.encode(params, obs0)
    out = []
    for t, k in enumerate(jax.random.split(key, actions.shape[0])):
        latent, _, _ = model.step(params, latent, actions[t], k)
        out.append(latent.obs)
    return jnp.stack(out)


def test_ts_inf_keeps_each_particle_on_one_member(members):
    models, params = members
    obs0, actions = jnp.array([0.3, -0.2]), jnp.array([[0.5], [-0.4], [0.9]])
    traj = _rollout(models["ts_inf"], params, obs0, actions, jax.random.key(1))
    for p in range(P):
        obs = obs0[None]
        for t in range(3):
            obs = _member_step(models["ts_inf"], params, obs, actions[t], p // (P // E))
            np.testing.assert_allclose(traj[t, p], obs[0], rtol=1e-5, atol=1e-6)


def test_ts1_redraws_members_every_step_evenly(members):
    models, params = members
    obs0, action = jnp.array([0.3, -0.2]), jnp.array([0.5])
    latent = models["ts1"].encode(params, obs0)
    # From one shared state, the members' predictions are all distinct: read which member
    # moved each particle, over several steps' keys.
    outs = jnp.stack([_member_step(models["ts1"], params, obs0[None], action, m)[0] for m in range(E)])
    assignments = []
    for k in jax.random.split(jax.random.key(2), 6):
        nxt, _, _ = models["ts1"].step(params, latent, action, k)
        dist = jnp.linalg.norm(nxt.obs[:, None] - outs[None], axis=-1)
        assert float(dist.min(1).max()) < 1e-5
        member = np.asarray(dist.argmin(1))
        np.testing.assert_array_equal(np.bincount(member, minlength=E), P // E)
        assignments.append(member)
    assignments = np.stack(assignments)
    changed = (assignments[1:] != assignments[:-1]).mean()
    assert changed > 0.4, assignments


def test_expectation_moves_every_particle_to_the_member_mean(members):
    models, params = members
    obs0, action = jnp.array([0.3, -0.2]), jnp.array([0.5])
    nxt, _, _ = models["expectation"].step(params, models["expectation"].encode(params, obs0), action,
                                          jax.random.key(3))
    expected = jnp.stack([_member_step(models["ts_inf"], params, obs0[None], action, m)[0]
                          for m in range(E)]).mean(0)
    np.testing.assert_allclose(nxt.obs, jnp.broadcast_to(expected, (P, 2)), rtol=1e-5, atol=1e-6)


def test_probabilistic_ts_samples_spread_and_expectation_does_not():
    props = {}
    for prop in jwm.models.PROPAGATIONS:
        model = ensemble_model(OBS2, BOX1, ensemble_size=E, particles=P, hidden_sizes=(16,),
                               propagation=prop)
        params = model.init(jax.random.key(0))
        latent = model.encode(params, jnp.array([0.3, -0.2]))
        nxt, _, _ = model.step(params, latent, jnp.array([0.1]), jax.random.key(1))
        props[prop] = float(nxt.obs.std(0).max())
    assert props["expectation"] < 1e-6 and props["ts_inf"] > 0.01 and props["ts1"] > 0.01


def test_known_reward_and_termination_functions():
    def reward_fn(obs, action, next_obs):
        return -jnp.sum(next_obs ** 2)

    def termination_fn(obs, action, next_obs):
        return next_obs[0] > 0.0

    model = ensemble_model(OBS2, BOX1, ensemble_size=2, particles=4, hidden_sizes=(8,),
                           reward_fn=reward_fn, termination_fn=termination_fn)
    assert model.out_dim == 2 and not model.learns_reward
    params = model.init(jax.random.key(0))
    latent = model.encode(params, jnp.array([0.0, 0.0]))
    nxt, reward, discount = model.step(params, latent, jnp.array([0.4]), jax.random.key(1))
    alive = (nxt.obs[:, 0] <= 0).astype(jnp.float32)
    np.testing.assert_allclose(nxt.alive, alive)
    np.testing.assert_allclose(reward, (-(nxt.obs ** 2).sum(1)).mean(), rtol=1e-5)
    np.testing.assert_allclose(discount, alive.mean(), rtol=1e-6)
    # Once every particle has terminated the discount is 0, as planners expect.
    dead = latent._replace(alive=jnp.zeros(4))
    _, r_dead, d_dead = model.step(params, dead, jnp.array([0.4]), jax.random.key(1))
    assert float(d_dead) == 0.0 and float(r_dead) == 0.0


def test_discrete_actions_are_one_hot():
    model = ensemble_model(OBS2, Discrete(3), ensemble_size=2, particles=2, hidden_sizes=(8,))
    assert model.in_dim == 5
    params = model.init(jax.random.key(0))
    nxt, r, d = model.step(params, model.encode(params, jnp.zeros(2)), jnp.int32(2), jax.random.key(1))
    assert nxt.obs.shape == (2, 2) and r.shape == ()


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="ensemble_size"):
        ensemble_model(OBS2, BOX1, ensemble_size=0)
    with pytest.raises(TypeError, match="ensemble_size"):
        ensemble_model(OBS2, BOX1, ensemble_size=2.0)
    with pytest.raises(ValueError, match="particles"):
        ensemble_model(OBS2, BOX1, ensemble_size=3, particles=4)
    with pytest.raises(ValueError, match="propagation"):
        ensemble_model(OBS2, BOX1, propagation="ts")
    with pytest.raises(TypeError, match="observation_space"):
        ensemble_model(Discrete(3), BOX1)
    with pytest.raises(TypeError, match="reward_fn"):
        ensemble_model(OBS2, BOX1, reward_fn=3)
    with pytest.raises(ValueError, match="hidden_sizes"):
        ensemble_model(OBS2, BOX1, hidden_sizes=(8, 0))
    model = ensemble_model(OBS2, BOX1, ensemble_size=2, particles=2, hidden_sizes=(8,))
    params = model.init(jax.random.key(0))
    n = 4
    good = Transitions(jnp.zeros((n, 2)), jnp.zeros((n, 1)), jnp.zeros(n), jnp.zeros((n, 2)),
                       jnp.ones(n, bool))
    with pytest.raises(ValueError, match="empty buffer"):
        fit(model, params, good._replace(valid=jnp.zeros(n, bool)), jax.random.key(0))
    with pytest.raises(ValueError, match="data.obs"):
        fit(model, params, good._replace(obs=jnp.zeros((n, 3))), jax.random.key(0))
    with pytest.raises(ValueError, match="data.action"):
        fit(model, params, good._replace(action=jnp.zeros((n, 2))), jax.random.key(0))
    with pytest.raises(ValueError, match="epochs"):
        fit(model, params, good, jax.random.key(0), epochs=0)
    with pytest.raises(ValueError, match="holdout_ratio"):
        fit(model, params, good, jax.random.key(0), holdout_ratio=1.0)


@pytest.mark.parametrize("make", [
    lambda m: jwm.planners.cem(m, BOX1, horizon=4, population=16, iterations=2),
    lambda m: jwm.planners.mppi(m, BOX1, horizon=4, population=16, iterations=2),
    lambda m: jwm.planners.random_shooting(m, BOX1, horizon=4, population=16),
], ids=["cem", "mppi", "random_shooting"])
def test_shooting_planners_plan_on_particles(make):
    model = ensemble_model(OBS2, BOX1, ensemble_size=2, particles=4, hidden_sizes=(8,))
    params = model.init(jax.random.key(0))
    planner = make(model)
    latent = model.encode(params, jnp.array([0.1, -0.1]))
    action, _, info = jax.jit(planner.plan)(planner.init(jax.random.key(1)), params, latent,
                                            jax.random.key(2))
    assert action.shape == (1,) and bool(BOX1.contains(action))
    assert np.isfinite(float(info.predicted_return))


def test_sequence_return_is_the_mean_of_particle_returns_with_termination():
    """A planner's return of a sequence equals the mean over particles of each particle's
    own return, each stopping when that particle terminates."""
    reward_fn = lambda obs, a, nxt: nxt[0] + 0.1 * a[0]
    termination_fn = lambda obs, a, nxt: nxt[1] > 0.2
    model = ensemble_model(OBS2, BOX1, ensemble_size=2, particles=6, hidden_sizes=(8,),
                           reward_fn=reward_fn, termination_fn=termination_fn)
    params = model.init(jax.random.key(0))
    latent = model.encode(params, jnp.array([0.1, 0.0]))
    actions = jnp.array([[0.5], [-0.3], [0.9], [0.2], [-0.7]])
    key = jax.random.key(5)
    planned = jwm.planners.objective.sequence_return(model, params, latent, actions, key)
    z, totals = latent, np.zeros(6)
    for a, k in zip(actions, jax.random.split(key, actions.shape[0])):
        nxt, _, _ = model.step(params, z, a, k)
        rewards = jax.vmap(reward_fn, (0, None, 0))(z.obs, a, nxt.obs)
        totals += np.asarray(z.alive * rewards)
        z = nxt
    assert 0 < float(z.alive.sum()) < 6, "the check needs some particles to terminate"
    np.testing.assert_allclose(planned, totals.mean(), rtol=1e-5, atol=1e-6)


def test_sampling_std_is_the_clamped_logvar_of_the_likelihood():
    """``forward_std`` (one exp per element) is ``exp(logvar / 2)`` of ``forward``'s
    soft-clamped log-variance, inside the bounds and far beyond them."""
    from jwm.models.ensemble import _bounded_std

    raw = jnp.concatenate([jnp.linspace(-60.0, 40.0, 201), jnp.array([-1e4, 1e4])])
    for hi, lo in ((0.5, -10.0), (2.0, -3.0), (-1.0, -20.0)):
        max_lv, min_lv = jnp.float32(hi), jnp.float32(lo)
        logvar = max_lv - jax.nn.softplus(max_lv - raw)
        logvar = min_lv + jax.nn.softplus(logvar - min_lv)
        std = _bounded_std(raw, max_lv, min_lv)
        assert np.all(np.isfinite(std))
        np.testing.assert_allclose(std, jnp.exp(0.5 * logvar), rtol=2e-6)

    model = ensemble_model(BOX1, BOX1, hidden_sizes=(8,), ensemble_size=3, particles=3)
    params = model.init(jax.random.key(0))
    x = jax.random.normal(jax.random.key(1), (3, 7, 2)) * 10
    mean, logvar = model.forward(params.net, x)
    mean_s, std = model.forward_std(params.net, x)
    np.testing.assert_array_equal(mean, mean_s)
    np.testing.assert_allclose(std, jnp.exp(0.5 * logvar), rtol=2e-6)

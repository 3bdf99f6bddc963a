"""Public boundaries: `fit` on less data than a batch, shape errors of the learned
models, and the short repr of records."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jwm
from jwm.agents.mpc import Episode
from jwm.models import Transitions
from jwm.records import record_repr, summarize
from jwm.spaces import Box, Discrete

FAST_COMPILE = {"xla_backend_optimization_level": 0}  # tiny programs: compile dominates
OBS = Box(-1.0, 1.0, (3,))
ACT = Box(-1.0, 1.0, (1,))


# ------------------------------------------------------------------ fit


def transitions(n, obs_dim=3, action_dim=1, seed=0):
    rows = np.random.default_rng(seed).normal(size=(n, 2 * obs_dim + action_dim + 1))
    rows = rows.astype(np.float32)
    obs, action = rows[:, :obs_dim], rows[:, obs_dim:obs_dim + action_dim]
    return Transitions(obs, action, rows[:, obs_dim + action_dim],
                       rows[:, -obs_dim:], np.ones(n, bool))


@pytest.mark.parametrize("holdout_ratio,num_train", [(0.1, 9), (0.0, 10)])
def test_fit_on_fewer_transitions_than_the_default_batch(holdout_ratio, num_train):
    model = jwm.models.mlp_model(OBS, ACT, hidden_sizes=(8,))
    params = model.init(jax.random.key(0))
    # The default batch_size (32) exceeds the 10 rows; it is clamped, not an XLA error.
    fitted, info = jax.jit(lambda p, d, k: jwm.models.fit(
        model, p, d, k, epochs=2, holdout_ratio=holdout_ratio), compiler_options=FAST_COMPILE)(
        params, transitions(10), jax.random.key(1))
    assert int(info.num_train) == num_train and int(info.num_val) == 10 - num_train
    assert np.isfinite(np.asarray(info.train_loss)).all()
    moved = jax.tree.map(lambda a, b: bool(jnp.any(a != b)), fitted.net, params.net)
    assert any(jax.tree.leaves(moved))


# ------------------------------------------------------------------ model shapes


def learned_models():
    ensemble = jwm.models.ensemble_model(OBS, ACT, ensemble_size=2, particles=2,
                                         hidden_sizes=(8,))
    return {
        "ensemble_model": ensemble,
        "mlp_model": jwm.models.mlp_model(OBS, ACT, hidden_sizes=(8,)),
        "member_model": jwm.models.member_model(ensemble),
        "rssm_model": jwm.models.rssm_model(OBS, ACT, deter=8, hidden=8, stoch=2, classes=2,
                                            blocks=1, units=8, layers=1, num_bins=5),
    }


MODELS = learned_models()


def raises_shape(where, name, expected, got):
    msg = f"{where}: {name} must have shape {expected}, got {got}"
    return pytest.raises(ValueError, match=re.escape(msg))


@pytest.mark.parametrize("name", MODELS)
def test_encode_checks_the_observation_shape(name):
    # The check runs before the parameters are read, so none are needed.
    with raises_shape(f"{name}.encode", "obs", (3,), (4,)):
        MODELS[name].encode(None, jnp.zeros(4))
    with raises_shape(f"{name}.encode", "obs", (3,), (1, 3)):
        MODELS[name].encode(None, jnp.zeros((1, 3)))


@pytest.mark.parametrize("name", MODELS)
def test_step_checks_the_action_shape(name):
    model = MODELS[name]
    latent = model.initial() if name == "rssm_model" else None
    with raises_shape(f"{name}.step", "action", (1,), (3,)):
        model.step(None, latent, jnp.zeros(3), jax.random.key(0))
    with raises_shape(f"{name}.step", "action", (1,), ()):
        model.step(None, latent, 0.5, jax.random.key(0))


def test_rssm_observe_and_imagine_step_check_shapes_with_batch_axes():
    model = MODELS["rssm_model"]
    batch = jax.tree.map(lambda x: jnp.broadcast_to(x, (5,) + x.shape), model.initial())
    key = jax.random.key(0)
    with raises_shape("rssm_model.observe", "action", (5, 1), (1,)):
        model.observe(None, batch, jnp.zeros(1), jnp.zeros((5, 3)), key)
    with raises_shape("rssm_model.observe", "obs", (5, 3), (5, 4)):
        model.observe(None, batch, jnp.zeros((5, 1)), jnp.zeros((5, 4)), key)
    with raises_shape("rssm_model.imagine_step", "action", (5, 1), (5, 2)):
        model.imagine_step(None, batch, jnp.zeros((5, 2)), key)


def test_discrete_actions_must_be_scalars():
    model = jwm.models.ensemble_model(OBS, Discrete(3), ensemble_size=1, particles=1,
                                      hidden_sizes=(8,))
    with raises_shape("ensemble_model.step", "action", (), (1,)):
        model.step(None, None, jnp.zeros(1, jnp.int32), jax.random.key(0))


def test_checks_hold_under_jit_and_vmap():
    model = MODELS["mlp_model"]
    params = model.init(jax.random.key(0))
    latents = jax.vmap(model.encode, (None, 0))(params, jnp.zeros((4, 3)))
    step = jax.jit(jax.vmap(model.step, (None, 0, 0, 0)))
    keys = jax.random.split(jax.random.key(1), 4)
    _, reward, _ = step(params, latents, jnp.zeros((4, 1)), keys)
    assert reward.shape == (4,)
    with raises_shape("mlp_model.step", "action", (1,), (2,)):
        step(params, latents, jnp.zeros((4, 2)), keys)


# ------------------------------------------------------------------ records


def episode(seeds=(), steps=200):
    lead = tuple(seeds)
    f = lambda *shape: np.zeros(lead + shape, np.float32)
    b = lambda *shape: np.zeros(lead + shape, bool)
    return Episode(observations=f(steps, 3), next_observations=f(steps, 3),
                   actions=f(steps, 1), rewards=f(steps), dones=b(steps), active=b(steps),
                   predicted_returns=f(steps),
                   num_nonfinite=np.zeros(lead + (steps,), np.int32),
                   total_return=f(), length=np.full(lead, steps, np.int32))


def test_episode_repr_shows_dtypes_and_shapes_only():
    text = repr(episode(seeds=[4]))
    assert len(text) < 1024, len(text)
    assert text.startswith("Episode(observations=f32[4,200,3], ")
    assert "dones=bool[4,200]" in text and "num_nonfinite=i32[4,200]" in text
    assert text.endswith("total_return=f32[4], length=i32[4])")
    assert str(episode(seeds=[4])) == text


def test_scalars_print_their_value():
    text = repr(episode(steps=7)._replace(total_return=jnp.float32(-1.5)))
    assert text.endswith("total_return=-1.5, length=7)")


def test_summarize_nests_and_handles_tracers_dataclasses_and_keys():
    info = jwm.planners.PlanInfo(plan=jnp.zeros((3, 1)), predicted_return=jnp.float32(2.0),
                                 best_return=jnp.float32(0.1), iteration_returns=None,
                                 num_nonfinite=(jnp.int32(0), [jax.random.split(
                                     jax.random.key(0), 2)]))
    assert summarize(info) == ("PlanInfo(plan=f32[3,1], predicted_return=2.0, best_return=0.1, "
                               "iteration_returns=None, num_nonfinite=(0, [key<fry>[2]]))")
    seen = []
    jax.jit(lambda x: seen.append(summarize({"x": x})) or x)(jnp.float32(1.0))
    assert seen == ["{'x': f32[]}"]  # a tracer has no value to print
    text = summarize(jwm.spaces.Discrete(3))
    assert len(text) <= 60
    # record_repr as a dataclass's repr
    import dataclasses

    @dataclasses.dataclass
    class Stats:
        mean: jax.Array
        __repr__ = record_repr

    assert repr(Stats(jnp.zeros((2, 5), jnp.bfloat16))) == "Stats(mean=bfloat16[2,5])"

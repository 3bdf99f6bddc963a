"""Typed keys (`jax.random.key`) and legacy keys (`jax.random.PRNGKey`) at every public
function that takes one: both are accepted and give bit-identical results; a plain
int is a TypeError naming the parameter and the function.

Compile time dominates, so every entry point compiles once: one jitted function runs
it on both kinds of key made from the same traced seed, at a low XLA optimisation
level and tiny shapes.
"""

import functools
import re
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jwm
from jwm.envs.brax_adapter import from_brax
from jwm.keys import as_typed_key, is_typed_key, with_typed_key
from jwm.models import Transitions
from jwm.spaces import Box, Discrete

FAST_COMPILE = {"xla_backend_optimization_level": 0}
SEED = 3
OBS = Box(-1.0, 1.0, (3,))
ACT = Box(-1.0, 1.0, (1,))


def both_kinds(fn):
    """``(fn(jax.random.key(s)), fn(jax.random.PRNGKey(s)))`` in one compiled program."""
    run = jax.jit(lambda s: (fn(jax.random.key(s)), fn(jax.random.PRNGKey(s))),
                  compiler_options=FAST_COMPILE)
    return run(jnp.uint32(SEED))


def assert_identical(a, b):
    data = lambda x: jax.random.key_data(x) if is_typed_key(x) else x
    jax.tree.map(lambda x, y: np.testing.assert_array_equal(data(x), data(y)), a, b)


# ------------------------------------------------------------------ the helpers


def test_as_typed_key_keeps_the_bits():
    legacy = jax.random.split(jax.random.PRNGKey(SEED), 4)
    typed = as_typed_key(legacy)
    assert is_typed_key(typed) and typed.shape == (4,)
    np.testing.assert_array_equal(jax.random.key_data(typed), legacy)
    assert as_typed_key(typed) is typed


def test_with_typed_key_converts_positional_and_keyword_keys():
    seen = []
    fn = with_typed_key(lambda x, key: seen.append(key) or x, 1, where="f")
    fn(1, jax.random.PRNGKey(0))
    fn(1, key=jax.random.PRNGKey(0))
    assert all(is_typed_key(k) for k in seen)
    assert with_typed_key(fn, 1, where="f") is fn
    with pytest.raises(TypeError, match=r"^f: key must be a PRNG key"):
        fn(1, 7)
    optional = with_typed_key(lambda key: key, 0, where="g", optional=True)
    assert optional(None) is None
    with pytest.raises(TypeError, match="g: key"):
        optional(0)


# ----------------------------------------------------------- the entry points


def noisy_box_model():
    """latent ``[2]``; the key adds reward noise, so planners' model keys matter."""

    def step(params, latent, action, key):
        nxt = latent + action[0]
        reward = -(nxt ** 2).sum() + 0.1 * jax.random.normal(key)
        return nxt, reward, jnp.ones(())

    return jwm.WorldModel(init=lambda key: (), encode=lambda p, o: o, step=step)


def noisy_ring_model(n=5):
    def step(params, latent, action, key):
        nxt = (latent + action + 1) % n
        return nxt, (nxt == 3).astype(jnp.float32) + 0.1 * jax.random.normal(key), jnp.ones(())

    return jwm.WorldModel(init=lambda key: (), encode=lambda p, o: o, step=step)


def toy_env():
    """A 2-D point placed by the key at reset: the smallest env `mpc_episode` takes."""

    def reset(key):
        x = jax.random.normal(key, (2,))
        return x, x

    def transition(key, x, u):
        nx = x + u[0]
        return jwm.envs.Transition(nx, nx, -(nx ** 2).sum(), jnp.array(False), jnp.array(False))

    return jwm.envs.Env(reset=reset, transition=transition, observation_space=Box(-9, 9, (2,)),
                        action_space=ACT, max_episode_steps=3)


class FakeBraxState(NamedTuple):
    obs: jax.Array
    reward: jax.Array
    done: jax.Array


class FakeBraxEnv:
    """What `from_brax` reads of a ``brax.envs.Env``: brax itself takes seconds per
    trace, and the key conversion under test happens in the adapter, before brax."""

    observation_size, action_size = 2, 1

    def reset(self, rng):
        obs = jax.random.normal(rng, (2,))
        return FakeBraxState(obs, jnp.zeros(()), jnp.zeros(()))

    def step(self, state, action):
        obs = state.obs + action[0]
        return FakeBraxState(obs, -(obs ** 2).sum(), jnp.zeros(()))


@pytest.fixture(scope="module")
def built():
    """Every record under test (building one compiles nothing)."""
    box, ring = noisy_box_model(), noisy_ring_model()
    small = dict(horizon=3, population=8)
    ensemble = jwm.models.ensemble_model(OBS, ACT, ensemble_size=2, particles=2,
                                         hidden_sizes=(8,))
    pendulum = jwm.envs.make("gymnax:Pendulum-v1")
    b = dict(
        random_shooting=jwm.planners.random_shooting(box, ACT, **small),
        cem=jwm.planners.cem(box, ACT, iterations=2, **small),
        mppi=jwm.planners.mppi(box, ACT, iterations=2, **small),
        mcts=jwm.planners.mcts(ring, Discrete(3), num_simulations=4),
        mcts_box=jwm.planners.mcts(box, ACT, num_simulations=4, num_sampled_actions=3),
        true_model=jwm.models.true_model(pendulum),
        mlp_model=jwm.models.mlp_model(OBS, ACT, hidden_sizes=(8,)),
        ensemble_model=ensemble,
        member_model=jwm.models.member_model(ensemble),
        rssm_model=jwm.models.rssm_model(OBS, ACT, deter=8, hidden=8, stoch=2, classes=2,
                                         blocks=1, units=8, layers=1, num_bins=5),
        gymnax=pendulum, brax=from_brax(FakeBraxEnv(), max_episode_steps=5),
        toy_env=toy_env(), toy_model=box)
    tiny = dict(horizon=2, actor_hidden_sizes=(8,), critic_hidden_sizes=(8,))
    b["actor_critic"] = jwm.imagination.actor_critic(
        b["rssm_model"].features, b["rssm_model"].feature_dim, ACT, num_bins=5, **tiny)
    b["value_gradient"] = jwm.imagination.value_gradient(b["member_model"], OBS, ACT, **tiny)
    b["pets"] = jwm.agents.pets(pendulum, ensemble_pendulum := jwm.models.ensemble_model(
        pendulum.observation_space, ACT, ensemble_size=1, particles=1, hidden_sizes=(8,)),
        jwm.planners.random_shooting(ensemble_pendulum, ACT, **small), total_steps=4,
        steps_per_episode=2)
    rows = np.random.default_rng(0).normal(size=(10, 8)).astype(np.float32)
    b["data"] = Transitions(rows[:, :3], rows[:, 3:4], rows[:, 4], rows[:, 5:8],
                            np.ones(10, bool))
    return b


X = jnp.array([0.1, -0.2, 0.3])  # an observation of OBS
U = jnp.array([0.4])             # an action of ACT
LATENTS = {"mcts": jnp.int32(0)}  # the others plan from the box model's [2] latent


def planner_run(name):
    def run(b, key):
        planner = b[name]
        state = planner.init(key)
        return state, planner.plan(state, (), LATENTS.get(name, jnp.array([0.5, -0.5])), key)

    return run


def model_run(name):
    def run(b, key):
        model = b[name]
        params = model.init(key)
        latent = model.encode(params, X)
        out = [params, model.step(params, latent, U, key)]
        if name == "rssm_model":  # imagine_step is step's first half
            out.append(model.observe(params, latent, U, X, key))
        return out

    return run


def true_model_run(b, key):
    state, _ = b["gymnax"].reset(jax.random.key(0))
    return b["true_model"].init(key), b["true_model"].step((), state, U, key)


def env_run(name):
    def run(b, key):
        env = b[name]
        state, obs = env.reset(key)
        action = jnp.zeros(env.action_space.shape)
        return obs, env.transition(key, state, action), env.step(key, state, action)

    return run


def mpc_run(b, key):
    return jwm.agents.mpc_episode(b["toy_env"], b["toy_model"], b["random_shooting"], (), key)


def imagine_run(b, key):
    policy = lambda latent, k: jax.random.uniform(k, (1,), minval=-1.0, maxval=1.0)
    return jwm.imagination.imagine(b["toy_model"], (), policy, jnp.zeros((2, 2)), 3, key)


def learner_run(name):
    def run(b, key):
        learner, model = b[name], b["rssm_model" if name == "actor_critic" else "member_model"]
        params = model.init(jax.random.key(0))
        starts = jax.vmap(model.encode, (None, 0))(params, jnp.stack([X, -X]))
        state = learner.init(key)
        update = learner.update(state, model, params, starts, key)
        act = learner.act(state.actor, jax.vmap(learner.inputs)(starts), key)
        return state, update, act

    return run


def evaluate_run(b, key):
    policy = jwm.agents.stateless_policy(
        lambda params, obs, k: jax.random.uniform(k, (1,), minval=-1.0, maxval=1.0))
    return jwm.agents.evaluate(b["toy_env"], policy, (), key, episodes=2)


def fit_run(b, key):
    model = b["mlp_model"]
    return jwm.models.fit(model, model.init(jax.random.key(0)), b["data"], key, epochs=1)


# Each compiles once: init and the calls that use its params share one program.
SAME_RESULT = {
    **{name: planner_run(name) for name in ("random_shooting", "cem", "mppi", "mcts",
                                            "mcts_box")},
    **{name: model_run(name) for name in ("mlp_model", "ensemble_model", "member_model",
                                          "rssm_model")},
    "true_model": true_model_run, "gymnax": env_run("gymnax"), "brax": env_run("brax"),
    "mpc_episode": mpc_run, "fit": fit_run, "imagine": imagine_run,
    "actor_critic": learner_run("actor_critic"), "value_gradient": learner_run("value_gradient"),
    "evaluate": evaluate_run,
}


@pytest.mark.parametrize("name", SAME_RESULT)
def test_typed_and_legacy_keys_give_identical_results(built, name):
    typed, legacy = both_kinds(functools.partial(SAME_RESULT[name], built))
    assert_identical(typed, legacy)


def _int_key_calls():
    """``where -> call(built)`` passing the int 0 as the key; the key is checked first,
    so the other arguments need not be valid."""
    calls = {}
    for name in ("random_shooting", "cem", "mppi", "mcts"):
        calls[f"{name}.init"] = lambda b, n=name: b[n].init(0)
        calls[f"{name}.plan"] = lambda b, n=name: b[n].plan((), (), None, 0)
    calls["mcts.plan (Box)"] = lambda b: b["mcts_box"].plan((), (), None, 0)
    for name in ("true_model", "mlp_model", "ensemble_model", "rssm_model"):
        calls[f"{name}.init"] = lambda b, n=name: b[n].init(0)
    for name in ("true_model", "mlp_model", "ensemble_model", "member_model", "rssm_model"):
        calls[f"{name}.step"] = lambda b, n=name: b[n].step(None, None, U, 0)
    calls["rssm_model.observe"] = lambda b: b["rssm_model"].observe(None, None, U, X, 0)
    calls["rssm_model.imagine_step"] = lambda b: b["rssm_model"].imagine_step(None, None, U, 0)
    for env in ("gymnax", "brax"):
        calls[f"{env} reset"] = lambda b, e=env: b[e].reset(0)
        calls[f"{env} transition"] = lambda b, e=env: b[e].transition(0, None, U)
        calls[f"{env} step -> transition"] = lambda b, e=env: b[e].step(0, None, U)
    calls["mpc_episode"] = lambda b: jwm.agents.mpc_episode(
        b["toy_env"], b["toy_model"], b["cem"], (), 0)
    calls["fit"] = lambda b: jwm.models.fit(b["mlp_model"], None, b["data"], 0)
    calls["imagine"] = lambda b: jwm.imagination.imagine(b["toy_model"], (), None,
                                                         jnp.zeros((2, 2)), 3, 0)
    for name in ("actor_critic", "value_gradient"):
        calls[f"{name}.init"] = lambda b, n=name: b[n].init(0)
        calls[f"{name}.act"] = lambda b, n=name: b[n].act(None, X, 0)
        calls[f"{name}.update"] = lambda b, n=name: b[n].update(None, None, None, None, 0)
    calls["run_episode"] = lambda b: jwm.agents.run_episode(
        b["toy_env"], jwm.agents.planner_policy(b["toy_model"], b["cem"]), (), 0)
    calls["evaluate"] = lambda b: jwm.agents.evaluate(
        b["toy_env"], jwm.agents.planner_policy(b["toy_model"], b["cem"]), (), 0, episodes=2)
    calls["pets.init"] = lambda b: b["pets"].init(0)
    calls["pets.run"] = lambda b: b["pets"].run(0)
    calls["train"] = lambda b: jwm.train(b["pets"], 0, progress=False)
    return calls


INT_KEY = _int_key_calls()


@pytest.mark.parametrize("where", INT_KEY)
def test_an_int_key_is_a_type_error_naming_the_function_and_parameter(built, where):
    env = where.split(" ")[0]
    if env in ("gymnax", "brax"):
        expected = f"{built[env].name} {where.split(' ')[-1]}"
    else:
        expected = where.split(" ")[0]
    with pytest.raises(TypeError, match=rf"^{re.escape(expected)}: key must be a PRNG key"):
        INT_KEY[where](built)

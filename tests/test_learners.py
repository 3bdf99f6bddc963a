"""What the two imagination learners share: one contract (`jwm.imagination.Learner`:
init/update/act, one state, one metrics record), networks from `jwm.models.layers`, and
the core (`jwm.imagination.core`): the tanh-Gaussian policy head, the percentile return
scale, the target critic's EMA, the knob checks, and one set of knob names."""

import inspect

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jwm
from jwm.imagination import actor_critic, value_gradient
from jwm.imagination.core import (SHARED_KNOBS, apply_gradients,
                                  check_knobs, clipped_adam, ema, init_state,
                                  reach_weights, return_divisor, return_spread_ema,
                                  tanh_gaussian)
from jwm.imagination.learner import Learner, LearnerMetrics, LearnerState
from jwm.models.layers import NormMLP
from jwm.models.twohot import twohot_bins, twohot_mean
from jwm.spaces import Box, Discrete

BOX = Box(np.array([-2.0, 0.0]), np.array([3.0, 0.5]), (2,))
OBS = Box(-10.0, 10.0, (2,))


def _linear_model():
    """x' = A x + B u, reward -|x|^2; the latent is the observation itself."""
    a = jnp.array([[1.0, 0.1], [0.0, 1.0]])
    b = jnp.array([[0.0, 0.1], [0.1, 0.0]])

    def step(params, x, u, key):
        return params[0] @ x + params[1] @ u, -(x @ x), jnp.ones(())

    return jwm.WorldModel(init=lambda key: (a, b), encode=lambda p, obs: obs, step=step)


# The knobs both learners take, under the same names.
SHARED = dict(horizon=2, discount=0.9, lambda_=0.8, actor_hidden_sizes=(8,),
              critic_hidden_sizes=(8, 4), actor_lr=1e-3, critic_lr=1e-3, grad_clip=10.0,
              entropy_coef=1e-3, min_std=0.1, target_tau=0.05, scale_rate=0.1)


def _learners(**knobs):
    model = _linear_model()
    return (actor_critic(lambda x: x, 2, BOX, num_bins=15, **knobs),
            value_gradient(model, OBS, BOX, observe=lambda x: x, **knobs))


# ---------------------------------------------------------------------------------
# The policy head.


@pytest.mark.parametrize("std, anchor, init_std", [("sigmoid", "centre", None),
                                                  ("softplus", "low", 0.7)])
def test_policy_head_actions_stay_inside_the_box(std, anchor, init_std):
    head = tanh_gaussian("t", BOX, std=std, min_std=0.1, init_std=init_std, anchor=anchor)
    assert head.out_dim == 4

    @jax.jit
    def actions(out):
        dist = head.distribution(out)
        return [head.to_box(u) for u in (dist.sample(seed=jax.random.key(1)), head.mode(dist))]

    out = 30.0 * jax.random.normal(jax.random.key(0), (256, 4))       # saturating tanh
    for a in actions(out.at[:3].set(jnp.nan)):
        assert a.shape == (256, 2) and bool(jnp.isfinite(a).all())
        assert bool((a >= BOX.low).all()) and bool((a <= BOX.high).all())
        # A diverged (NaN) input acts at the box's centre.
        np.testing.assert_array_equal(a[:3], np.broadcast_to([0.5, 0.25], (3, 2)))


def test_policy_head_std_parameterisations_and_box_maps():
    zero = jnp.zeros((1, 4))
    sig = tanh_gaussian("t", BOX, std="sigmoid", min_std=0.1)
    soft = tanh_gaussian("t", BOX, std="softplus", min_std=0.1, init_std=0.7)
    np.testing.assert_allclose(sig.distribution(zero).distribution.stddev(),
                               0.9 * jax.nn.sigmoid(2.0) + 0.1, rtol=1e-6)
    np.testing.assert_allclose(soft.distribution(zero).distribution.stddev(), 0.7, rtol=1e-6)
    low = jnp.full((1, 4), -1e4).at[:, :2].set(0.0)                   # raw std very low
    for head in (sig, soft):
        np.testing.assert_allclose(head.distribution(low).distribution.stddev(), 0.1,
                                   rtol=1e-6)
    # Both anchors are the same affine map up to rounding, and from_box inverts it.
    u = jnp.tanh(jax.random.normal(jax.random.key(2), (64, 2)))
    np.testing.assert_allclose(sig.to_box(u), soft.to_box(u), atol=1e-6)
    np.testing.assert_allclose(sig.from_box(sig.to_box(u)), u, atol=1e-5)
    # A [2, 1] box: actions come back in its shape.
    tall = tanh_gaussian("t", Box(-1.0, 1.0, (2, 1)), std="sigmoid", min_std=0.1)
    assert tall.to_box(u).shape == (64, 2, 1) and tall.from_box(tall.to_box(u)).shape == (64, 2)


def test_policy_head_rejects_bad_options():
    for kw, param in ((dict(std="relu", min_std=0.1), "std"),
                      (dict(std="sigmoid", min_std=1.0), "min_std"),
                      (dict(std="sigmoid", min_std=0.1, init_std=1.0), "init_std"),
                      (dict(std="softplus", min_std=0.5, init_std=0.5), "min_std"),
                      (dict(std="softplus", min_std=0.1, init_std=-1.0), "init_std"),
                      (dict(std="sigmoid", min_std=0.1, anchor="high"), "anchor")):
        with pytest.raises(ValueError, match=param):
            tanh_gaussian("t", BOX, **kw)
    with pytest.raises(ValueError, match="action_space"):
        tanh_gaussian("t", Box(-np.inf, np.inf, (1,)), std="sigmoid", min_std=0.1)


# ---------------------------------------------------------------------------------
# The return scale and the target critic.


def test_return_scale_is_an_ema_of_the_percentile_spread():
    returns = jax.random.normal(jax.random.key(3), (8, 5)) * 7.0
    spread = np.percentile(np.asarray(returns), 95) - np.percentile(np.asarray(returns), 5)
    scale = jnp.float32(2.0)
    new = return_spread_ema(scale, returns, 0.25)
    np.testing.assert_allclose(new, 0.75 * 2.0 + 0.25 * spread, rtol=1e-5)
    # The scale is a statistic, not an objective: no gradient flows into the returns.
    grad = jax.grad(lambda r: return_spread_ema(scale, r, 0.25))(returns)
    np.testing.assert_array_equal(grad, 0.0)
    # Repeated on the same returns, the EMA converges to the spread.
    for _ in range(100):
        scale = return_spread_ema(scale, returns, 0.25)
    np.testing.assert_allclose(scale, spread, rtol=1e-4)
    np.testing.assert_array_equal(return_divisor(jnp.array([0.0, 0.5, 3.0])), [1.0, 1.0, 3.0])


def test_target_critic_follows_the_critic_by_target_tau():
    net = nn.Dense(3)
    tx = clipped_adam(1e-3, 1.0)
    state = init_state(jax.random.key(4), net, net, 2, tx, tx, 1.0)
    assert type(state) is LearnerState and int(state.steps) == 0
    jax.tree.map(np.testing.assert_array_equal, state.target_critic, state.critic)
    state = state._replace(target_critic=jax.tree.map(jnp.zeros_like, state.critic))
    zero = jax.tree.map(jnp.zeros_like, state.critic)
    step = jax.jit(lambda tau: apply_gradients(state, zero, zero, tx, tx, target_tau=tau,
                                               return_scale=jnp.float32(5.0)))
    # Zero gradients leave the critic where it is; the target moves tau of the way.
    new = step(0.25)
    jax.tree.map(np.testing.assert_array_equal, new.critic, state.critic)
    jax.tree.map(lambda t, c: np.testing.assert_allclose(t, 0.25 * c, rtol=1e-6),
                 new.target_critic, state.critic)
    assert int(new.steps) == 1 and float(new.return_scale) == 5.0
    jax.tree.map(np.testing.assert_array_equal, step(1.0).target_critic, state.critic)
    np.testing.assert_allclose(ema(jnp.float32(4.0), jnp.float32(8.0), 0.25), 5.0)


def test_reach_weights_stop_at_a_termination():
    d = jnp.array([[0.9, 0.0, 0.5], [1.0, 1.0, 1.0]])
    np.testing.assert_allclose(reach_weights(d), [[1.0, 0.9, 0.0], [1.0, 1.0, 1.0]])
    np.testing.assert_allclose(reach_weights(d, jnp.array([0.5, 0.0])),
                               [[0.5, 0.45, 0.0], [0.0, 0.0, 0.0]])


# ---------------------------------------------------------------------------------
# Knobs.


@pytest.mark.parametrize("param, value, error", [
    ("horizon", 0, ValueError), ("horizon", 1.5, TypeError), ("discount", 0.0, ValueError),
    ("discount", 1.5, ValueError), ("lambda_", -0.1, ValueError),
    ("actor_lr", 0.0, ValueError), ("critic_lr", -1.0, ValueError),
    ("grad_clip", 0.0, ValueError), ("entropy_coef", -1e-3, ValueError),
    ("min_std", 0.0, ValueError), ("target_tau", 0.0, ValueError),
    ("target_tau", 1.5, ValueError), ("scale_rate", 0.0, ValueError),
    ("scale_rate", float("nan"), ValueError), ("actor_hidden_sizes", (8, 0), ValueError),
    ("critic_hidden_sizes", (), ValueError), ("actor_lr", "fast", TypeError),
    ("discount", True, TypeError)])
def test_both_learners_name_the_bad_knob(param, value, error):
    with pytest.raises(error, match=param):
        actor_critic(lambda x: x, 2, BOX, **{param: value})
    with pytest.raises(error, match=param):
        value_gradient(_linear_model(), OBS, BOX, observe=lambda x: x, **{param: value})


def test_defaults_and_the_renamed_knobs():
    ac = actor_critic(lambda x: x, 2, Discrete(3))
    vg = value_gradient(_linear_model(), OBS, BOX, observe=lambda x: x)
    shared = set(SHARED_KNOBS)
    assert set(check_knobs("t", SHARED)) == shared == set(SHARED)
    assert shared <= set(ac.config) and shared <= set(vg.config)
    assert {k: ac.config[k] for k in ("actor_hidden_sizes", "critic_hidden_sizes",
                                      "entropy_coef", "target_tau", "scale_rate",
                                      "min_std", "horizon")} == dict(
        actor_hidden_sizes=(64, 64), critic_hidden_sizes=(64, 64), entropy_coef=3e-4,
        target_tau=0.02, scale_rate=0.01, min_std=0.1, horizon=15)
    assert {k: vg.config[k] for k in ("entropy_coef", "target_tau", "scale_rate", "min_std",
                                      "init_std", "horizon")} == dict(
        entropy_coef=1e-3, target_tau=0.02, scale_rate=0.01, min_std=0.05, init_std=1.0,
        horizon=10)
    for old in ("units", "slow_decay", "return_decay", "entropy"):
        with pytest.raises(TypeError, match=old):
            actor_critic(lambda x: x, 2, BOX, **{old: 1})
    assert not hasattr(jwm.imagination, "svg")


def test_both_learners_trace_through_the_same_knobs():
    """One dict of knobs builds both; the numeric ones trace (here vmapped over two
    learning rates), and each learner's networks take their sizes from the same
    ``*_hidden_sizes``. ``eval_shape`` traces init and update without compiling."""
    model = _linear_model()
    params = model.init(None)
    starts = jnp.zeros((4, 2))
    traced = ("discount", "lambda_", "critic_lr", "grad_clip", "entropy_coef", "target_tau",
              "scale_rate")

    @jax.vmap
    def run(lr):
        knobs = dict(SHARED, **{k: jnp.float32(SHARED[k]) for k in traced})
        knobs["actor_lr"] = lr
        ac, vg = _learners(**knobs)
        s_ac, m_ac = ac.update(ac.init(jax.random.key(0)), model, params, starts,
                               jax.random.key(1))
        s_vg, i_vg = vg.update(vg.init(jax.random.key(0)), model, params, starts,
                               jax.random.key(1))
        return s_ac, m_ac, s_vg, i_vg

    s_ac, m_ac, s_vg, i_vg = jax.eval_shape(run, jnp.array([1e-3, 1e-2]))
    assert m_ac.actor_loss.shape == (2,) and i_vg.actor_loss.shape == (2,)
    for s in (s_ac, s_vg):
        assert s.steps.shape == (2,) and s.return_scale.shape == (2,)
        # Hidden sizes (8,) for the actors and (8, 4) for the critics, in both learners.
        widths = lambda p: [k.shape[-1] for k in jax.tree.leaves(p) if len(k.shape) == 3]
        assert widths(s.actor)[:1] == [8] and widths(s.critic)[:2] == [8, 4]


def test_norm_mlp_takes_a_tuple_of_widths():
    x = jnp.ones((3, 5))

    @jax.jit
    def both(key):
        out = []
        for m in (NormMLP(8, 2, 4), NormMLP((8, 8), None, 4)):
            p = m.init(key, x)
            out.append((p, m.apply(p, x)))
        return out

    (p0, y0), (p1, y1) = both(jax.random.key(0))
    jax.tree.map(np.testing.assert_array_equal, p0, p1)
    np.testing.assert_array_equal(y0, y1)
    q = jax.eval_shape(NormMLP((8, 6), None, 2).init, jax.random.key(0), x)["params"]
    assert q["h0"]["kernel"].shape == (5, 8) and q["h1"]["kernel"].shape == (8, 6)
    assert q["out"]["kernel"].shape == (6, 2)
    with pytest.raises(ValueError, match="layers"):
        jax.eval_shape(NormMLP((8,), 1, 2).init, jax.random.key(0), x)


# ---------------------------------------------------------------------------------
# One learner contract: both builders return a `Learner`, trained and acted with by
# the same calls.

PENDULUM = jwm.envs.make("gymnax:Pendulum-v1")
TINY = dict(horizon=2, actor_hidden_sizes=(8,), critic_hidden_sizes=(8,))


def _contract_case(name):
    """``(learner, model, model_params, start_latents [4, ...])`` of a tiny learner on
    Pendulum: Dreamer's over an RSSM's features, SVG's in one member of an ensemble."""
    obs = jax.random.normal(jax.random.key(2), (4, 3))
    if name == "actor_critic":
        model = jwm.models.rssm_model(PENDULUM.observation_space, PENDULUM.action_space,
                                      deter=8, hidden=8, stoch=2, classes=2, blocks=1,
                                      units=8, layers=1, num_bins=5)
        learner = actor_critic(model.features, model.feature_dim, PENDULUM.action_space,
                               num_bins=5, **TINY)
    else:
        ensemble = jwm.models.ensemble_model(PENDULUM.observation_space,
                                             PENDULUM.action_space, ensemble_size=2,
                                             particles=2, hidden_sizes=(8,))
        model = jwm.models.member_model(ensemble)
        learner = value_gradient(model, PENDULUM.observation_space, PENDULUM.action_space,
                                 **TINY)
    params = model.init(jax.random.key(0))
    return learner, model, params, jax.vmap(model.encode, (None, 0))(params, obs)


@pytest.fixture(scope="module", params=["actor_critic", "value_gradient"])
def contract_case(request):
    return request.param, _contract_case(request.param)


def _parameter_names(fn):
    return [(p.name, p.default) for p in inspect.signature(fn).parameters.values()]


def test_both_learners_keep_one_contract(contract_case):
    name, (learner, model, params, starts) = contract_case
    empty = inspect.Parameter.empty
    assert type(learner) is Learner
    assert _parameter_names(learner.init) == [("key", empty)]
    assert _parameter_names(learner.update) == [
        ("state", empty), ("model", empty), ("model_params", empty),
        ("start_latents", empty), ("key", empty), ("start_weights", None)]
    assert _parameter_names(learner.act) == [("actor_params", empty), ("inputs", empty),
                                             ("key", empty), ("deterministic", False)]
    assert _parameter_names(learner.actor_loss) == [
        ("actor_params", empty), ("state", empty), ("model", empty),
        ("model_params", empty), ("start_latents", empty), ("key", empty),
        ("start_weights", None)]
    assert (learner.model is model) == (name == "value_gradient")

    traces = []

    @jax.jit
    def update(state, key):
        traces.append(key)                  # runs once per compilation
        return learner.update(state, model, params, starts, key)

    state = learner.init(jax.random.key(1))
    assert type(state) is LearnerState and int(state.steps) == 0
    for i in range(3):
        state, metrics = update(state, jax.random.key(10 + i))
    # The state update returns has init's types, so the update compiles once.
    assert len(traces) == 1 and update._cache_size() == 1
    assert int(state.steps) == 3

    assert type(metrics) is LearnerMetrics
    for field in LearnerMetrics._fields[:-1]:
        value = getattr(metrics, field)
        assert value.shape == () and bool(jnp.isfinite(value)), field
    assert float(metrics.actor_grad_norm) > 0 and float(metrics.critic_grad_norm) > 0
    assert float(metrics.return_scale) == float(state.return_scale)
    # The last imagined latents have the starts' structure and shapes.
    assert (jax.tree.structure(metrics.last_latents) == jax.tree.structure(starts))
    for got, start in zip(jax.tree.leaves(metrics.last_latents), jax.tree.leaves(starts)):
        assert got.shape == start.shape and got.dtype == start.dtype

    inputs = jax.vmap(learner.inputs)(starts)                            # [4, *I]
    for deterministic in (False, True):
        actions = learner.act(state.actor, inputs, jax.random.key(3), deterministic)
        assert actions.shape == (4, 1)
        assert bool((actions >= -2.0).all()) and bool((actions <= 2.0).all())
    assert learner.act(state.actor, inputs[0], jax.random.key(3)).shape == (1,)
    assert learner.value(state.critic, inputs).shape == (4,)
    unit = learner.distribution(state.actor, inputs).sample(seed=jax.random.key(4))
    assert unit.shape == (4, 1) and bool((jnp.abs(unit) <= 1.0).all())


def test_the_actor_loss_gradient_is_the_actor_step_of_update(contract_case):
    _, (learner, model, params, starts) = contract_case
    state, key = learner.init(jax.random.key(1)), jax.random.key(5)
    weights = jnp.array([1.0, 0.0, 1.0, 0.5])

    @jax.jit
    def both(state):
        grads = jax.grad(learner.actor_loss)(state.actor, state, model, params, starts, key,
                                             weights)
        loss = learner.actor_loss(state.actor, state, model, params, starts, key, weights)
        _, metrics = learner.update(state, model, params, starts, key, weights)
        _, unweighted = learner.update(state, model, params, starts, key)
        _, ones = learner.update(state, model, params, starts, key, jnp.ones(4))
        return optax.global_norm(grads), loss, metrics, unweighted, ones

    norm, loss, metrics, unweighted, ones = both(state)
    np.testing.assert_allclose(norm, metrics.actor_grad_norm, rtol=1e-5)
    np.testing.assert_allclose(loss, metrics.actor_loss, rtol=1e-6)
    # Weights of 1 are the default; a start of weight 0 is not learned from.
    jax.tree.map(np.testing.assert_array_equal, ones, unweighted)
    assert float(metrics.actor_loss) != float(unweighted.actor_loss)


def _norm_mlps(name, learner):
    """The `NormMLP`s the learner is documented to build: ``(actor, critic)``."""
    if name == "actor_critic":
        return (NormMLP((8,), None, 2), NormMLP((8,), None, 5, zero_out=True))
    plain = dict(norm=False, activation=learner.config["activation"], flatten=False)
    return (NormMLP((8,), None, 2, out_scale=1e-4, **plain), NormMLP((8,), None, 1, **plain))


def test_each_learners_networks_come_from_models_layers(contract_case):
    name, (learner, model, params, starts) = contract_case
    actor_net, critic_net = _norm_mlps(name, learner)
    inputs = jax.vmap(learner.inputs)(starts)
    key = jax.random.key(6)
    k_actor, k_critic = jax.random.split(key)
    x = jnp.zeros(inputs.shape[1:], jnp.float32)
    state = learner.init(key)
    # The same parameters, bit for bit, from the same keys...
    jax.tree.map(np.testing.assert_array_equal, state.actor, actor_net.init(k_actor, x))
    jax.tree.map(np.testing.assert_array_equal, state.critic, critic_net.init(k_critic, x))
    # ... and the same functions of them.
    critic = jax.tree.map(lambda p: p + 0.1, state.critic)             # off the zero init
    out = critic_net.apply(critic, inputs)
    expected = (twohot_mean(out, twohot_bins(5)) if name == "actor_critic" else out[..., 0])
    np.testing.assert_allclose(learner.value(critic, inputs), expected, rtol=1e-6)


def test_the_old_per_learner_records_are_gone():
    for old in ("ActorCritic", "ActorCriticMetrics", "ActorCriticState", "ValueGradient",
                "ValueGradientInfo"):
        assert not hasattr(jwm.imagination, old), old
    import jwm.imagination.value_gradient as vg_module
    assert not hasattr(vg_module, "_MLP")


def test_norm_mlp_without_norm_is_a_plain_mlp_with_flax_names():
    x = jax.random.normal(jax.random.key(0), (3, 2, 5))
    plain = NormMLP((8, 6), None, 2, norm=False, activation="elu", flatten=False)
    p = jax.jit(plain.init)(jax.random.key(1), x)
    assert sorted(p["params"]) == ["Dense_0", "Dense_1", "Dense_2"]
    assert {k: v["kernel"].shape for k, v in p["params"].items()} == {
        "Dense_0": (5, 8), "Dense_1": (8, 6), "Dense_2": (6, 2)}
    w = p["params"]
    h = jax.nn.elu(x @ w["Dense_0"]["kernel"] + w["Dense_0"]["bias"])
    h = jax.nn.elu(h @ w["Dense_1"]["kernel"] + w["Dense_1"]["bias"])
    np.testing.assert_allclose(plain.apply(p, x), h @ w["Dense_2"]["kernel"]
                               + w["Dense_2"]["bias"], rtol=1e-5, atol=1e-6)
    # Flattening the leading axes is the same function, up to rounding.
    flat = NormMLP((8, 6), None, 2, norm=False, activation="elu")
    np.testing.assert_allclose(flat.apply(p, x), plain.apply(p, x), rtol=1e-6, atol=1e-7)
    # out_scale: a truncated normal of variance out_scale / fan_in.
    wide = NormMLP((400,), None, 300, out_scale=1e-2)
    kernel = jax.jit(wide.init)(jax.random.key(2), x)["params"]["out"]["kernel"]
    np.testing.assert_allclose(float(jnp.std(kernel)), 0.1 / 20, rtol=0.05)
    for bad, match in ((dict(activation="gelu"), "activation"),
                       (dict(zero_out=True, out_scale=1e-4), "out_scale")):
        with pytest.raises(ValueError, match=match):
            jax.eval_shape(NormMLP((8,), None, 2, **bad).init, jax.random.key(0), x)

"""AlphaZero's model (Silver et al., 2018): the true rules as the dynamics, a learned
prediction network (policy and value of an observation) as the search's prior and
leaf value.

It is a `MuZeroModel` whose latent is the environment state (``observes_state``), whose
``step`` is the simulator's (`jwm.models.true_model`: discount -1 between the plies of
a two-player game, illegal moves masked at every node), and whose ``represent`` /
``predict`` read observations, so `jwm.agents.muzero` trains it with ``unroll_steps=0``:
only the prediction network learns.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from jwm.keys import with_typed_key
from jwm.models.checks import check_shape
from jwm.models.layers import NormMLP
from jwm.models.muzero import (MuZeroModel, as_network_input, check_sizes,
                               observation_torso, resolve_representation)
from jwm.models.net_init import net_init
from jwm.models.true_model import true_model
from jwm.models.twohot import value_transform_inverse

__all__ = ["alphazero_model"]


class _PredictionNet(nn.Module):
    obs_shape: tuple
    representation: str
    num_actions: int
    features: int
    hidden_sizes: tuple
    num_bins: int
    channels: int
    blocks: int

    def setup(self):
        self.torso = observation_torso(self.representation, self.hidden_sizes, self.features,
                                       self.channels, self.blocks)
        self.value_head = NormMLP(self.hidden_sizes, None, self.num_bins, zero_out=True)
        self.policy_head = NormMLP(self.hidden_sizes, None, self.num_actions, zero_out=True)

    def represent(self, obs):
        return nn.silu(self.torso(as_network_input(obs, self.obs_shape,
                                                      self.representation)))

    def predict(self, features):
        return self.policy_head(features), self.value_head(features)

    def __call__(self, obs):
        return self.predict(self.represent(obs))


def alphazero_model(env, *, features: int = 64, hidden_sizes: tuple = (128,),
                    support: int = 20, channels: int = 32, blocks: int = 2,
                    representation: str = "auto") -> MuZeroModel:
    """Builds AlphaZero's `MuZeroModel` for ``env`` (Discrete actions; ``env.observe``
    needed, as the pgx and gymnax adapters give).

    Args:
      env: an `Env`; a two-player game (``num_players=2``) or a single-player one.
      features: width of the torso's output.
      hidden_sizes: hidden widths of the MLP torso (vector observations) and the heads.
      support: values are categorical over ``-support..support`` of ``value_transform``
        space (two-player outcomes lie in [-1, 1]; a small support suffices there).
      channels, blocks: the residual CNN for ``[H, W, C]`` observations (boards).
      representation: ``"auto"`` (the CNN for ``[H, W, C]``, the MLP otherwise),
        ``"mlp"`` (the flattened board; cheaper on a CPU) or ``"resnet"``.

    Its ``encode(params, state)`` returns the state; ``prior_fn``/``value_fn`` take a
    state and read its observation; ``represent``/``predict``/``scalar`` work on
    batches of observations; ``recurrent`` is None (the rules are not learned).
    """
    name = "alphazero_model"
    if getattr(env, "observe", None) is None:
        raise ValueError(f"{name}: env must provide observe(state) (the prediction network "
                         "reads observations of the states the search visits)")
    if not (hasattr(env.action_space, "n") and tuple(env.action_space.shape) == ()):
        raise TypeError(f"{name}: env must have a Discrete action space, got "
                        f"{env.action_space!r}")
    hidden_sizes = check_sizes(name, features=features, support=support, channels=channels,
                               blocks=blocks, hidden_sizes=hidden_sizes)
    obs_shape = tuple(env.observation_space.shape)
    num_actions = int(env.action_space.n)
    representation = resolve_representation(name, representation, obs_shape)
    net = _PredictionNet(obs_shape=obs_shape, representation=representation,
                         num_actions=num_actions, features=features,
                         hidden_sizes=hidden_sizes, num_bins=2 * support + 1,
                         channels=channels, blocks=blocks)
    bins = jnp.arange(-support, support + 1, dtype=jnp.float32)
    rules = true_model(env)

    def scalar(logits):
        return value_transform_inverse(jnp.sum(jax.nn.softmax(logits, axis=-1) * bins, -1))

    init = net_init(net, (obs_shape, jnp.float32))

    def represent(params, obs):
        lead = jnp.shape(obs)[:max(jnp.ndim(obs) - len(obs_shape), 0)]
        check_shape(f"{name}.represent", "obs", obs, obs_shape, lead=lead)
        return net.apply(params, jnp.asarray(obs), method="represent")

    def predict(params, features_):
        return net.apply(params, features_, method="predict")

    def evaluate(params, state):
        return predict(params, represent(params, env.observe(state)))

    config = dict(kind="alphazero", features=features, hidden_sizes=list(hidden_sizes),
                  support=support, channels=channels, blocks=blocks,
                  representation=representation)
    return MuZeroModel(
        init=with_typed_key(init, 0, where=f"{name}.init"), encode=rules.encode,
        step=rules.step, observes_state=True, invalid_actions=rules.invalid_actions,
        represent=represent, recurrent=None, predict=predict,
        prior_fn=lambda params, state: evaluate(params, state)[0],
        value_fn=lambda params, state: scalar(evaluate(params, state)[1]),
        scalar=scalar, bins=bins, obs_shape=obs_shape, num_actions=num_actions,
        latent_size=features, config=config)

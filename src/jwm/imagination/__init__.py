"""Imagination: rollouts of a policy inside a world model, lambda-returns, and two
learners that train an actor and a critic on imagined trajectories: Dreamer's
actor-critic (`actor_critic`) and value gradients through the model
(`value_gradient`, SVG). What the two share (state, policy head, return scale, target
critic, knob checks) is in `jwm.imagination.core`."""

from jwm.imagination.actor_critic import (GRADIENTS, ActorCritic, ActorCriticMetrics,
                                          actor_critic)
from jwm.imagination.core import ActorCriticState
from jwm.imagination.returns import lambda_returns
from jwm.imagination.rollout import Imagined, imagine
from jwm.imagination.value_gradient import ValueGradient, ValueGradientInfo, value_gradient

__all__ = ["ActorCritic", "ActorCriticMetrics", "ActorCriticState", "GRADIENTS", "Imagined",
           "ValueGradient", "ValueGradientInfo", "actor_critic", "imagine", "lambda_returns",
           "value_gradient"]

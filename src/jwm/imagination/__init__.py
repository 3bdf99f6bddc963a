"""Imagination: rollouts of a policy inside a world model, lambda-returns, Dreamer's
actor-critic, and value gradients through the model (SVG)."""

from jwm.imagination.actor_critic import (GRADIENTS, ActorCritic, ActorCriticMetrics,
                                          ActorCriticState, actor_critic)
from jwm.imagination.returns import lambda_returns
from jwm.imagination.rollout import Imagined, imagine
from jwm.imagination.svg import SVG, SVGInfo, SVGState, svg

__all__ = ["ActorCritic", "ActorCriticMetrics", "ActorCriticState", "GRADIENTS", "Imagined",
           "SVG", "SVGInfo", "SVGState", "actor_critic", "imagine", "lambda_returns", "svg"]

"""Imagination: rollouts of a policy inside a world model, lambda-returns, Dreamer's
actor-critic, and value gradients through the model (SVG)."""

from jwm.imagination.returns import lambda_returns
from jwm.imagination.rollout import Imagined, imagine
from jwm.imagination.svg import SVG, SVGInfo, SVGState, svg

__all__ = ["Imagined", "SVG", "SVGInfo", "SVGState", "imagine", "lambda_returns", "svg"]

"""Imagination: rollouts of a policy inside a world model, lambda-returns, and two
learners that train an actor and a critic on imagined trajectories: Dreamer's
actor-critic (`actor_critic`) and value gradients through the model
(`value_gradient`, SVG). What the two share (state, policy head, return scale, target
critic, knob checks) is in `jwm.imagination.core`."""

from jwm import _export_lazily

__all__ = ["ActorCritic", "ActorCriticMetrics", "ActorCriticState", "GRADIENTS", "Imagined",
           "ValueGradient", "ValueGradientInfo", "actor_critic", "imagine", "lambda_returns",
           "value_gradient"]

_export_lazily(__name__, {
    "actor_critic": ["GRADIENTS", "ActorCritic", "ActorCriticMetrics", "actor_critic"],
    "core": ["ActorCriticState"],
    "returns": ["lambda_returns"],
    "rollout": ["Imagined", "imagine"],
    "value_gradient": ["ValueGradient", "ValueGradientInfo", "value_gradient"],
})

"""Imagination: rollouts of a policy inside a world model, lambda-returns, and two
learners that train an actor and a critic on imagined trajectories: Dreamer's
actor-critic (`actor_critic`) and value gradients through the model
(`value_gradient`, SVG). Both return a `Learner` (`jwm.imagination.learner`: one
``init``/``update``/``act``, one `LearnerState`, one `LearnerMetrics`); what else they
share (policy head, return scale, target critic, knob checks) is in
`jwm.imagination.core`."""

from jwm import _export_lazily

__all__ = ["GRADIENTS", "Imagined", "Learner", "LearnerMetrics", "LearnerState",
           "actor_critic", "imagine", "lambda_returns", "value_gradient"]

_export_lazily(__name__, {
    "actor_critic": ["GRADIENTS", "actor_critic"],
    "learner": ["Learner", "LearnerMetrics", "LearnerState"],
    "returns": ["lambda_returns"],
    "rollout": ["Imagined", "imagine"],
    "value_gradient": ["value_gradient"],
})

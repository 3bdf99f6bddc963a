"""Evaluation: open-loop multi-step prediction error of world models and its growth with
the horizon (the simulation lemma); matches between players of two-player games."""

from jwm import _export_lazily

__all__ = ["GrowthFit", "MatchResult", "MultistepError", "fit_growth", "match",
           "mean_particle_obs", "multistep_error", "random_player", "rollout_mcts_player",
           "wilson_interval"]

_export_lazily(__name__, {
    "match": ["MatchResult", "match", "random_player", "rollout_mcts_player",
              "wilson_interval"],
    "multistep": ["GrowthFit", "MultistepError", "fit_growth", "mean_particle_obs",
                  "multistep_error"],
})

"""Evaluating world models: open-loop multi-step prediction error and its growth with
the horizon (the simulation lemma)."""

from jwm.eval.multistep import (GrowthFit, MultistepError, fit_growth, mean_particle_obs,
                                multistep_error)

__all__ = ["GrowthFit", "MultistepError", "fit_growth", "mean_particle_obs",
           "multistep_error"]

"""World models: the `WorldModel` record, the true (simulator) model, and learned
dynamics (deterministic MLP, probabilistic ensemble) with their training."""

from jwm.models.base import WorldModel
from jwm.models.ensemble import (PROPAGATIONS, EnsembleModel, EnsembleParams, Particles,
                                 ensemble_model, mlp_model)
from jwm.models.fit import FitInfo, Transitions, ensemble_loss, fit
from jwm.models.normalizer import Normalizer, fit_normalizer
from jwm.models.true_model import true_model

__all__ = ["EnsembleModel", "EnsembleParams", "FitInfo", "Normalizer", "PROPAGATIONS",
           "Particles", "Transitions", "WorldModel", "ensemble_loss", "ensemble_model",
           "fit", "fit_normalizer", "mlp_model", "true_model"]

"""World models: the `WorldModel` record, the true (simulator) model, and learned
dynamics (deterministic MLP, probabilistic ensemble) with their training."""

from jwm.models.base import WorldModel
from jwm.models.ensemble import (PROPAGATIONS, EnsembleModel, EnsembleParams, MemberState,
                                 Particles, ensemble_model, member_model, mlp_model)
from jwm.models.fit import FitInfo, Transitions, ensemble_loss, fit
from jwm.models.normalizer import Normalizer, fit_normalizer
from jwm.models.true_model import true_model

__all__ = ["EnsembleModel", "EnsembleParams", "FitInfo", "MemberState", "Normalizer", "PROPAGATIONS",
           "Particles", "Transitions", "WorldModel", "ensemble_loss", "ensemble_model",
           "fit", "member_model", "fit_normalizer", "mlp_model", "true_model"]

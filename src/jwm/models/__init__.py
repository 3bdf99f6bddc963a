"""World models: the `WorldModel` record, the true (simulator) model, and learned
dynamics (deterministic MLP, probabilistic ensemble, RSSM, MuZero's networks) with their
training."""

from jwm.models.alphazero import alphazero_model
from jwm.models.base import WorldModel
from jwm.models.ensemble import (PROPAGATIONS, EnsembleModel, EnsembleParams, MemberState,
                                 Particles, ensemble_model, member_model, mlp_model)
from jwm.models.fit import FitInfo, Transitions, ensemble_loss, fit
from jwm.models.muzero import MuZeroModel, muzero_model
from jwm.models.normalizer import Normalizer, fit_normalizer
from jwm.models.rssm import STOCHASTIC_KINDS, RSSMModel, RSSMState, rssm_model
from jwm.models.rssm_train import Sequences, WorldModelMetrics, observe_sequence, world_model_loss
from jwm.models.true_model import true_model

__all__ = ["EnsembleModel", "EnsembleParams", "FitInfo", "MemberState", "MuZeroModel", "Normalizer",
           "PROPAGATIONS", "Particles", "RSSMModel", "RSSMState", "STOCHASTIC_KINDS",
           "Sequences", "Transitions", "WorldModel", "WorldModelMetrics", "alphazero_model",
           "ensemble_loss",
           "ensemble_model", "fit", "fit_normalizer", "member_model", "mlp_model",
           "muzero_model", "observe_sequence", "rssm_model", "true_model", "world_model_loss"]

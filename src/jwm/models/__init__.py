"""World models: the `WorldModel` record, the true (simulator) model, and learned
dynamics (deterministic MLP, probabilistic ensemble, RSSM, MuZero's networks, a frame
model for images) with their training; and the offline models of video planning
(video diffusion, inverse dynamics) with behaviour cloning, its baseline."""

from jwm.models.alphazero import alphazero_model
from jwm.models.base import WorldModel
from jwm.models.behaviour_cloning import (BehaviourCloning, behaviour_cloning,
                                          fit_behaviour_cloning)
from jwm.models.ensemble import (PROPAGATIONS, EnsembleModel, EnsembleParams, MemberState,
                                 Particles, ensemble_model, member_model, mlp_model)
from jwm.models.fit import FitInfo, Transitions, ensemble_loss, fit
from jwm.models.frame_model import FrameModel, frame_model
from jwm.models.frame_train import FrameClips, fit_frame_model, frame_clips
from jwm.models.inverse_dynamics import InverseDynamics, fit_inverse_dynamics, inverse_dynamics
from jwm.models.muzero import MuZeroModel, muzero_model
from jwm.models.normalizer import Normalizer, fit_normalizer
from jwm.models.rssm import STOCHASTIC_KINDS, RSSMModel, RSSMState, rssm_model
from jwm.models.rssm_train import Sequences, WorldModelMetrics, observe_sequence, world_model_loss
from jwm.models.true_model import true_model
from jwm.models.video_diffusion import VideoDiffusion, fit_video_diffusion, video_diffusion

__all__ = ["BehaviourCloning", "EnsembleModel", "EnsembleParams", "FitInfo", "FrameClips",
           "FrameModel", "InverseDynamics", "MemberState", "MuZeroModel", "Normalizer",
           "PROPAGATIONS", "Particles", "RSSMModel", "RSSMState", "STOCHASTIC_KINDS",
           "Sequences", "Transitions", "VideoDiffusion", "WorldModel", "WorldModelMetrics",
           "alphazero_model", "behaviour_cloning", "ensemble_loss", "ensemble_model", "fit",
           "fit_behaviour_cloning", "fit_frame_model", "fit_inverse_dynamics", "fit_normalizer",
           "fit_video_diffusion", "frame_clips", "frame_model", "inverse_dynamics",
           "member_model", "mlp_model", "muzero_model", "observe_sequence", "rssm_model",
           "true_model", "video_diffusion", "world_model_loss"]

"""World models: the `WorldModel` record (`base`), the true (simulator) model, and
learned dynamics with their training: a deterministic MLP and a probabilistic ensemble
(`ensemble`, `fit`, one member per trajectory in `member`), the RSSM (`rssm`, its
networks in `rssm_net`, its loss in `rssm_train`), MuZero's and AlphaZero's networks
(`muzero`, `alphazero`, `muzero_loss`), a frame model for images (`frame_model`,
`frame_train`); the offline models of video planning (video diffusion, inverse
dynamics) with behaviour cloning, its baseline; and what they share (`layers`,
`actions`, `twohot`, `normalizer`, `checks`)."""

from jwm import _export_lazily

__all__ = ["BehaviourCloning", "EnsembleModel", "EnsembleParams", "FitInfo", "FrameClips",
           "FrameModel", "InverseDynamics", "MemberState", "MuZeroModel", "Normalizer",
           "PROPAGATIONS", "Particles", "RSSMModel", "RSSMState", "STOCHASTIC_KINDS",
           "Sequences", "Transitions", "VideoDiffusion", "WorldModel", "WorldModelMetrics",
           "alphazero_model", "behaviour_cloning", "ensemble_loss", "ensemble_model", "fit",
           "fit_behaviour_cloning", "fit_frame_model", "fit_inverse_dynamics", "fit_normalizer",
           "fit_video_diffusion", "frame_clips", "frame_model", "inverse_dynamics",
           "member_model", "mlp_model", "muzero_model", "observe_sequence", "rssm_model",
           "true_model", "video_diffusion", "world_model_loss"]

_export_lazily(__name__, {
    "alphazero": ["alphazero_model"],
    "base": ["WorldModel"],
    "behaviour_cloning": ["BehaviourCloning", "behaviour_cloning", "fit_behaviour_cloning"],
    "ensemble": ["PROPAGATIONS", "EnsembleModel", "EnsembleParams", "Particles",
                 "ensemble_model", "mlp_model"],
    "member": ["MemberState", "member_model"],
    "fit": ["FitInfo", "Transitions", "ensemble_loss", "fit"],
    "frame_model": ["FrameModel", "frame_model"],
    "frame_train": ["FrameClips", "fit_frame_model", "frame_clips"],
    "inverse_dynamics": ["InverseDynamics", "fit_inverse_dynamics", "inverse_dynamics"],
    "muzero": ["MuZeroModel", "muzero_model"],
    "normalizer": ["Normalizer", "fit_normalizer"],
    "rssm": ["STOCHASTIC_KINDS", "RSSMModel", "rssm_model"],
    "rssm_net": ["RSSMState"],
    "rssm_train": ["Sequences", "WorldModelMetrics", "observe_sequence", "world_model_loss"],
    "true_model": ["true_model"],
    "video_diffusion": ["VideoDiffusion", "fit_video_diffusion", "video_diffusion"],
})

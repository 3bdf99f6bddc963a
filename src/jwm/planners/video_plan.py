"""Video planning (UniPi-style): generate a video of the task from the current frame,
read the actions off it with an inverse-dynamics model, execute the first few, replan.

The planner never steps a dynamics model: the video model *is* the plan. Its failure
modes are therefore those of the generator (a video that drifts from what the
environment can do, or that the inverse-dynamics model cannot read) and are measured
in ``experiments/video_planning.py``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from jwm.checks import check_int
from jwm.models.base import WorldModel
from jwm.planners.base import Planner, make_planner, space_kind
from jwm.records import record_repr

__all__ = ["VideoPlanInfo", "VideoPlanParams", "VideoPlanState", "frame_encoder",
           "video_plan"]


class VideoPlanParams(NamedTuple):
    """The planner's parameters: the video model's and the inverse-dynamics model's."""

    diffusion: Any
    inverse: Any


class VideoPlanState(NamedTuple):
    """What the planner carries between steps.

    Attributes:
      actions: ``[horizon, *action_shape]`` read off the last generated video.
      next: int32, the index of the next action to execute; at ``execute`` the
        planner generates a new video.
      video: ``[horizon, *obs_shape]`` float, the last generated video in ``[0, 1]``.
    """

    actions: jax.Array
    next: jax.Array
    video: jax.Array
    __repr__ = record_repr


class VideoPlanInfo(NamedTuple):
    """Per step: ``video [horizon, *obs_shape]`` (the plan being executed) and
    ``replanned`` (bool, a new video was generated at this step)."""

    video: jax.Array
    replanned: jax.Array
    __repr__ = record_repr


# The video planner reads frames, not latents: with this encoder, `mpc_episode` and
# `planner_policy` hand it the observation unchanged. It has no dynamics to step.
def _no_dynamics(params, latent, action, key):
    raise TypeError("frame_encoder has no dynamics: it only hands the video planner the "
                    "current frame; plan with video_plan")


frame_encoder = WorldModel(init=lambda key: (), encode=lambda params, obs: obs,
                           step=_no_dynamics)


def video_plan(diffusion, inverse, observation_space, action_space, *, condition,
               num_steps: int = 4, execute: int = 1, binarize: bool = False) -> Planner:
    """Builds a video planner.

    Each replanning step samples ``diffusion.horizon`` frames after the current one,
    conditioned on ``condition`` (a task id, or a goal frame, as ``diffusion`` was
    trained), with ``num_steps`` sampling steps; action ``t`` is
    ``inverse.act(frame_t, frame_{t+1})`` over the current frame followed by the video.
    The first ``execute`` actions are taken one per call, then it replans.

    Args:
      diffusion: a `jwm.models.video_diffusion` model (``sample``, ``horizon``).
      inverse: a `jwm.models.inverse_dynamics` model (``act``).
      observation_space: the frames' space ``[H, W, C]``.
      action_space: Discrete or Box.
      condition: int task id or goal frame ``[H, W, C]``; may be traced.
      num_steps: sampling steps per video (static; cost grows linearly with it).
      execute: actions taken from each video before replanning, ``1..horizon``.
      binarize: round the video to 0/1 before reading actions, for binary frames
        (MinAtar's channels), so that the inverse-dynamics model reads frames like the
        ones it was trained on.

    Returns:
      `Planner` whose params are `VideoPlanParams` and whose ``plan`` takes the frame
      as its latent (use `frame_encoder` as the model in `mpc_episode`) and returns
      ``(action, VideoPlanState, VideoPlanInfo)``. Under ``vmap`` the replanning
      branch becomes a select, so a batch of episodes samples a video at every step
      whatever ``execute`` is; a single episode samples only when it replans.
    """
    name = "video_plan"
    space_kind(action_space, name)
    shape = tuple(getattr(observation_space, "shape", ()))
    if len(shape) != 3:
        raise TypeError(f"{name}: observation_space must be images [H, W, C], got {shape}")
    if tuple(diffusion.obs_shape) != shape:
        raise ValueError(f"{name}: the diffusion model generates frames of shape "
                         f"{tuple(diffusion.obs_shape)}, but observation_space is "
                         f"{shape}")
    horizon = diffusion.horizon
    num_steps = check_int(name, "num_steps", num_steps)
    execute = check_int(name, "execute", execute)
    if execute > horizon:
        raise ValueError(f"{name}: execute must be at most the video's horizon {horizon}, "
                         f"got {execute}")
    action_shape = tuple(action_space.shape)
    action_dtype = action_space.dtype

    def init(key):
        del key
        return VideoPlanState(actions=jnp.zeros((horizon,) + action_shape, action_dtype),
                              next=jnp.asarray(execute, jnp.int32),
                              video=jnp.zeros((horizon,) + shape, jnp.float32))

    def generate(params, frame, key):
        video = diffusion.sample(params.diffusion, frame, condition, key, num_steps)
        read = jnp.round(video) if binarize else video
        frames = jnp.concatenate([frame.astype(read.dtype)[None], read])
        actions = jax.vmap(inverse.act, (None, 0, 0))(params.inverse, frames[:-1], frames[1:])
        return VideoPlanState(actions=actions.astype(action_dtype),
                              next=jnp.zeros((), jnp.int32), video=video)

    def plan(state, params, frame, key):
        replan = state.next >= execute
        state = jax.lax.cond(replan, lambda: generate(params, frame, key), lambda: state)
        action = state.actions[state.next]
        info = VideoPlanInfo(video=state.video, replanned=replan)
        return action, state._replace(next=state.next + 1), info

    return make_planner(name, init, plan)

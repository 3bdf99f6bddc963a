"""A video diffusion model for planning by generated video (UniPi, Du et al. 2023):
the next ``horizon`` frames at once, given the current frame and a task id or a goal
frame.

Training is DDPM's denoising objective in continuous time with the cosine schedule
``alpha = cos(pi t / 2)``, ``sigma = sin(pi t / 2)`` and v-prediction: for a clean clip
``x`` and noise ``e``, the network sees ``alpha x + sigma e`` and predicts
``v = alpha e - sigma x``; at ``t = 1`` that is ``-x``, so even a one-step sampler
returns the network's best clean guess. The clean clip is the frames mapped from the
observation bounds to [-1, 1] or, with ``residual=True``, half their difference from
the current frame (also in [-1, 1]).

Sampling is DDIM with no noise (eta = 0): from pure noise drawn from the key, each of
``num_steps`` uniform steps in ``t`` predicts the clean clip, clips it to [-1, 1] (frames
are bounded, binary for MinAtar) and moves to the next noise level along the same
predicted noise. One key gives one video; more steps cost proportionally more.

The network is `jwm.models.video_unet.VideoDenoiser`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from jwm.checks import check_choice, check_fields, check_int
from jwm.keys import with_typed_key
from jwm.models.checks import check_shape
from jwm.models.minibatch import fit_minibatches
from jwm.models.video_unet import VideoDenoiser

__all__ = ["CONDITIONS", "VideoDiffusion", "video_diffusion", "fit_video_diffusion"]

CONDITIONS = ("task", "goal")


@dataclasses.dataclass(frozen=True)
class VideoDiffusion:
    """A conditional video diffusion model as pure functions.

    Attributes:
      init: ``init(key) -> params``.
      loss: ``loss(params, frames [B, H, W, C], future [B, horizon, H, W, C], condition,
        key) -> (scalar, metrics)``: the mean squared v-prediction error over a batch at
        uniformly (stratified) drawn noise levels; ``metrics`` holds ``"loss"`` and
        ``"x0_mse"``, the squared error of the implied clean clip in [-1, 1] units.
        ``condition`` is ``[B]`` int32 task ids in ``[0, num_tasks)`` or goal frames
        ``[B, H, W, C]``.
      sample: ``sample(params, frame [H, W, C], condition, key, num_steps) -> [horizon,
        H, W, C]`` float32 in the observation bounds ([0, 1] for MinAtar; threshold at
        0.5 for binary frames); one example (vmap for batches), ``condition`` ``[]``
        int32 or ``[H, W, C]``; ``num_steps`` is a static int >= 1 of DDIM steps.
        Deterministic given ``key``.
      denoise: ``denoise(params, noisy [B, horizon, H, W, C], frames [B, H, W, C], t [B],
        condition) -> v [B, horizon, H, W, C]``, the network on [-1, 1] images.
      horizon: frames generated per call.
      obs_shape: ``(H, W, C)``.
      condition: ``"task"`` or ``"goal"``.
      condition_shape: ``()`` for task ids, ``obs_shape`` for goal frames.
      num_tasks: task ids accepted (1 for goal conditioning, where it is unused).
      residual: the model diffuses differences from the current frame.
      net: the flax module.
    """

    init: Callable
    loss: Callable
    sample: Callable
    denoise: Callable
    horizon: int
    obs_shape: tuple
    condition: str
    condition_shape: tuple
    num_tasks: int
    residual: bool = False
    net: Any = dataclasses.field(default=None, compare=False)


def _alpha_sigma(t):
    return jnp.cos(0.5 * jnp.pi * t), jnp.sin(0.5 * jnp.pi * t)


def image_bounds(where: str, observation_space):
    """``(shape, to_signed, from_signed)`` for a Box of images ``[H, W, C]`` with finite
    bounds: maps between the bounds and [-1, 1] (bool frames count as [0, 1])."""
    shape = tuple(getattr(observation_space, "shape", ()) or ())
    if not hasattr(observation_space, "low"):
        raise TypeError(f"{where}: observation_space must be a jwm.spaces.Box of images "
                        f"[H, W, C], got {observation_space!r}")
    if len(shape) != 3:
        raise ValueError(f"{where}: observation_space must be a Box of images [H, W, C], "
                         f"got shape {shape}")
    low = np.asarray(observation_space.low, np.float32)
    high = np.asarray(observation_space.high, np.float32)
    if not (np.isfinite(low).all() and np.isfinite(high).all()):
        raise ValueError(f"{where}: observation_space must have finite bounds (frames are "
                         f"mapped from them to [-1, 1]), got {observation_space!r}")
    mid, half = (high + low) / 2, np.maximum((high - low) / 2, 1e-6)
    to_signed = lambda x: (jnp.asarray(x, jnp.float32) - mid) / half
    from_signed = lambda x: jnp.clip(x, -1.0, 1.0) * half + mid
    return shape, to_signed, from_signed


def batch_of(where: str, frames, obs_shape) -> int:
    """``B`` of ``frames [B, *obs_shape]``; a ValueError naming ``frames`` otherwise."""
    if np.ndim(frames) != len(obs_shape) + 1 or tuple(np.shape(frames)[1:]) != obs_shape:
        raise ValueError(f"{where}: frames must have shape [B, {', '.join(map(str, obs_shape))}]"
                         f", got {tuple(np.shape(frames))}")
    return np.shape(frames)[0]


def video_diffusion(observation_space, *, horizon: int, condition: str = "task",
                    num_tasks: int = 1, channels: int = 64, blocks: int = 3,
                    residual: bool = False) -> VideoDiffusion:
    """Builds a `VideoDiffusion` model of the next ``horizon`` frames.

    Args:
      observation_space: a `Box` of images ``[H, W, C]`` with finite bounds (MinAtar's
        bool frames, or floats in [0, 1]).
      horizon: frames generated at once (static).
      condition: ``"task"`` (an int task id in ``[0, num_tasks)``) or ``"goal"`` (a goal
        frame of the observation's shape).
      num_tasks: number of task ids (``"task"`` only).
      channels: width of the residual blocks (a multiple of 8 keeps GroupNorm at 8
        groups).
      blocks: residual blocks at full resolution.
      residual: diffuse each frame's difference from the current frame (halved, so
        it stays in [-1, 1]) rather than the frame itself: the clean target is then 0
        wherever the clip repeats the current frame. In one Breakout run of
        experiments/video_sampling.py (1800 training steps, 4 sampling steps) its
        held-out pixel error was higher (0.0102 against 0.0084), mostly on the
        paddle, so it is off by default.

    ``init``, ``loss`` and ``sample`` take typed or legacy PRNG keys; ``loss`` and
    ``sample`` raise ValueError for inputs of the wrong shape, ``sample`` also for
    ``num_steps < 1``.
    """
    name = "video_diffusion"
    horizon = check_int(name, "horizon", horizon)
    check_choice(name, "condition", condition, CONDITIONS)
    num_tasks = check_int(name, "num_tasks", num_tasks)
    channels = check_int(name, "channels", channels)
    blocks = check_int(name, "blocks", blocks)
    if not isinstance(residual, (bool, np.bool_)):
        raise TypeError(f"{name}: residual must be a bool, got {residual!r}")
    obs_shape, to_signed, from_signed = image_bounds(name, observation_space)
    h, w, c = obs_shape
    by_task = condition == "task"
    condition_shape = () if by_task else obs_shape
    net = VideoDenoiser(out_channels=horizon * c, channels=channels, blocks=blocks,
                        num_tasks=num_tasks if by_task else 0)

    def clean(future, frames):
        """The diffused clip ``[B, horizon, H, W, C]`` in [-1, 1] from signed frames."""
        return (future - frames[:, None]) / 2.0 if residual else future

    def prepare(cond):
        return jnp.asarray(cond, jnp.int32) if by_task else to_signed(cond)

    def denoise(params, noisy, frames, t, cond):
        b = noisy.shape[0]
        # [B, horizon, H, W, C] -> [B, H, W, horizon * C]: the clip as channels.
        stacked = noisy.transpose(0, 2, 3, 1, 4).reshape(b, h, w, horizon * c)
        v = net.apply(params, stacked, frames, t, cond)
        return v.reshape(b, h, w, horizon, c).transpose(0, 3, 1, 2, 4)

    def init(key):
        cond = jnp.zeros((1,) + condition_shape, jnp.int32 if by_task else jnp.float32)
        return net.init(key, jnp.zeros((1, h, w, horizon * c)), jnp.zeros((1,) + obs_shape),
                        jnp.zeros((1,)), cond)

    def loss(params, frames, future, cond, key):
        where = f"{name}.loss"
        b = batch_of(where, frames, obs_shape)
        check_shape(where, "future", future, (horizon,) + obs_shape, lead=(b,))
        check_shape(where, "condition", cond, condition_shape, lead=(b,))
        signed = to_signed(frames)
        x0 = clean(to_signed(future), signed)
        k_t, k_noise = jax.random.split(key)
        # Stratified noise levels: one per B-quantile, so each batch spans all of them.
        t = (jax.random.uniform(k_t) + jnp.arange(b) / b) % 1.0
        eps = jax.random.normal(k_noise, x0.shape)
        alpha, sigma = (s.reshape(b, 1, 1, 1, 1) for s in _alpha_sigma(t))
        noisy = alpha * x0 + sigma * eps
        v = denoise(params, noisy, signed, t, prepare(cond))
        value = jnp.mean((v - (alpha * eps - sigma * x0)) ** 2)
        x0_mse = jnp.mean((alpha * noisy - sigma * v - x0) ** 2)
        return value, {"loss": value, "x0_mse": jax.lax.stop_gradient(x0_mse)}

    def sample(params, frame, cond, key, num_steps):
        where = f"{name}.sample"
        num_steps = check_int(where, "num_steps", num_steps)
        check_shape(where, "frame", frame, obs_shape)
        check_shape(where, "condition", cond, condition_shape)
        signed = to_signed(frame)
        frame, cond = signed[None], prepare(cond)[None]
        times = jnp.linspace(1.0, 0.0, num_steps + 1)

        def ddim_step(x, ts):
            t, s = ts
            alpha_t, sigma_t = _alpha_sigma(t)
            v = denoise(params, x[None], frame, t[None], cond)[0]
            x0 = jnp.clip(alpha_t * x - sigma_t * v, -1.0, 1.0)
            eps = (x - alpha_t * x0) / sigma_t
            alpha_s, sigma_s = _alpha_sigma(s)
            return alpha_s * x0 + sigma_s * eps, None

        noise = jax.random.normal(key, (horizon,) + obs_shape)
        x, _ = jax.lax.scan(ddim_step, noise, (times[:-1], times[1:]))
        return from_signed(2.0 * x + signed if residual else x)

    keyed = lambda fn, argnum, field: with_typed_key(fn, argnum, where=f"{name}.{field}")
    return VideoDiffusion(init=keyed(init, 0, "init"), loss=keyed(loss, 4, "loss"),
                          sample=keyed(sample, 3, "sample"), denoise=denoise,
                          horizon=horizon, obs_shape=obs_shape, condition=condition,
                          condition_shape=condition_shape,
                          num_tasks=num_tasks if by_task else 1, residual=bool(residual),
                          net=net)


def fit_video_diffusion(model: VideoDiffusion, params, frames, future, condition, key, *,
                        steps: int, batch_size: int, learning_rate: float):
    """Trains ``model`` by `VideoDiffusion.loss` on ``N`` clips: ``steps`` Adam steps
    (gradients clipped to global norm 1) on minibatches drawn with replacement, as one
    jitted ``lax.scan`` (`jwm.models.minibatch.fit_minibatches`).

    Args:
      model: a `VideoDiffusion`.
      params: its parameters (warm start; a fresh optimiser state per call).
      frames: ``[N, H, W, C]`` current frames.
      future: ``[N, horizon, H, W, C]`` the frames that followed.
      condition: ``[N]`` int32 task ids or ``[N, H, W, C]`` goal frames.
      key: PRNG key, typed or legacy.
      steps, batch_size: static ints >= 1.
      learning_rate: Adam's step size > 0 (traced: changing it does not recompile).

    Returns:
      ``(params, losses [steps])``. Compiles once per model, data shapes, ``steps`` and
      ``batch_size``.
    """
    where = "fit_video_diffusion"
    check_fields(where, "model", model, ("loss", "obs_shape", "horizon", "condition_shape"),
                 what="a VideoDiffusion (jwm.models.video_diffusion)")
    n = batch_of(where, frames, model.obs_shape)
    check_shape(where, "future", future, (model.horizon,) + model.obs_shape, lead=(n,))
    check_shape(where, "condition", condition, model.condition_shape, lead=(n,))
    return fit_minibatches(model.loss, params, (frames, future, condition), key, steps=steps,
                           batch_size=batch_size, learning_rate=learning_rate, clip_norm=1.0,
                           where=where)

"""Sections on video models of Breakout-MinAtar: planning by generating video (UniPi
style), the video model's sampling speed and quality, and the frame model."""

from __future__ import annotations

from .formatting import code, num, pct, table
from .records import Ctx, dig, mean


def render_video(ctx: Ctx) -> str:
    out = []
    vp = ctx.get("video_planning_Breakout-MinAtar.json")
    if vp:
        c, dm = vp["config"], vp["demonstrations"]
        out.append(
            f"UniPi-style planning. The demonstrations are {dm['episodes']['expert']} episodes "
            f"of a true-model UCT planner (mean return {num(dm['expert_mean_return'], 2)} per "
            f"{c['steps']} steps) and {dm['episodes']['random']} of random play, stored by "
            "`jwm.agents.demonstrations`; part of each is held out. A video diffusion model "
            f"({c['channels']} channels, {num(c['diffusion_steps'])} training steps) generates "
            f"the next {c['horizon']} frames from the current one and the task id. The "
            "inverse-dynamics model reads the actions off the video, and the planner executes "
            f"{c['execute']} of them, then replans ({c['sampling_steps']} DDIM steps per video). "
            f"Returns over {c['eval_episodes']} episodes of {c['steps']} steps:")
        rows = [[name, f"{num(d['mean'], 2)} ± {num(d['std'], 2)}"]
                for name, d in vp["returns"].items()]
        out += ["", table(["policy", "mean return (± std)"], rows)]
        inv, bc, vd = vp["inverse_dynamics"], vp["behaviour_cloning"], vp["video_diffusion"]
        pe, ce = vd["pixel_error_by_frame"], vd["copy_current_frame_error_by_frame"]
        out += ["", f"- Inverse dynamics reads held-out actions at "
                f"{pct(inv['held_out_accuracy'])} accuracy (majority class "
                f"{pct(inv['majority_class_rate'])}).",
                f"- Behaviour cloning matches the expert's held-out actions "
                f"{pct(bc['held_out_expert_accuracy'])} of the time.",
                f"- The generated frames' pixel error ({pct(min(pe))}–{pct(max(pe))} by frame) is "
                f"below copying the current frame ({pct(min(ce))}–{pct(max(ce))}), yet the "
                "returns show that the actions read off the generated videos rarely play the "
                "game; the PNG shows sampled videos."]
    vs = ctx.get("video_sampling_Breakout-MinAtar.json")
    if vs:
        c = vs["config"]
        order = vs.get("channels_order") or []
        rows = []
        for s in vs.get("sampling", []):
            rows.append([s["num_steps"], num(s["frames_per_s"], 0), num(s["clips_per_s"], 0),
                         pct(s["pixel_error"], 2), pct(s["exact_frame_rate"]),
                         " / ".join(pct(x, 0) for x in s.get("channel_exact_rate", []))])
        out += ["", f"**Sampling speed and quality** (`python experiments/video_sampling.py`): "
                f"a task-conditioned video diffusion model ({num(c['num_params'])} parameters, "
                f"{c['channels']} channels, horizon {c['horizon']}, {num(c['train_steps'])} "
                f"training steps) sampled with DDIM at several step counts, batch "
                f"{c['timing_batch']}; errors are over held-out clips. Copying the current "
                f"frame has pixel error "
                f"{pct(mean(dig(vs, 'copy_current_frame', 'pixel_error_by_k', default=[])), 2)}.",
                "", table(["DDIM steps", "frames/s", "clips/s", "pixel error", "exact frames",
                           "exact channels (" + " / ".join(order) + ")"], rows)]
    return "\n".join(out)


def render_frame_model(ctx: Ctx) -> str:
    out = []
    for p, r in ctx.matching("frame_model_*.json"):
        c = r.get("config", {})
        out.append(f"**{r.get('env')}** ({code(p)}): {r.get('algorithm', '')}; "
                   f"{num(r.get('num_parameters'))} parameters, "
                   f"{num(c.get('train_steps'))} training steps on clips of "
                   f"{c.get('clip_length')} frames.")
        pred = r.get("prediction") or {}
        rows = []
        for subset in ("all", "random", "planner"):
            d = pred.get(subset)
            if not d:
                continue
            n = len(d.get("model_pixel_error", []))
            for k in sorted({1, 5, 10, n} & set(range(1, n + 1))):
                rows.append([subset, k, pct(d["model_pixel_error"][k - 1], 2),
                             pct(d["copy_pixel_error"][k - 1], 2),
                             pct(d["model_exact_frame"][k - 1])])
        if rows:
            out += ["", "Open-loop prediction of held-out frames, k steps ahead:", "",
                    table(["data", "k", "model pixel error", "copy-current-frame pixel error",
                           "model exact frames"], rows)]
        plan = r.get("planning") or {}
        if plan:
            rows = [[name, num(d.get("mean"), 2), len(d.get("returns", []))]
                    for name, d in plan.items()]
            pc = r.get("planner_config", {})
            out += ["", f"Planning with {pc.get('planner', 'the planner')} "
                    f"({pc.get('num_simulations')} simulations) on each model:", "",
                    table(["model", "mean return", "episodes"], rows)]
        out.append("")
    return "\n".join(out).strip() or "No frame-model result file is present."



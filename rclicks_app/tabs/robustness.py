"""Robustness: the single-click IoU heatmap of the chosen sample and model, and the worst/best starts next to the robot."""

from __future__ import annotations

import gradio as gr
import numpy as np

from rclicks.attacks.adaptive import COARSE, EDGE, TOLERANCE, adaptive_heatmap
from rclicks.registry import build_clicker
from rclicks.clickers.scripted import start_then
from rclicks.errors import RClicksError
from rclicks.runner import run_trajectory
from rclicks.types import Click, Sample
from rclicks.viz import iou_figure
from rclicks_app import pool
from rclicks_app.tabs.click_yourself import _choices, _sample

FOLLOW_CLICKS = 10
#: Server-side limits (the controls' ranges), applied to API calls too.
STRIDES = (1, 2, 4, 8, 16, 32)
MAX_ATTACK_CLICKS = 10
WORST, BEST, BASE = (0, 90, 255), (230, 40, 40), (255, 255, 255)

EXPLANATION = """**Why the IoU-min attack can stay above the heatmap's worst click.** The heatmap tries one positive click at
*every* position inside the object, unconstrained. The TETRIS black-box attack is a greedy *local* search: each
click is the worst *valid* candidate (inside the current error region of its polarity, not an earlier click) on rings
around the baseline robot's click, within 2 % of the image diagonal. The heatmap's worst position is usually far from
the baseline click, outside that search disk, so the attack's first click is only the worst one *near the robot's
click*. What must hold, and the tests check it: the attack's IoU after click 1 is at most the baseline's (the baseline
position is one of its candidates), and no lower than the heatmap's minimum up to the map's interpolation. A
white-box attack (Adam on the click position) is not bounded to the disk but still starts at the baseline click and
stops in a local minimum."""


def check_request(stride, n_attack) -> tuple[int, int]:
    """The stride snapped to the nearest of STRIDES and the attack clicks clamped to 0..MAX_ATTACK_CLICKS,
    whatever the client sent."""
    try:
        st, na = int(stride), int(n_attack)
    except (TypeError, ValueError) as exc:
        raise RClicksError(f"stride and attack clicks must be integers, got {stride!r} and {n_attack!r}") from exc
    st = min(STRIDES, key=lambda v: abs(v - st))
    return st, min(max(na, 0), MAX_ATTACK_CLICKS)


def summary_table(summary: dict, worst: Click, best: Click, base: Click, base_iou: float | None):
    """The heatmap's summary as a two-column table with rounded numbers (a DataFrame)."""
    import pandas as pd

    rows = []
    for key, value in summary.items():
        if isinstance(value, (float, np.floating)):
            value = f"{float(value):.3f}"
        elif isinstance(value, (list, tuple, np.ndarray)):
            value = ", ".join(str(v) for v in value)
        rows.append((str(key).replace("_", " "), str(value)))
    rows += [("worst click (x, y)", f"{worst.x}, {worst.y}"), ("best click (x, y)", f"{best.x}, {best.y}"),
             ("baseline click (x, y)", f"{base.x}, {base.y}")]
    if base_iou is not None:
        rows.append(("baseline IoU@1", f"{base_iou:.3f}"))
    return pd.DataFrame(rows, columns=["quantity", "value"])


def heatmap_view(sample: Sample, res, worst: Click, best: Click, base: Click) -> np.ndarray:
    """The IoU heatmap (viridis, colour bar 0..1) with distinct, labelled markers: worst = blue square,
    best = red diamond, the baseline robot's click = white ring."""
    from rclicks.viz import draw_marker, heatmap_overlay, with_colour_bar

    img = heatmap_overlay(sample.image, res.dense, vmin=0, vmax=1, cmap="viridis")
    img = draw_marker(img, worst, WORST, "square", "worst")
    img = draw_marker(img, best, BEST, "diamond", "best")
    img = draw_marker(img, base, BASE, "ring", "baseline")
    return with_colour_bar(img, 0, 1, "IoU after one click", cmap="viridis")


def trajectories(model, sample: Sample, worst: Click, best: Click, max_clicks: int = FOLLOW_CLICKS) -> dict[str, list[float]]:
    """IoU per click of the robot from its own first click, from the heatmap's worst and from its best position."""
    rng = np.random.default_rng(0)  # the baseline robot is deterministic; the generator is only passed through
    robot = build_clicker("baseline")
    starts = {"baseline robot": robot, "worst first click → robot": start_then(worst, robot),
              "best first click → robot": start_then(best, robot)}
    return {name: list(run_trajectory(model, sample, c, max_clicks=max_clicks, rng=rng).ious) for name, c in starts.items()}


def attacked(model, sample: Sample, max_clicks: int) -> dict[str, list[float]]:
    """IoU per click of the TETRIS black-box minimising and maximising trajectories (``rclicks.attacks``)."""
    from rclicks.attacks.adversarial import attack_trajectory

    return {f"IoU-{d} attack": list(attack_trajectory(model, sample, d, max_clicks=max_clicks, method="blackbox")[0].ious)
            for d in ("min", "max")}


def build() -> None:
    """The Robustness tab."""
    gr.Markdown("IoU of the model's mask for **one positive click at every lattice position** inside the object "
                "(TETRIS, Fig. 2), down to every pixel at stride 1. Dark purple = poor, yellow = good (viridis, colour bar on the right). The spread is how much the first "
                f"click's position matters. The map is refined adaptively: the model is called at the corners of {COARSE}-px cells, "
                f"and a cell is split until its corners and its centre agree within {TOLERANCE} IoU (then it is interpolated) or it "
                "reaches the stride; the progress bar counts the model calls done and queued, the summary gives their total. "
                f"The chart follows the worst and the best first click with {FOLLOW_CLICKS} baseline-robot clicks, "
                "next to the TETRIS black-box trajectories that minimise and maximise IoU click by click.")
    with gr.Row():
        choice = gr.Dropdown(_choices(), value=_choices()[0], label="sample", elem_id="rb-sample")
        model = gr.Dropdown(pool.model_choices(), value=pool.model_choices()[0], label="model", elem_id="rb-model")
        stride = gr.Dropdown([1, 2, 4, 8, 16, 32], value=4, label="finest stride (px; 1 = every pixel)", elem_id="rb-stride")
        attack_clicks = gr.Slider(0, 10, value=5, step=1, label="attack clicks (0: no attack)", elem_id="rb-attack")
        run = gr.Button("Compute heatmap", variant="primary", elem_id="rb-run")
    with gr.Row():
        image = gr.Image(label="single-click IoU — blue square: worst position · red diamond: best · white ring: "
                         "baseline robot's click", interactive=False, height=480, elem_id="rb-image")
        summary = gr.Dataframe(label="summary", elem_id="rb-summary", interactive=False)
    gr.Markdown(EXPLANATION, elem_id="rb-explanation")
    plot = gr.Plot(label="robot, worst / best first click then robot, IoU-min / IoU-max attacks", elem_id="rb-plot")

    def compute(choice_value, model_name, s_value, n_attack, progress=gr.Progress()):  # noqa: B008 (gradio injects the tracker)
        try:
            s = _sample(choice_value)
        except ValueError as exc:
            raise gr.Error(f"unknown sample {choice_value!r}") from exc
        try:
            s_value, n_attack = check_request(s_value, n_attack)
            with pool.using(model_name, slot="heatmap") as raw:
                m = pool.bounded(raw, model_name)  # the heatmap slot is exclusive: bound how long one request keeps it
                def tick(done: int, known: int) -> None:
                    progress(0.8 * done / max(known, 1), desc=f"model calls: {done} done, {known - done} queued (more as cells split)")

                res = adaptive_heatmap(m, s, stride=int(s_value), coarse=max(COARSE, int(s_value)), edge=max(EDGE, int(s_value)),
                                       progress=tick)
                lo, hi = int(np.argmin(res.values)), int(np.argmax(res.values))
                worst = Click(int(res.xs[lo]), int(res.ys[lo]), True)
                best = Click(int(res.xs[hi]), int(res.ys[hi]), True)
                progress(0.85, desc="following the worst and best first clicks")
                curves = trajectories(m, s, worst, best)
                if int(n_attack) > 0:
                    progress(0.9, desc="TETRIS black-box attacks (IoU-min, IoU-max)")
                    curves.update(attacked(m, s, int(n_attack)))
        except RClicksError as exc:
            raise gr.Error(str(exc)) from exc
        except Exception as exc:  # noqa: BLE001 (a model's own failure reaches the visitor as a sentence)
            raise gr.Error(f"model {model_name!r} failed: {exc.__class__.__name__}: {exc}") from exc
        from rclicks.clickers.baseline import baseline_click
        from rclicks.clickers.regions import valid_or_none

        base = baseline_click(s.mask, np.zeros(s.mask.shape, bool), valid_or_none(s), [])
        base_iou = curves["baseline robot"][0] if curves.get("baseline robot") else None
        table = summary_table(res.summary, worst, best, base, base_iou)
        return heatmap_view(s, res, worst, best, base), table, iou_figure(curves, f"{model_name} on {s.dataset}/{s.instance}")

    run.click(compute, [choice, model, stride, attack_clicks], [image, summary, plot], api_name="heatmap", concurrency_id="heatmap",
              concurrency_limit=1)

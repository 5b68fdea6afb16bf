"""Robustness: the single-click IoU heatmap of the chosen sample and model."""

from __future__ import annotations

import gradio as gr

from rclicks.attacks.heatmap import click_heatmap, heatmap_png
from rclicks.errors import RClicksError
from ui import pool
from ui.tabs.click_yourself import _choices, _sample


def build() -> None:
    """The Robustness tab."""
    gr.Markdown("IoU of the model's mask for **one positive click at every grid position** inside the object "
                "(TETRIS, Fig. 2). Blue = poor, red = good. The spread is how much the first click's position matters.")
    with gr.Row():
        choice = gr.Dropdown(_choices(), value=_choices()[0], label="sample", elem_id="rb-sample")
        model = gr.Dropdown(pool.model_choices(), value=pool.model_choices()[0], label="model", elem_id="rb-model")
        stride = gr.Slider(8, 64, value=32, step=8, label="grid stride (px)", elem_id="rb-stride")
        run = gr.Button("Compute heatmap", variant="primary", elem_id="rb-run")
    with gr.Row():
        image = gr.Image(label="single-click IoU", interactive=False, height=420, elem_id="rb-image")
        summary = gr.JSON(label="summary", elem_id="rb-summary")

    def compute(choice_value, model_name, s_value, progress=gr.Progress()):  # noqa: B008 (gradio injects the tracker)
        s = _sample(choice_value)
        try:
            with pool.using(model_name) as m:
                res = click_heatmap(m, s, stride=int(s_value), progress=lambda f: progress(f, desc="clicking every grid position"))
        except RClicksError as exc:
            raise gr.Error(str(exc)) from exc
        return heatmap_png(s, res), res.summary

    run.click(compute, [choice, model, stride], [image, summary], concurrency_id="heatmap", concurrency_limit=1)

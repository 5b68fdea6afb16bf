"""Paper figures: the gallery of `rclicks reproduce` for the shipped store, built by the same code (rclicks_leaderboard.artefacts)."""

from __future__ import annotations

import gradio as gr


def artefacts(url: str | None = None):
    """The artefacts of the shipped store (``assets/results``) or of ``url``; (artefacts, error message or None)."""
    from rclicks_leaderboard.artefacts import build_artefacts
    from rclicks_leaderboard.envs import shipped_results_url
    from rclicks_leaderboard.store import ResultsStore

    from rclicks.errors import RClicksError

    try:
        url = url or shipped_results_url()
    except RClicksError as exc:  # no shipped results (a pip-installed package): one line naming RCLICKS_SHIPPED_RESULTS
        return [], str(exc)
    try:
        df, _ = ResultsStore(str(url)).load()
        if df.empty:
            return [], f"no results in {url}"
        return build_artefacts(df), None
    except Exception as exc:  # the tab explains instead of breaking the app
        return [], f"could not build the paper figures from {url}: {exc}"


def build() -> None:
    """The Paper figures tab: per paper, each figure (interactive) and table with its caption, or why it is missing."""
    items, problem = artefacts()
    gr.Markdown("Every table and figure of the five papers that the **shipped results** (`assets/results`) allow, built by "
                "the same code as `rclicks reproduce --results assets/results --out DIR` (which also writes PNG, CSV, "
                "Markdown and LaTeX files and an `index.html`). Numbers come from the one metrics layer; no model is re-run. "
                "See `docs/reproduce.md` for each artefact and how it differs from the paper.", elem_id="paper-intro")
    if problem:
        gr.Markdown(f"⚠️ {problem}", elem_id="paper-error")
        return
    for paper in dict.fromkeys(a.paper for a in items):
        with gr.Accordion(paper, open=paper == items[0].paper, elem_classes=["paper-group"]):
            for a in (a for a in items if a.paper == paper):
                head = f"**{a.ref}** — {a.title}"
                if a.skipped:
                    gr.Markdown(f"{head}  \n*Not produced:* {a.note}", elem_classes=["paper-note"])
                    continue
                gr.Markdown(f"{head}  \n{a.caption} *Data:* {a.data or 'results table'}.", elem_classes=["paper-caption"])
                if a.figure is not None:
                    gr.Plot(a.figure, elem_classes=["paper-figure"], elem_id=f"paper-{a.key}")
                else:
                    for stem, table in a.tables.items():
                        t = table.reset_index() if table.index.name is not None else table
                        gr.Dataframe(t.round(4), label=f"{stem}.csv", interactive=False, wrap=False,
                                     elem_id=f"paper-{stem}", max_height=320)

"""Leaderboard: the table built from the results store (seeded results by default), filters, a scatter."""

from __future__ import annotations

import gradio as gr
import pandas as pd

from rclicks.models import available_models


def _family(model: str) -> str:
    spec = available_models().get(model) or available_models().get(model.split(":")[0])
    return spec.family if spec else "submission"


def load_table() -> tuple[pd.DataFrame, list[str]]:
    """The leaderboard table with a family column, and messages about skipped files."""
    from leaderboard.table import build_from_store

    table, errors = build_from_store()
    table = table.copy()
    table.insert(1, "family", [_family(m) for m in table["model"]])
    return table.round(4), errors


def filtered(table: pd.DataFrame, query: str, families: list[str], datasets: list[str], columns: list[str]) -> pd.DataFrame:
    """Rows matching the search and family filter; the chosen columns of the chosen datasets."""
    t = table
    if query:
        t = t[t["model"].str.contains(query, case=False, regex=False)]
    if families:
        t = t[t["family"].isin(families)]
    keep = ["model", "family", "policy"]
    for c in t.columns:
        if c in keep:
            continue
        ds = c.split(" ", 1)[0]
        metric = c.split(" ", 1)[1] if " " in c else c
        per_dataset = ds in {d for d in datasets} or c.split(" ", 1)[0] not in _datasets(table)
        if per_dataset and (not columns or metric in columns or c in columns):
            keep.append(c)
    return t[keep]


def _datasets(table: pd.DataFrame) -> list[str]:
    return sorted({c.split(" ", 1)[0] for c in table.columns if " " in c and "NoC@90" in c and not c.startswith("Avg")})


def scatter(table: pd.DataFrame, dataset: str):
    """Sample NoC@90 vs ΔGR per model on ``dataset`` (plotly)."""
    import plotly.express as px

    x, y = f"{dataset} Sample NoC@90", f"{dataset} ΔGR"
    if x not in table or y not in table:
        return None
    return px.scatter(table, x=x, y=y, text="model", title=f"{dataset}: Sample NoC@90 vs ΔGR (lower-left is better)", height=360)


def build() -> None:
    """The Leaderboard tab."""
    table, errors = load_table()
    datasets = _datasets(table)
    metrics = sorted({c.split(" ", 1)[1] for c in table.columns if c.split(" ", 1)[0] in datasets})
    gr.Markdown("One row per model and multi-mask policy. Columns per dataset; see `leaderboard/README.md` for definitions. "
                "Oracle-selected results are never mixed in." + (f"\n\n⚠️ skipped: {'; '.join(errors)}" if errors else ""))
    with gr.Row():
        query = gr.Textbox(label="search model", elem_id="lb-search")
        families = gr.CheckboxGroup(sorted(set(table["family"])), label="family", elem_id="lb-family")
        ds = gr.CheckboxGroup(datasets, value=datasets, label="datasets", elem_id="lb-datasets")
    columns = gr.CheckboxGroup(metrics, value=[m for m in metrics if m in ("NoC@90", "Sample NoC@90", "ΔSB", "ΔGR", "NoF@90", "IoU@1")],
                               label="columns", elem_id="lb-columns")
    view = gr.Dataframe(filtered(table, "", [], datasets, columns.value), interactive=False, elem_id="lb-table", wrap=True)
    with gr.Row():
        which = gr.Dropdown(datasets, value=datasets[0] if datasets else None, label="scatter dataset")
        plot = gr.Plot(scatter(table, datasets[0]) if datasets else None)
    details = gr.JSON(label="model details (click a row)")

    def refresh(q, f, d, c):
        return filtered(table, q, f, d, c)

    def show_details(evt: gr.SelectData):
        row = table.iloc[evt.index[0]] if isinstance(evt.index, (list, tuple)) else table.iloc[evt.index]
        return {k: (None if pd.isna(v) else v) for k, v in row.items()}

    for comp in (query, families, ds, columns):
        comp.change(refresh, [query, families, ds, columns], view)
    which.change(lambda d: scatter(table, d), which, plot)
    view.select(show_details, None, details)

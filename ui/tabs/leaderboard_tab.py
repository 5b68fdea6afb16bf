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
    """Rows whose model contains ``query`` (case-insensitive) and whose family is chosen (all when none is);
    the key and model-wide columns, plus the chosen metric ``columns`` of the chosen ``datasets``."""
    t = table
    if query:
        t = t[t["model"].str.contains(query, case=False, regex=False)]
    if families:
        t = t[t["family"].isin(families)]
    known = set(_datasets(table))
    keep = []
    for c in t.columns:
        ds, _, metric = c.partition(" ")
        if ds not in known:
            keep.append(c)  # model, family, policy, size, speed, averages
        elif ds in datasets and metric in columns:
            keep.append(c)
    return t[keep]


def _datasets(table: pd.DataFrame) -> list[str]:
    return sorted({c.split(" ", 1)[0] for c in table.columns if " " in c and "NoC@90" in c and not c.startswith("Avg")})


def details(table: pd.DataFrame, model: str) -> dict:
    """All leaderboard columns of ``model`` plus its registry entry (description, weights) when it is a built-in model."""
    rows = table[table["model"] == model]
    out = {k: (None if pd.isna(v) else v) for k, v in rows.iloc[0].items()} if len(rows) else {"model": model}
    spec = available_models().get(model) or available_models().get(model.split(":")[0])
    if spec is not None:
        out["description"] = spec.description
        out["weights"] = list(spec.weights) or "none (weight-free)"
    else:
        out["description"] = "a submitted model; see the Submit tab's queue for its request"
    return out


def scatter(table: pd.DataFrame, dataset: str):
    """Sample NoC@90 vs ΔGR per model on ``dataset`` (plotly)."""
    import plotly.express as px

    x, y = f"{dataset} Sample NoC@90", f"{dataset} ΔGR (%)"
    if x not in table or y not in table:
        return None
    fig = px.scatter(table, x=x, y=y, text="model", color="family", title=f"{dataset}: Sample NoC@90 vs ΔGR % (lower-left is better)",
                     height=360)
    return fig.update_traces(textposition="top center", marker={"size": 10})


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
    columns = gr.CheckboxGroup(metrics, value=[m for m in metrics if m in ("NoC@90", "Sample NoC@90", "ΔSB (%)", "ΔGR (%)", "NoF@90", "IoU@1")],
                               label="columns", elem_id="lb-columns")
    view = gr.Dataframe(filtered(table, "", [], datasets, columns.value), interactive=False, elem_id="lb-table", wrap=True)
    with gr.Row():
        which = gr.Dropdown(datasets, value=datasets[0] if datasets else None, label="scatter dataset")
        plot = gr.Plot(scatter(table, datasets[0]) if datasets else None)
    info = gr.JSON(label="model details (click a row)", elem_id="lb-details")
    reload = gr.Button("Reload results", elem_id="lb-reload")
    state = gr.State(table)

    def refresh(t, q, f, d, c):
        return filtered(t, q, f, d, c)

    def show_details(t: pd.DataFrame, shown: pd.DataFrame, evt: gr.SelectData):
        row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        return details(t, str(shown.iloc[row]["model"]))

    def do_reload(q, f, d, c, which_value):
        t, _ = load_table()
        return t, filtered(t, q, f, d, c), scatter(t, which_value) if which_value else None

    inputs = [query, families, ds, columns]
    for comp in inputs:
        comp.change(refresh, [state, *inputs], view)
    which.change(lambda t, d: scatter(t, d), [state, which], plot)
    view.select(show_details, [state, view], info)
    reload.click(do_reload, [*inputs, which], [state, view, plot])

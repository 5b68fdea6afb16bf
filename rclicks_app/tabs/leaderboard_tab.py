"""Leaderboard: the table built from the results store (seeded results by default), filters, a scatter."""

from __future__ import annotations

import glob
import os
import time

import gradio as gr
import pandas as pd

from rclicks import registry, settings
from rclicks.errors import RClicksError


def _entry(model: str):
    """``(registry entry, variant)`` of a built-in model's name, ``(None, None)`` for a submission."""
    try:
        return registry.model_entry(model)
    except RClicksError:
        return None, None


def _family(model: str) -> str:
    entry, _ = _entry(model)
    return entry.family if entry else "submission"


def load_table() -> tuple[pd.DataFrame, list[str]]:
    """The leaderboard table with rank, family and source columns, and messages (skipped files, where rows come from).

    When the displayed store is not the shipped one (``RCLICKS_SHIPPED_RESULTS``, ``assets/results``), the shipped
    rows of models the local store lacks are kept and marked ``shipped``, and a message says so. Without any store
    (no results of one's own, no shipped results) the table is empty and the one message says which variable to set.
    """
    from rclicks_leaderboard.envs import display_results_url, shipped_results_url
    from rclicks_leaderboard.table import build_from_store, rank_order

    try:
        url = str(display_results_url())
        table, errors = build_from_store(url)
    except RClicksError as exc:  # nothing to show: say why, in one line, instead of breaking the app
        return pd.DataFrame(columns=["rank", "model", "family"]), [str(exc)]
    try:
        seeded = shipped_results_url()
    except RClicksError:  # the shipped store is optional in a deployment
        seeded = None
    table = table.copy()
    messages = list(errors)
    if seeded is None or os.path.abspath(url) != os.path.abspath(seeded):
        table.insert(0, "source", "local store")
        try:
            shipped, _ = build_from_store(seeded) if seeded else (pd.DataFrame(), [])
        except Exception:  # the shipped store is optional in a deployment
            shipped = pd.DataFrame()
        keep = shipped[~shipped["model"].isin(table["model"])] if len(shipped) else shipped
        messages.insert(0, f"Results from the local store `{url}`" + (
            f"; {len(keep)} shipped row(s) (assets/results) of models it lacks are kept, marked shipped." if len(keep) else "."))
        if len(keep):
            keep = keep.copy()
            keep.insert(0, "source", "shipped")
            table = pd.concat([table, keep], ignore_index=True)
            table = rank_order(table)
    table.insert(1 if "source" in table.columns else 0, "family", [_family(m) for m in table["model"]])
    table.insert(0, "rank", range(1, len(table) + 1))
    cols = ["rank", "model", "family"] + [c for c in table.columns if c not in ("rank", "model", "family")]
    return table[cols].round(4), messages


def intervals(url: str | None = None):
    """Bootstrap intervals of the mean NoC@90 / Sample NoC@90 per row (``rclicks.metrics.bootstrap.mean_intervals``);
    None when the store is too large to load here (``RCLICKS_APP_CI_MAX_ROWS``, default 2 000 000 rows)."""
    from rclicks_leaderboard.envs import display_results_url
    from rclicks_leaderboard.store import ResultsStore
    from rclicks.metrics.bootstrap import mean_intervals

    try:
        store = ResultsStore(str(url or display_results_url()))
        df, _ = store.load()
        if df.empty or len(df) > settings.integer("RCLICKS_APP_CI_MAX_ROWS"):
            return None
        return mean_intervals(df)
    except Exception:  # intervals are a hover extra: the table stands without them
        return None


def evidence(table: pd.DataFrame) -> str:
    """What each number rests on: instances per dataset, max clicks, seed, last update."""
    from rclicks_leaderboard.envs import display_results_url

    parts = []
    for d in _datasets(table):
        col = f"{d} instances"
        if col in table:
            n = sorted({int(v) for v in table[col].dropna()})
            parts.append(f"**{d}**: {', '.join(map(str, n))} instances")
    mc = sorted({int(v) for v in table["max_clicks"].dropna()}) if "max_clicks" in table else []
    try:
        files = glob.glob(os.path.join(str(display_results_url()), "**", "*.parquet"), recursive=True)
    except RClicksError:  # no store at all: load_table already says so
        files = []
    updated = max((os.path.getmtime(f) for f in files), default=None)
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(updated)) if updated else "unknown"
    return (" · ".join(parts) + f" · max clicks: {', '.join(map(str, mc))} · seed 0 (groups: first seed) · "
            f"last updated: {when}")


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
    entry, variant = _entry(model)
    if entry is not None:
        out["description"] = entry.description
        out["weights"] = ("none (weight-free)" if entry.weight_free else
                          entry.checkpoints[variant] if variant in entry.checkpoints else entry.needs())
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


def _download(table: pd.DataFrame, fmt: str) -> str:
    """Write the shown table as CSV or parquet into a temporary file; return its path."""
    import tempfile

    from rclicks_leaderboard.table import save_table

    folder = tempfile.mkdtemp(prefix="rclicks-lb-")
    return save_table(table, os.path.join(folder, f"rclicks-leaderboard.{fmt}"))


def build() -> None:
    """The Leaderboard tab."""
    from rclicks_app import lb_render

    table, messages = load_table()
    datasets = _datasets(table)
    metrics = sorted({c.split(" ", 1)[1] for c in table.columns if c.split(" ", 1)[0] in datasets})
    ci = intervals()
    gr.HTML(f"<style>{lb_render.CSS}</style>")
    gr.Markdown("One row per model and multi-mask policy; per dataset a group of metric columns (hover a header for its "
                "definition, ↓ lower / ↑ higher is better; hover a dotted NoC cell for its 95 % bootstrap interval). "
                "Oracle-selected results (an upper bound) are in their own view below, never mixed in."
                + "".join(f"\n\n⚠️ {m}" for m in messages), elem_id="lb-notice")
    gr.Markdown(evidence(table), elem_id="lb-evidence")
    with gr.Row():
        query = gr.Textbox(label="search model", elem_id="lb-search")
        families = gr.CheckboxGroup(sorted(set(table["family"])), label="family", elem_id="lb-family")
        ds = gr.CheckboxGroup(datasets, value=datasets, label="datasets", elem_id="lb-datasets")
    columns = gr.CheckboxGroup(metrics, value=[m for m in metrics if m in ("NoC@90", "Sample NoC@90", "ΔSB (%)", "ΔGR (%)", "NoF@90", "IoU@1", "instances")],
                               label="columns", elem_id="lb-columns")
    view = gr.HTML(lb_render.table_html(filtered(table, "", [], datasets, columns.value), ci), elem_id="lb-table")
    with gr.Row():
        fmt = gr.Radio(["csv", "parquet"], value="csv", label="download format", elem_id="lb-format")
        get = gr.Button("Download the table", elem_id="lb-download-go")
        file = gr.File(label="table file", elem_id="lb-download", interactive=False)
    with gr.Row():
        pick = gr.Dropdown(list(dict.fromkeys(table["model"])), value=None, label="model details", elem_id="lb-pick")
    info = gr.Markdown("Pick a model to see its card.", elem_id="lb-details")
    with gr.Accordion("Oracle policies (best candidate by IoU against the ground truth: an upper bound)", open=False):
        show_oracle = gr.Checkbox(False, label="show the oracle table", elem_id="lb-oracle-toggle")
        oracle_view = gr.HTML("", elem_id="lb-oracle")
    with gr.Row():
        which = gr.Dropdown(datasets, value=datasets[0] if datasets else None, label="scatter dataset")
        plot = gr.Plot(scatter(table, datasets[0]) if datasets else None)
    reload = gr.Button("Reload results", elem_id="lb-reload")
    gr.Markdown(lb_render.definitions_md(), elem_id="lb-defs")
    with gr.Accordion("Cite the benchmark", open=False):
        gr.Code(lb_render.BIBTEX, language=None, label="BibTeX", elem_id="lb-bibtex")
    state = gr.State(table)

    def refresh(t, q, f, d, c):
        return lb_render.table_html(filtered(t, q, f, d, c), ci)

    def do_reload(q, f, d, c, which_value):
        t, _ = load_table()
        return t, lb_render.table_html(filtered(t, q, f, d, c), ci), scatter(t, which_value) if which_value else None

    def oracle(on: bool) -> str:
        if not on:
            return ""
        from rclicks_leaderboard.table import build_from_store

        try:
            t, _ = build_from_store(oracle=True)
        except Exception as exc:  # no store / no oracle rows: say so
            return f"<p>No oracle rows ({html_escape(str(exc))}).</p>"
        return lb_render.table_html(t) if len(t) else "<p>No oracle-policy results in this store.</p>"

    inputs = [query, families, ds, columns]
    for comp in inputs:
        comp.change(refresh, [state, *inputs], view)
    which.change(lambda t, d: scatter(t, d), [state, which], plot)
    pick.change(lambda t, m: lb_render.details_card(t, details(t, m)) if m else "", [state, pick], info)
    get.click(lambda t, q, f, d, c, k: _download(filtered(t, q, f, d, c), k), [state, *inputs, fmt], file)
    show_oracle.change(oracle, show_oracle, oracle_view)
    reload.click(do_reload, [*inputs, which], [state, view, plot])


def html_escape(text: str) -> str:
    import html

    return html.escape(text)

"""Compare clicks: the baseline robot vs simulated users (clicking groups) vs real human inputs."""

from __future__ import annotations

import json
from pathlib import Path

import gradio as gr
import numpy as np
import pandas as pd

from rclicks import settings
from rclicks.settings import data_root
from rclicks.errors import RClicksError
from rclicks.runner import evaluate
from rclicks.metrics.curves import trajectory_metrics
from rclicks.metrics.rle import rle_decode
from rclicks.types import Click, Sample
from rclicks.viz import draw_clicks, heatmap_overlay, iou_figure, overlay_mask
from rclicks_app import pool, samples

#: The seven IPOL 2024 robots (``baseline`` is RITM's, iislib's ``ritm``), clicking groups, and a click-aware variant.
IPOL_ROBOTS = ["baseline", "gto99", "random", "fr_random", "lfr_random", "fr_dist", "fr_dist_aware"]
CLICKERS = [*IPOL_ROBOTS, "g1", "g5", "g10", "fr_dist_excl"]
DEFAULT_CLICKERS = ["baseline", "g1", "g10"]
#: The most clicks one comparison runs: the UI slider's end, enforced on the server for API calls too.
MAX_CLICKS = 20
MAX_SEED = 2**32 - 1
#: Preselected: the swimmer, where G1's first click scores IoU 0.05 against the baseline's 0.60 (on the
#: penguin every clicker reaches NoC 1, which shows nothing).
DEFAULT_SAMPLE = ("grabcut", "153077")
METRICS = {"IoU": "iou", "Dice": "dice", "precision": "precision", "recall": "recall", "accuracy": "accuracy",
           "F-score": "fscore"}


def check_request(clickers, max_clicks, seed) -> tuple[list[str], int, int]:
    """Server-side limits of a comparison, whatever the client sent: known clickers only (each once),
    ``max_clicks`` clamped to 1..MAX_CLICKS, ``seed`` to 0..2³²−1. Raises RClicksError on what cannot be clamped."""
    if isinstance(clickers, str):
        clickers = [c for c in clickers.split(",") if c]
    names = list(dict.fromkeys(str(c) for c in (clickers or [])))
    unknown = [c for c in names if c not in CLICKERS]
    if unknown:
        raise RClicksError(f"unknown clicker(s) {', '.join(map(repr, unknown))}; choose from {', '.join(CLICKERS)}")
    if not names:
        raise RClicksError("pick at least one clicker")
    try:
        n, sd = int(max_clicks), int(seed)
    except (TypeError, ValueError) as exc:
        raise RClicksError(f"clicks and seed must be integers, got {max_clicks!r} and {seed!r}") from exc
    return names, min(max(n, 1), MAX_CLICKS), min(max(sd, 0), MAX_SEED)


def noc_text(noc: float, never: bool) -> str:
    """A NoC as shown: ``"20 (not reached)"`` when the threshold was never reached, so it never reads as
    "reached on the last click"."""
    return f"{int(noc)} (not reached)" if never else str(int(noc))


def run_comparison(sample: Sample, model_name: str, clickers: list[str], max_clicks: int, seed: int) -> pd.DataFrame:
    """The library's own evaluation of ``clickers`` on one sample (masks kept). Inputs are clamped (``check_request``);
    the shared model is held one prediction at a time within the request's time budget (``pool.shared``)."""
    names, n, sd = check_request(clickers, max_clicks, seed)
    model = pool.shared(model_name)
    return evaluate(model, [sample], names, max_clicks=n, seed=sd, keep_masks=True, progress=False)


def compare_bundled(dataset: str, index: int, model: str, clickers: list[str], max_clicks: int, seed: int) -> list[dict]:
    """API endpoint: the summary rows of a comparison on a bundled sample (used by scripts and the load test).
    Only the gallery's samples are reachable; clicks are clamped to MAX_CLICKS."""
    try:
        sample = samples.gallery_sample(dataset, index)
        return summary_table(run_comparison(sample, model, clickers, max_clicks, seed)).to_dict("records")
    except RClicksError as exc:
        raise gr.Error(str(exc)) from exc


def summary_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per clicker: IoU after click 1, 3 and the last click, NoC@85/90 — the numbers the page shows (``trajectory_metrics``)."""
    per = trajectory_metrics(df, thresholds=(0.85, 0.90), at=(1, 3)).set_index("clicker")
    order = list(dict.fromkeys(df["clicker"].astype(str)))
    per = per.loc[order]
    max_clicks = int(per["max_clicks"].iloc[0])
    return pd.DataFrame({
        "clicker": order, "IoU@1": per["iou@1"].round(4).to_numpy(),
        "IoU@3": per["iou@3"].fillna(per["iou@last"]).round(4).to_numpy(),
        f"IoU@{max_clicks}": per["iou@last"].round(4).to_numpy(), "BIoU@1": per["biou@1"].round(4).to_numpy(),
        "NoC@85": [noc_text(n, v) for n, v in zip(per["noc85"], per["never85"])],
        "NoC@90": [noc_text(n, v) for n, v in zip(per["noc90"], per["never90"])],
    })


def panels(sample: Sample, df: pd.DataFrame, upto: int, confusion: bool = False) -> list[tuple[np.ndarray, str]]:
    """The ground truth, then one image per clicker: the mask after click ``upto`` with the clicks so far
    (``confusion``: TP green / FP red / FN yellow instead of the mask, as in the IPOL demo)."""
    from rclicks.viz import confusion_overlay

    out = [(overlay_mask(sample.image, sample.mask, colour=(255, 200, 0)), "ground truth")]
    valid = sample.valid if not sample.valid.all() else None
    for name, g in df.groupby("clicker", sort=False):
        g = g.sort_values("click")
        k = min(int(upto), len(g))
        mask = rle_decode(json.loads(g["mask_rle"].iloc[k - 1]))
        clicks = [Click(r.x, r.y, r.positive) for r in g.iloc[:k].itertuples()]
        base = confusion_overlay(sample.image, sample.mask, mask, valid) if confusion else overlay_mask(sample.image, mask)
        out.append((draw_clicks(base, clicks), f"{name}: IoU {g['iou'].iloc[k - 1]:.3f} after click {k}"))
    return out


def metric_curves(df: pd.DataFrame, metric: str) -> dict[str, list[float]]:
    """Per clicker, ``metric`` (a ``COUNT_METRICS`` name) per click from the rows' confusion counts."""
    from rclicks.metrics.mask import metric_from_counts

    return {c: metric_from_counts(metric, g.tp, g.fp, g.fn, g.tn).tolist()
            for c, g in ((c, g.sort_values("click")) for c, g in df.groupby("clicker", sort=False))}


def real_clicks_sources() -> list[Path]:
    """Real-click tables the Compare tab draws: ``RCLICKS_REAL_CLICKS`` (RClicks clicks.csv / parquet) and the app's
    own clicks store (``RCLICKS_CLICKS_STORE``), those that exist."""
    sources = [*settings.paths("RCLICKS_REAL_CLICKS"), settings.path("RCLICKS_CLICKS_STORE")]
    return [p for p in sources if p.exists()]


def real_first_clicks(sample: Sample) -> tuple[np.ndarray, np.ndarray]:
    """Recorded real first clicks of this sample from the configured tables (``xs``, ``ys``; empty when there are none)."""
    from rclicks.clicks import clicks_for_sample, read_clicks

    xs, ys = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for source in real_clicks_sources():
        try:
            x, y = clicks_for_sample(read_clicks(source), sample, "first")
        except RClicksError:
            continue  # an unreadable table is skipped; the view still shows the clickability map
        xs.append(np.asarray(x, np.int64))
        ys.append(np.asarray(y, np.int64))
    return np.concatenate(xs), np.concatenate(ys)


def clickability_view(sample: Sample) -> tuple[np.ndarray, str]:
    """The first click's clickability map with real inputs: GrabCut scribbles and recorded real first clicks."""
    from rclicks.registry import build_clickmap

    from rclicks.viz import with_colour_bar

    cmap = build_clickmap("distance").click_map(sample.image, sample.mask, sample.mask & sample.valid)
    positive = cmap[cmap > 0]
    lo, hi = (float(positive.min()), float(positive.max())) if positive.size else (0.0, 1.0)
    out = heatmap_overlay(sample.image, np.where(cmap > 0, cmap, np.nan), vmin=lo, vmax=hi, cmap="viridis")
    notes = ["clickability of the first click (distance map, the groups' default; colour bar: relative clickability, "
             "higher = more likely clicked)"]
    if sample.dataset == "grabcut":
        from rclicks.clickmaps.evaluation import scribble_points

        for k, colour in ((1, (255, 255, 255)), (2, (255, 0, 255))):
            path = data_root() / "GrabCut" / f"scribbles-set-{k}" / f"{sample.name}-anno.png"
            if path.is_file():
                xs, ys = scribble_points(path, 1)
                out[ys, xs] = colour
        notes.append("human scribbles (white, magenta)")
    xs, ys = real_first_clicks(sample)
    if xs.size:
        out = draw_clicks(out, [Click(int(x), int(y), True) for x, y in zip(xs, ys)], numbered=False)
        notes.append(f"{xs.size} recorded real first click(s) (green)")
    return with_colour_bar(out, lo, hi, "clickability", cmap="viridis"), " + ".join(notes)


def groups_view(sample: Sample) -> np.ndarray:
    """Where the clicking groups G1..G10 click first: each pixel coloured by its group (the mass slice of the
    distance click map that holds it; G1 = least likely), with a colour bar."""
    from rclicks.clickers.clickability import group_mask
    from rclicks.registry import build_clickmap
    from rclicks.viz import with_colour_bar

    cmap = build_clickmap("distance").click_map(sample.image, sample.mask, sample.mask & sample.valid)
    groups = np.full(cmap.shape, np.nan)
    for i in range(1, 11):
        groups[group_mask(cmap, (i - 1) / 10, i / 10) & np.isnan(groups)] = i
    out = heatmap_overlay(sample.image, groups, alpha=0.7, vmin=1, vmax=10, cmap="viridis")
    return with_colour_bar(out, 1, 10, "group G1..G10", cmap="viridis")


def build() -> None:
    """The Compare-clicks tab."""
    gr.Markdown("Pick a bundled sample (or upload an image and its object mask), a model and clickers. "
                "**baseline** is the RITM robot; **g1…g10** are simulated users drawn from clicking groups "
                "(g1 = least likely 10 % of clickability mass, g10 = most likely).")
    default = samples.find(*DEFAULT_SAMPLE)
    state = gr.State(default)
    result = gr.State(None)
    with gr.Row():
        with gr.Column(scale=2):
            gallery = gr.Gallery(value=samples.thumbnails(), label="Bundled samples", columns=4, height=300,
                                 allow_preview=False, elem_id="sample-gallery",
                                 selected_index=default[1] if default else None)
            with gr.Accordion("…or upload your own", open=False):
                up_image = gr.File(label="image", file_types=["image"], elem_id="upload-image")
                up_mask = gr.File(label="object mask (white = object)", file_types=["image"], elem_id="upload-mask")
                use_upload = gr.Button("Use upload", elem_id="use-upload")
            chosen = gr.Markdown(f"Chosen: **{default[0]}/{DEFAULT_SAMPLE[1]}** (the swimmer: the least likely clicks fail here)"
                                 if default else "No sample chosen yet.", elem_id="chosen")
        with gr.Column(scale=1):
            model = gr.Dropdown(pool.model_choices(), value=pool.model_choices()[0], label="model", elem_id="compare-model")
            clickers = gr.CheckboxGroup(CLICKERS, value=DEFAULT_CLICKERS, label="clickers", elem_id="compare-clickers")
            max_clicks = gr.Slider(1, MAX_CLICKS, value=5, step=1, label="clicks", elem_id="compare-clicks")
            metric = gr.Dropdown(list(METRICS), value="IoU", label="metric on the curves (IPOL demo's metrics)",
                                 elem_id="compare-metric")
            seed = gr.Number(0, label="seed", precision=0)
            run = gr.Button("Run comparison", variant="primary", elem_id="run-compare")
    error = gr.Markdown(visible=False, elem_id="compare-error")
    table = gr.Dataframe(pd.DataFrame(columns=["clicker", "IoU@1", "IoU@3", "IoU@last", "BIoU@1", "NoC@85", "NoC@90"]),
                         label="IoU per clicker (the library's numbers)", elem_id="compare-table", interactive=False)
    with gr.Row():
        upto = gr.Slider(1, MAX_CLICKS, value=5, step=1, label="show masks after click", elem_id="compare-upto")
        confusion = gr.Checkbox(False, label="TP / FP / FN overlay (green / red / yellow)", elem_id="compare-confusion")
    shown = gr.Gallery(label="masks", columns=2, height=900, object_fit="contain", preview=False,
                       elem_id="compare-panels")
    with gr.Row():
        cmap = gr.Image(label="clickability of the first click + real inputs", height=480, interactive=False, elem_id="compare-cmap")
        gmap = gr.Image(label="clicking groups' spatial map (first click)", height=480, interactive=False, elem_id="compare-groups")
    plot = gr.Plot(label="IoU / BIoU per click", elem_id="compare-plot")

    def pick(evt: gr.SelectData):
        ds, i = samples.bundled()[evt.index]
        s = samples.bundled_sample(ds, i)
        return (ds, i), f"Chosen: **{ds}/{s.instance}** ({s.image.shape[1]}×{s.image.shape[0]})"

    def take_upload(img_file, mask_file):
        try:
            s, notice = samples.from_upload(samples.read_upload_file(img_file, "image"), samples.read_upload_file(mask_file, "mask"))
        except RClicksError as exc:
            return None, "No sample chosen yet.", gr.update(value=f"⚠️ {exc}", visible=True)
        return s, f"Chosen: **your upload** ({s.image.shape[1]}×{s.image.shape[0]}). {notice}", gr.update(value=notice, visible=bool(notice))

    def figure(s, df, model_name, metric_name):
        key = METRICS.get(metric_name, "iou")
        curves = metric_curves(df, key)
        bious = {c: g.sort_values("click")["biou"].tolist() for c, g in df.groupby("clicker", sort=False)} if key == "iou" else None
        fig = iou_figure(curves, f"{model_name} on {s.dataset}/{s.instance}", biou=bious)
        if key != "iou":  # NoC is defined on IoU only: no NoC markers on another metric's curves
            fig.data = tuple(t for t in fig.data if "NoC@" not in (t.name or ""))
            for t in fig.data:
                t.name = (t.name or "").replace(" IoU", f" {metric_name}")
            fig.layout.shapes, fig.layout.annotations = (), ()
        fig.update_layout(yaxis_title=metric_name)
        return fig

    def do_run(chosen_state, model_name, names, n, sd, metric_name, show_confusion, progress=gr.Progress()):  # noqa: B008
        nothing = (None, None, [], None, None, None, gr.update())
        if chosen_state is None:
            return nothing[0], gr.update(value="⚠️ pick a sample first", visible=True), *nothing[1:]
        s = chosen_state if isinstance(chosen_state, Sample) else samples.bundled_sample(*chosen_state)
        progress(0.1, desc=f"running {len(names)} clicker(s) with {model_name}")
        try:
            names, n, sd = check_request(names, n, sd)
            df = run_comparison(s, model_name, names, n, sd)
        except RClicksError as exc:
            return nothing[0], gr.update(value=f"⚠️ {exc}", visible=True), *nothing[1:]
        view, caption = clickability_view(s)
        return ((s, df, model_name), gr.update(visible=False), summary_table(df), panels(s, df, n, bool(show_confusion)),
                gr.update(value=view, label=caption), groups_view(s), figure(s, df, model_name, metric_name),
                gr.update(maximum=n, value=n))

    def redraw(res, k, show_confusion):
        if res is None:
            return []
        s, df, _ = res
        return panels(s, df, int(k), bool(show_confusion))

    def replot(res, metric_name):
        if res is None:
            return None
        s, df, model_name = res
        return figure(s, df, model_name, metric_name)

    gallery.select(pick, None, [state, chosen])
    use_upload.click(take_upload, [up_image, up_mask], [state, chosen, error])
    run.click(do_run, [state, model, clickers, max_clicks, seed, metric, confusion],
              [result, error, table, shown, cmap, gmap, plot, upto], concurrency_id="model")
    upto.release(redraw, [result, upto, confusion], shown)
    confusion.change(redraw, [result, upto, confusion], shown)
    metric.change(replot, [result, metric], plot)
    gr.api(compare_bundled, api_name="compare", concurrency_id="model")

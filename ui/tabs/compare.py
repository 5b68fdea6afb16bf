"""Compare clicks: the baseline robot vs simulated users (clicking groups) vs real human inputs."""

from __future__ import annotations

import json

import gradio as gr
import numpy as np
import pandas as pd

from rclicks.config import data_root
from rclicks.errors import RClicksError
from rclicks.runner import evaluate
from rclicks.metrics.curves import trajectory_metrics
from rclicks.metrics.rle import rle_decode
from rclicks.types import Click, Sample
from rclicks.viz import draw_clicks, heatmap_overlay, iou_figure, overlay_mask
from ui import envs, pool, samples

CLICKERS = ["baseline", "g1", "g5", "g10", "gto99", "fr_dist", "fr_dist_excl"]
DEFAULT_CLICKERS = ["baseline", "g1", "g10"]


def run_comparison(sample: Sample, model_name: str, clickers: list[str], max_clicks: int, seed: int) -> pd.DataFrame:
    """The library's own evaluation of ``clickers`` on one sample (masks kept), under the model's lock."""
    if not clickers:
        raise RClicksError("pick at least one clicker")
    with pool.using(model_name) as model:
        return evaluate(model, [sample], clickers, max_clicks=int(max_clicks), seed=int(seed), keep_masks=True, progress=False)


def compare_bundled(dataset: str, index: int, model: str, clickers: list[str], max_clicks: int, seed: int) -> list[dict]:
    """API endpoint: the summary rows of a comparison on a bundled sample (used by scripts and the load test)."""
    sample = samples.bundled_sample(dataset, int(index))
    return summary_table(run_comparison(sample, model, list(clickers), int(max_clicks), int(seed))).to_dict("records")


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
        "NoC@85": per["noc85"].to_numpy(), "NoC@90": per["noc90"].to_numpy(),
    })


def panels(sample: Sample, df: pd.DataFrame, upto: int) -> list[tuple[np.ndarray, str]]:
    """The ground truth, then one image per clicker: the mask after click ``upto`` with the clicks so far."""
    out = [(overlay_mask(sample.image, sample.mask, colour=(255, 200, 0)), "ground truth")]
    for name, g in df.groupby("clicker", sort=False):
        g = g.sort_values("click")
        k = min(int(upto), len(g))
        mask = rle_decode(json.loads(g["mask_rle"].iloc[k - 1]))
        clicks = [Click(r.x, r.y, r.positive) for r in g.iloc[:k].itertuples()]
        img = draw_clicks(overlay_mask(sample.image, mask), clicks)
        out.append((img, f"{name}: IoU {g['iou'].iloc[k - 1]:.3f} after click {k}"))
    return out


def real_first_clicks(sample: Sample) -> tuple[np.ndarray, np.ndarray]:
    """Recorded real first clicks of this sample from the configured tables (``xs``, ``ys``; empty when there are none)."""
    from rclicks.clicks import clicks_for_sample, read_clicks

    xs, ys = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for source in envs.real_clicks_sources():
        try:
            x, y = clicks_for_sample(read_clicks(source), sample, "first")
        except RClicksError:
            continue  # an unreadable table is skipped; the view still shows the clickability map
        xs.append(np.asarray(x, np.int64))
        ys.append(np.asarray(y, np.int64))
    return np.concatenate(xs), np.concatenate(ys)


def clickability_view(sample: Sample) -> tuple[np.ndarray, str]:
    """The first click's clickability map with real inputs: GrabCut scribbles and recorded real first clicks."""
    from rclicks.clickmaps import build_clickmap

    cmap = build_clickmap("distance").click_map(sample.image, sample.mask, sample.mask & sample.valid)
    out = heatmap_overlay(sample.image, np.where(cmap > 0, cmap, np.nan))
    notes = ["clickability of the first click (distance map, the groups' default)"]
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
    return out, " + ".join(notes)


def build() -> None:
    """The Compare-clicks tab."""
    gr.Markdown("Pick a bundled sample (or upload an image and its object mask), a model and clickers. "
                "**baseline** is the RITM robot; **g1…g10** are simulated users drawn from clicking groups "
                "(g1 = least likely 10 % of clickability mass, g10 = most likely).")
    state = gr.State(None)
    result = gr.State(None)
    with gr.Row():
        with gr.Column(scale=2):
            gallery = gr.Gallery(value=samples.thumbnails(), label="Bundled samples", columns=4, height=300,
                                 allow_preview=False, elem_id="sample-gallery")
            with gr.Accordion("…or upload your own", open=False):
                up_image = gr.File(label="image", file_types=["image"], elem_id="upload-image")
                up_mask = gr.File(label="object mask (white = object)", file_types=["image"], elem_id="upload-mask")
                use_upload = gr.Button("Use upload", elem_id="use-upload")
            chosen = gr.Markdown("No sample chosen yet.", elem_id="chosen")
        with gr.Column(scale=1):
            model = gr.Dropdown(pool.model_choices(), value=pool.model_choices()[0], label="model", elem_id="compare-model")
            clickers = gr.CheckboxGroup(CLICKERS, value=DEFAULT_CLICKERS, label="clickers", elem_id="compare-clickers")
            max_clicks = gr.Slider(1, 20, value=5, step=1, label="clicks", elem_id="compare-clicks")
            seed = gr.Number(0, label="seed", precision=0)
            run = gr.Button("Run comparison", variant="primary", elem_id="run-compare")
    error = gr.Markdown(visible=False, elem_id="compare-error")
    table = gr.Dataframe(pd.DataFrame(columns=["clicker", "IoU@1", "IoU@3", "IoU@last", "BIoU@1", "NoC@85", "NoC@90"]),
                         label="IoU per clicker (the library's numbers)", elem_id="compare-table", interactive=False)
    upto = gr.Slider(1, 20, value=5, step=1, label="show masks after click", elem_id="compare-upto")
    with gr.Row():
        shown = gr.Gallery(label="masks", columns=4, height=360, object_fit="contain", preview=False,
                           elem_id="compare-panels")
        cmap = gr.Image(label="clickability of the first click + real inputs", height=360, interactive=False, elem_id="compare-cmap")
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

    def do_run(chosen_state, model_name, names, n, sd, progress=gr.Progress()):  # noqa: B008 (gradio injects the tracker)
        if chosen_state is None:
            return None, gr.update(value="⚠️ pick a sample first", visible=True), None, [], None, None, gr.update()
        s = chosen_state if isinstance(chosen_state, Sample) else samples.bundled_sample(*chosen_state)
        progress(0.1, desc=f"running {len(names)} clicker(s) with {model_name}")
        try:
            df = run_comparison(s, model_name, list(names), int(n), int(sd))
        except RClicksError as exc:
            return None, gr.update(value=f"⚠️ {exc}", visible=True), None, [], None, None, gr.update()
        curves = {c: g.sort_values("click")["iou"].tolist() for c, g in df.groupby("clicker", sort=False)}
        bious = {c: g.sort_values("click")["biou"].tolist() for c, g in df.groupby("clicker", sort=False)}
        view, caption = clickability_view(s)
        return ((s, df), gr.update(visible=False), summary_table(df), panels(s, df, int(n)), gr.update(value=view, label=caption),
                iou_figure(curves, f"{model_name} on {s.dataset}/{s.instance}", biou=bious), gr.update(maximum=int(n), value=int(n)))

    def redraw(res, k):
        if res is None:
            return []
        s, df = res
        return panels(s, df, int(k))

    gallery.select(pick, None, [state, chosen])
    use_upload.click(take_upload, [up_image, up_mask], [state, chosen, error])
    run.click(do_run, [state, model, clickers, max_clicks, seed], [result, error, table, shown, cmap, plot, upto],
              concurrency_id="model")
    upto.release(redraw, [result, upto], shown)
    gr.api(compare_bundled, api_name="compare", concurrency_id="model")

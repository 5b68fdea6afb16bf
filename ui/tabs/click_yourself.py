"""Click yourself: the visitor clicks, the model answers; the robot's next click and IoU curve alongside."""

from __future__ import annotations

import gradio as gr
import pandas as pd

from rclicks.clickers.baseline import baseline_click
from rclicks.clickers.regions import valid_or_none
from rclicks.errors import RClicksError
from rclicks.runner import evaluate
from rclicks.metrics.mask import iou
from rclicks.types import Click
from rclicks.viz import draw_clicks, iou_figure, overlay_mask
from ui import envs, pool, samples


def _choices() -> list[str]:
    return [f"{ds}/{samples.bundled_sample(ds, i).instance}" for ds, i in samples.bundled()]


def _sample(choice: str):
    ds, i = samples.bundled()[_choices().index(choice)]
    return samples.bundled_sample(ds, i)


def record_click(sample, click: Click, n_before: int, model_name: str, device: str) -> None:
    """Append one consented click to the clicks store (RClicks schema; nothing personal beyond the device type)."""
    from rclicks.clicks import sample_key, write_clicks

    kind = "first" if n_before == 0 else ("fn" if click.positive else "fp")
    dataset, image_stem, object_stem = sample_key(sample)
    model_type = model_name if kind != "first" else ""
    h, w = sample.mask.shape
    write_clicks(pd.DataFrame([{
        "dataset": dataset, "full_stem": "_".join(p for p in (image_stem, object_stem, kind, model_type) if p),
        "image_stem": image_stem, "object_stem": object_stem, "click_type": kind, "model_type": model_type,
        "device": device, "x": click.x, "y": click.y, "w": w, "h": h,
    }]), envs.clicks_store())
    envs.start_clicks_sync()


def device_type(user_agent: str) -> str:
    """``mobile`` when the browser's user agent says so (the ``Mobi`` token), else ``pc`` — the only device data kept."""
    return "mobile" if "Mobi" in user_agent else "pc"


ROBOT_CLICKS = 20


def new_session() -> dict:
    """Per-visitor state: clicks so far, last prediction, IoU history, the robot's IoU curve."""
    return {"clicks": [], "pred": None, "ious": [], "robot": None}


def visitor_click(sample, model_name: str, session: dict, click: Click) -> tuple[dict, Click]:
    """Run the model on the visitor's clicks; returns the updated session and the robot's suggested next click."""
    clicks = session["clicks"] + [click]
    with pool.using(model_name) as m:
        robot = session["robot"]
        if robot is None:  # the baseline robot's trajectory on this sample, once per session
            df = evaluate(m, [sample], "baseline", max_clicks=ROBOT_CLICKS, progress=False)
            robot = df.sort_values("click")["iou"].tolist()
        m.set_image(sample.image)
        pred = m.predict(clicks, session["pred"])
    valid = valid_or_none(sample)
    session = {"clicks": clicks, "pred": pred, "ious": session["ious"] + [iou(sample.mask, pred.mask, valid)], "robot": robot}
    return session, baseline_click(sample.mask, pred.mask, valid, clicks)


def build() -> None:
    """The Click-yourself tab."""
    store = envs.clicks_store()
    if store.is_dir():  # parts whose writer died between write and rename
        from leaderboard._fs import clean_tmp

        clean_tmp(str(store))
    gr.Markdown("Click on the object. **Positive** clicks add to the mask, **negative** clicks remove. The ring shows "
                "where the baseline robot would click next; the chart compares your IoU curve with the robot's.")
    session_state = gr.State(new_session())
    with gr.Row():
        choice = gr.Dropdown(_choices(), value=_choices()[0], label="sample", elem_id="cy-sample")
        model = gr.Dropdown(pool.model_choices(), value=pool.model_choices()[0], label="model", elem_id="cy-model")
        mode = gr.Radio(["positive", "negative"], value="positive", label="next click", elem_id="cy-mode")
        reset = gr.Button("Reset clicks", elem_id="cy-reset")
    with gr.Row():
        consent = gr.Checkbox(False, label="I agree that my clicks (positions and device type only) are stored for research",
                              elem_id="cy-consent")
    with gr.Row():
        canvas = gr.Image(value=_sample(_choices()[0]).image, label="click on the image", interactive=False,
                          elem_id="cy-image", height=480)
        plot = gr.Plot(label="your IoU vs the robot's", elem_id="cy-plot")
    status = gr.Markdown("No clicks yet.", elem_id="cy-status")

    def show(choice_value):
        return _sample(choice_value).image, new_session(), "No clicks yet.", None

    def on_click(choice_value, model_name, mode_value, session, agree, evt: gr.SelectData, request: gr.Request):
        s = _sample(choice_value)
        click = Click(int(evt.index[0]), int(evt.index[1]), mode_value == "positive")
        try:
            new, suggestion = visitor_click(s, model_name, session, click)
            if agree:
                record_click(s, click, len(session["clicks"]), model_name, device_type(request.headers.get("user-agent", "")))
        except RClicksError as exc:
            return gr.update(), session, f"⚠️ {exc}", gr.update()
        k = len(new["clicks"])
        img = draw_clicks(overlay_mask(s.image, new["pred"].mask), new["clicks"], hollow=suggestion)
        fig = iou_figure({"you": new["ious"], "baseline robot": new["robot"][:max(k, 1)]}, "IoU per click")
        text = (f"click {k} at ({click.x}, {click.y}) · IoU after click {k}: **{new['ious'][-1]:.4f}** · robot after {k} clicks: {new['robot'][min(k, len(new['robot'])) - 1]:.4f} · "
                f"robot's next click: ({suggestion.x}, {suggestion.y}) {'positive' if suggestion.positive else 'negative'}"
                + (" · click stored" if agree else ""))
        return img, new, text, fig

    choice.change(show, choice, [canvas, session_state, status, plot])
    reset.click(show, choice, [canvas, session_state, status, plot])
    model.change(show, choice, [canvas, session_state, status, plot])
    canvas.select(on_click, [choice, model, mode, session_state, consent], [canvas, session_state, status, plot],
                  concurrency_id="model")

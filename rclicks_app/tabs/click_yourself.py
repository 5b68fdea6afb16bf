"""Click yourself: the visitor clicks (left = positive, right or shift-click = negative), the model answers at once;
the robot's reference curve, the candidate masks and the downloads follow without delaying the mask."""

from __future__ import annotations

import json
import tempfile
from dataclasses import replace
from pathlib import Path

import cv2
import gradio as gr
import numpy as np
import pandas as pd

from rclicks.clickers.baseline import baseline_click
from rclicks.clickers.regions import valid_or_none
from rclicks.errors import RClicksError
from rclicks.metrics.mask import iou
from rclicks.types import Click, Prediction, Sample
from rclicks.viz import draw_clicks, iou_figure, overlay_mask
from rclicks import settings
from rclicks_app import pool, samples

#: Clicks one session may hold (server side, whatever the client sends).
MAX_SESSION_CLICKS = 30
ROBOT_CLICKS = 20
OUTLINE = (255, 200, 0)
#: Which candidate each multi-mask policy keeps on the first click (token 0 = single; tokens 1–3 = multimask).
POLICY_NOTES = {"single": "token 0", "score / sam / first_score": "best predicted IoU of tokens 1–3",
                "oracle / first_oracle": "best true IoU of tokens 1–3"}


def _choices() -> list[str]:
    return [f"{ds}/{samples.bundled_sample(ds, i).instance}" for ds, i in samples.bundled()]


def _sample(choice: str):
    ds, i = samples.bundled()[_choices().index(choice)]
    return samples.bundled_sample(ds, i)


_scheduler = None


def start_clicks_sync() -> None:
    """When ``RCLICKS_CLICKS_HF_REPO`` is set, push the clicks store to it every ``RCLICKS_CLICKS_SYNC_MINUTES``
    (huggingface_hub CommitScheduler, started once, on the first consented click; never at import)."""
    global _scheduler
    repo = settings.text("RCLICKS_CLICKS_HF_REPO")
    if repo and _scheduler is None:
        from huggingface_hub import CommitScheduler

        _scheduler = CommitScheduler(repo_id=repo, repo_type="dataset", folder_path=settings.path("RCLICKS_CLICKS_STORE"),
                                     path_in_repo="clicks", every=settings.integer("RCLICKS_CLICKS_SYNC_MINUTES"),
                                     allow_patterns=["*.parquet"])


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
    }]), settings.path("RCLICKS_CLICKS_STORE"))
    start_clicks_sync()


def record_choice(sample, model_name: str, chosen: int, predicted: list[float], true: list[float], device: str) -> Path:
    """Append one consented candidate choice (DISNet's user selection) to ``<clicks store>/choices/`` as a parquet part."""
    import uuid

    from rclicks.clicks import sample_key

    dataset, image_stem, object_stem = sample_key(sample)
    folder = settings.path("RCLICKS_CLICKS_STORE") / "choices"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{pd.Timestamp.now(tz='UTC').strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:8]}.parquet"
    tmp, final = folder / f".{name}.tmp", folder / name
    pd.DataFrame([{"dataset": dataset, "image_stem": image_stem, "object_stem": object_stem, "model_type": model_name,
                   "device": device, "chosen": int(chosen), "predicted_iou": json.dumps(predicted),
                   "true_iou": json.dumps(true)}]).to_parquet(tmp, index=False)
    tmp.replace(final)
    return final


def device_type(user_agent: str) -> str:
    """``mobile`` when the browser's user agent says so (the ``Mobi`` token), else ``pc`` — the only device data kept."""
    return "mobile" if "Mobi" in user_agent else "pc"


def new_session(sample: Sample | None = None, has_gt: bool = True) -> dict:
    """Per-visitor state: the sample, clicks and predictions so far, IoU history, the robot's incremental trajectory."""
    return {"sample": sample, "has_gt": has_gt, "clicks": [], "preds": [], "pred": None, "ious": [],
            "robot": {"clicks": [], "prev": None, "mask": None, "ious": []}, "candidates": None, "suggestion": None}


def _lean(pred: Prediction) -> Prediction:
    """The prediction without its candidates (kept per click for undo; the candidates are only needed once)."""
    return replace(pred, candidates=None) if pred.candidates is not None else pred


def visitor_click(sample, model_name: str, session: dict, click: Click) -> tuple[dict, Click | None]:
    """Run the model on the visitor's clicks; returns the updated session and the robot's suggested next click
    (None without a ground-truth mask). Never runs the robot: see ``robot_step``."""
    h, w = sample.mask.shape
    if not (0 <= click.x < w and 0 <= click.y < h):
        raise RClicksError(f"click ({click.x}, {click.y}) lies outside the {w}×{h} image")
    if len(session["clicks"]) >= MAX_SESSION_CLICKS:
        raise RClicksError(f"a session holds at most {MAX_SESSION_CLICKS} clicks; undo or reset to go on")
    clicks = session["clicks"] + [click]
    m = pool.shared(model_name)
    m.set_image(sample.image)
    pred = m.predict(clicks, session["pred"])
    has_gt = session.get("has_gt", True)
    valid = valid_or_none(sample)
    session = {**session, "sample": session.get("sample", sample), "clicks": clicks, "pred": pred,
               "preds": session.get("preds", []) + [_lean(pred)],
               "ious": session["ious"] + ([iou(sample.mask, pred.mask, valid)] if has_gt else []), "candidates": None}
    suggestion = baseline_click(sample.mask, pred.mask, valid, clicks) if has_gt else None
    session["suggestion"] = suggestion
    return session, suggestion


def robot_step(sample, model_name: str, session: dict, upto: int | None = None) -> dict:
    """Extend the baseline robot's trajectory to ``upto`` clicks (default: as many as the visitor's, at most
    ROBOT_CLICKS), one prediction per click, so the robot never delays the visitor's first mask."""
    if not session.get("has_gt", True):
        return session
    target = min(ROBOT_CLICKS, len(session["clicks"]) if upto is None else upto)
    robot = dict(session["robot"])
    if len(robot["ious"]) >= target:
        return session
    m = pool.shared(model_name)
    m.set_image(sample.image)
    valid = valid_or_none(sample)
    mask = robot["mask"] if robot["mask"] is not None else np.zeros(sample.mask.shape, bool)
    clicks, prev, ious = list(robot["clicks"]), robot["prev"], list(robot["ious"])
    while len(ious) < target:
        clicks.append(baseline_click(sample.mask, mask, valid, clicks))
        prev = _lean(m.predict(clicks, prev))
        mask = prev.mask
        ious.append(iou(sample.mask, mask, valid))
    return {**session, "robot": {"clicks": clicks, "prev": prev, "mask": mask, "ious": ious}}


def candidates_view(sample, model_name: str, session: dict) -> dict | None:
    """After the first click of a multi-mask model: every candidate (token 0..3) with its predicted IoU, its true IoU
    (None without a mask) and the policies keeping it. None for single-mask models or later clicks."""
    if len(session["clicks"]) != 1:
        return None
    m = pool.shared(model_name)
    if not hasattr(pool._instance((model_name, "shared")), "all_candidates"):  # noqa: SLF001 (capability check only)
        return None
    m.set_image(sample.image)
    probs, scores = m.all_candidates(session["clicks"], None)
    masks = probs > 0.5
    valid = valid_or_none(sample)
    true = [float(iou(sample.mask, k, valid)) for k in masks] if session.get("has_gt", True) else None
    keep = {"single": 0, "score / sam / first_score": 1 + int(np.argmax(scores[1:]))}
    if true is not None:
        keep["oracle / first_oracle"] = 1 + int(np.argmax(true[1:]))
    return {"masks": masks, "predicted": [float(s) for s in scores], "true": true, "keep": keep}


def choose_candidate(sample, model_name: str, session: dict, k: int) -> dict:
    """Make candidate ``k`` (0..3) the first click's mask; its low-res logits are fed back on the next click."""
    if len(session["clicks"]) != 1:
        raise RClicksError("candidates can be chosen right after the first click (undo back to it)")
    m = pool.shared(model_name)
    m.set_image(sample.image)
    if k == 0:
        pred = m.predict(session["clicks"], None)
    else:
        multi = m.predict(session["clicks"], None, multimask=True)
        if multi.candidates is None or not 1 <= k <= len(multi.candidates):
            raise RClicksError(f"model {model_name!r} has no candidate {k}")
        state = multi.state
        if isinstance(state, dict) and "low_res" in state:
            state = {**state, "low_res": state["low_res"][k - 1 : k]}
        pred = replace(multi, prob=multi.candidates[k - 1], state=state, candidates=None)
    valid = valid_or_none(sample)
    out = {**session, "pred": pred, "preds": [pred], "chosen": k}
    if session.get("has_gt", True):
        out["ious"] = [iou(sample.mask, pred.mask, valid)]
        out["suggestion"] = baseline_click(sample.mask, pred.mask, valid, session["clicks"])
    return out


def undo(session: dict) -> dict:
    """The session without its last click (the previous prediction is restored, not recomputed)."""
    if not session["clicks"]:
        return session
    preds = session["preds"][:-1]
    out = {**session, "clicks": session["clicks"][:-1], "preds": preds, "pred": preds[-1] if preds else None,
           "ious": session["ious"][:-1], "candidates": None}
    s = session["sample"]
    if preds and session.get("has_gt", True):
        out["suggestion"] = baseline_click(s.mask, preds[-1].mask, valid_or_none(s), out["clicks"])
    else:
        out["suggestion"] = None
    return out


def render(session: dict, alpha: float = 0.45) -> np.ndarray | None:
    """The image with the target outlined (when a mask is known), the current mask at opacity ``alpha``, the clicks
    numbered in order (green positive, red negative) and the robot's suggested next click as a ring."""
    s = session.get("sample")
    if s is None:
        return None
    img = s.image.copy()
    if session.get("has_gt", True):
        contours, _ = cv2.findContours(s.mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(img, contours, -1, OUTLINE, max(1, round(max(img.shape[:2]) / 300)), cv2.LINE_AA)
    if session["pred"] is not None:
        img = overlay_mask(img, session["pred"].mask, alpha=float(alpha))
    return draw_clicks(img, session["clicks"], hollow=session.get("suggestion"))


def status_text(session: dict, note: str = "") -> str:
    """One line: the last click, its IoU (when a mask is known), the robot's IoU after as many clicks, the suggestion."""
    k = len(session["clicks"])
    if not k:
        return ("No clicks yet. Left click: positive · right click or shift-click: negative."
                + ("" if session.get("has_gt", True) else " No mask was given: no score, the segmentation works.")
                + (f" {note}" if note else ""))
    c = session["clicks"][-1]
    parts = [f"click {k} at ({c.x}, {c.y}) {'positive' if c.positive else 'negative'}"]
    if session.get("has_gt", True) and session["ious"]:
        parts.append(f"IoU after click {k}: **{session['ious'][-1]:.4f}**")
        robot = session["robot"]["ious"]
        if len(robot) >= k:
            parts.append(f"robot after {k} clicks: {robot[k - 1]:.4f}")
        elif k > ROBOT_CLICKS and robot:
            parts.append(f"robot after {ROBOT_CLICKS} clicks: {robot[-1]:.4f}")
        sug = session.get("suggestion")
        if sug is not None:
            parts.append(f"robot's next click: ({sug.x}, {sug.y}) {'positive' if sug.positive else 'negative'}")
    elif not session.get("has_gt", True):
        parts.append("no mask given: no score")
    return " · ".join(parts) + (f" · {note}" if note else "")


def figure(session: dict):
    """Your IoU vs the robot's (None without a mask or clicks); NoC@90 marked, "not reached" when it is not."""
    if not session.get("has_gt", True) or not session["ious"]:
        return None
    k = len(session["ious"])
    return iou_figure({"you": session["ious"], "baseline robot": session["robot"]["ious"][:max(k, 1)]}, "IoU per click")


def downloads(session: dict) -> list[str]:
    """Files for the visitor: the mask (PNG, 0/255), a cut-out (RGBA PNG, transparent background) and the clicks
    (CSV in the RClicks schema, the click types first/fn/fp; x = column, y = row)."""
    from PIL import Image

    if session.get("pred") is None:
        raise RClicksError("click on the image first: there is no mask to download yet")
    s = session["sample"]
    base = settings.path("GRADIO_TEMP_DIR")
    if base:
        Path(base).mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="rclicks-download-", dir=base))
    mask = session["pred"].mask
    Image.fromarray(mask.astype(np.uint8) * 255).save(folder / "mask.png")
    Image.fromarray(np.dstack([s.image, mask.astype(np.uint8) * 255])).save(folder / "cutout.png")
    from rclicks.clicks import sample_key

    dataset, image_stem, object_stem = sample_key(s)
    h, w = mask.shape
    rows = []
    for n, c in enumerate(session["clicks"]):
        kind = "first" if n == 0 else ("fn" if c.positive else "fp")
        model_type = session.get("model", "") if kind != "first" else ""
        rows.append({"dataset": dataset, "full_stem": "_".join(p for p in (image_stem, object_stem, kind, model_type) if p),
                     "image_stem": image_stem, "object_stem": object_stem, "click_type": kind, "model_type": model_type,
                     "device": "pc", "x": c.x, "y": c.y, "w": w, "h": h})
    pd.DataFrame(rows).to_csv(folder / "clicks.csv", index=False)
    return [str(folder / n) for n in ("mask.png", "cutout.png", "clicks.csv")]


def parse_click(text: str) -> Click:
    """A click from the browser's ``"x,y,sign"`` (sign 1 positive, 0 negative; extra fields ignored)."""
    try:
        x, y, sign = (int(float(v)) for v in str(text).split(",")[:3])
    except ValueError as exc:
        raise RClicksError(f"malformed click {text!r}") from exc
    return Click(x, y, bool(sign))


def click_api(dataset: str, index: int, model: str, clicks: list) -> dict:
    """API endpoint: the IoU of ``model`` for ``clicks`` (``[[x, y, positive], …]``, at most MAX_SESSION_CLICKS) on a
    gallery sample — one visitor's click, as scripts and the load test make it."""
    try:
        s = samples.gallery_sample(dataset, index)
        if not isinstance(clicks, (list, tuple)) or not clicks:
            raise RClicksError("clicks must be a non-empty list of [x, y, positive]")
        if len(clicks) > MAX_SESSION_CLICKS:
            raise RClicksError(f"at most {MAX_SESSION_CLICKS} clicks per request, got {len(clicks)}")
        session = new_session(s)
        for c in clicks:
            x, y, p = c
            session, _ = visitor_click(s, model, session, Click(int(x), int(y), bool(p)))
    except (RClicksError, ValueError, TypeError) as exc:
        raise gr.Error(str(exc)) from exc
    return {"iou": session["ious"][-1], "clicks": len(session["clicks"])}


#: Installed once on page load: left click → positive, right click or shift-click → negative; the image pixel is
#: computed from the displayed <img> (object-fit: contain) and handed to the hidden button's event.
CLICK_JS = """
() => {
  if (window.__rclicksCy) return; window.__rclicksCy = true;
  const handler = (e) => {
    const img = e.target.closest('#cy-image img');
    if (!img || !img.naturalWidth) return;
    if (e.type === 'contextmenu') e.preventDefault();
    if (e.type === 'mousedown' && e.button !== 0) return;
    const r = img.getBoundingClientRect();
    const s = Math.min(r.width / img.naturalWidth, r.height / img.naturalHeight);
    const ox = (r.width - img.naturalWidth * s) / 2, oy = (r.height - img.naturalHeight * s) / 2;
    const x = Math.floor((e.clientX - r.left - ox) / s), y = Math.floor((e.clientY - r.top - oy) / s);
    if (x < 0 || y < 0 || x >= img.naturalWidth || y >= img.naturalHeight) return;
    const mode = document.querySelector('#cy-mode input:checked');
    const negative = e.type === 'contextmenu' || e.shiftKey || (mode && mode.value === 'negative');
    window.__rclicksCyClick = `${x},${y},${negative ? 0 : 1},${Date.now()}`;
    document.querySelector('#cy-click-btn').click();
  };
  document.addEventListener('mousedown', handler, true);
  document.addEventListener('contextmenu', handler, true);
}
"""


def build() -> None:
    """The Click-yourself tab."""
    store = settings.path("RCLICKS_CLICKS_STORE")
    if store.is_dir():  # parts whose writer died between write and rename
        from rclicks_leaderboard._fs import clean_tmp

        clean_tmp(str(store))
    gr.Markdown("Click on the object (outlined in yellow). **Left click: positive** (add), **right click or shift-click: "
                "negative** (remove); numbers give the order. The ring shows where the baseline robot would click next; "
                "the chart compares your IoU curve with the robot's. Upload your own image (the mask is optional: "
                "without it there is no score, but the segmentation works).")
    first = _sample(_choices()[0])
    session_state = gr.State(new_session(first))
    with gr.Row():
        choice = gr.Dropdown(_choices(), value=_choices()[0], label="sample", elem_id="cy-sample")
        model = gr.Dropdown(pool.model_choices(), value=pool.model_choices()[0], label="model", elem_id="cy-model")
        gr.Radio(["positive", "negative"], value="positive", label="left click adds (touch screens: pick here)",
                 elem_id="cy-mode")  # read by CLICK_JS in the browser, not by Python
        undo_btn = gr.Button("Undo last click", elem_id="cy-undo")
        reset = gr.Button("Reset clicks", elem_id="cy-reset")
    with gr.Accordion("…or click on your own image", open=False):
        with gr.Row():
            up_image = gr.File(label="image", file_types=["image"], elem_id="cy-upload-image")
            up_mask = gr.File(label="object mask (optional; white or opaque = object)", file_types=["image"],
                              elem_id="cy-upload-mask")
            use_upload = gr.Button("Use my image", elem_id="cy-use-upload")
    with gr.Row():
        consent = gr.Checkbox(False, label="I agree that my clicks (positions and device type only) and my choice of "
                              "candidate mask are stored for research (bundled samples only)", elem_id="cy-consent")
        opacity = gr.Slider(0, 1, value=0.45, step=0.05, label="mask opacity", elem_id="cy-opacity")
    with gr.Row():
        canvas = gr.Image(value=render(new_session(first)), label="click on the image", interactive=False,
                          elem_id="cy-image", height=520, buttons=[])
        with gr.Column():
            plot = gr.Plot(label="your IoU vs the robot's", elem_id="cy-plot")
            status = gr.Markdown(status_text(new_session(first)), elem_id="cy-status")
    cand_gallery = gr.Gallery(label="candidate masks after the first click (click one to keep it)", columns=4, height=260,
                              object_fit="contain", allow_preview=False, elem_id="cy-candidates")
    cand_table = gr.Markdown("", elem_id="cy-candidates-table")
    with gr.Row():
        dl_btn = gr.Button("Download mask, cut-out and clicks", elem_id="cy-download")
        dl_files = gr.File(label="downloads", file_count="multiple", interactive=False, elem_id="cy-files")
    click_in = gr.Textbox(visible="hidden", elem_id="cy-click-in")
    click_btn = gr.Button("click", visible="hidden", elem_id="cy-click-btn")

    def sample_of(session):
        return session["sample"]

    def show(choice_value, alpha):
        sess = new_session(_sample(choice_value))
        return render(sess, alpha), sess, status_text(sess), None, [], "", None

    def take_upload(img_file, mask_file, alpha):
        try:
            image = samples.read_upload_file(img_file, "image")
            if image is None:
                raise RClicksError("choose an image file first")
            mask = samples.read_upload_file(mask_file, "mask") if mask_file else None
            s, notice = samples.from_upload(image, mask, allow_no_mask=True)
        except RClicksError as exc:
            return gr.update(), gr.update(), f"⚠️ {exc}", gr.update(), gr.update(), gr.update(), gr.update()
        sess = new_session(s, has_gt=bool(s.mask.any()))
        return render(sess, alpha), sess, status_text(sess, notice), None, [], "", None

    def on_click(session, model_name, text, agree, alpha, request: gr.Request):
        s = sample_of(session)
        try:
            click = parse_click(text)
            n_before = len(session["clicks"])
            new, _ = visitor_click(s, model_name, session, click)
            new["model"] = model_name
            if agree and s.dataset != "upload":
                record_click(s, click, n_before, model_name, device_type(request.headers.get("user-agent", "")))
        except RClicksError as exc:
            return gr.update(), session, f"⚠️ {exc}"
        note = " · click stored" if agree and s.dataset != "upload" else ""
        return render(new, alpha), new, status_text(new) + note

    def after_click(session, model_name):
        """The robot's step and (after the first click) the candidates: after the mask is on screen."""
        s = sample_of(session)
        if not session["clicks"]:
            return session, gr.update(), gr.update(), gr.update(), gr.update()
        try:
            new = robot_step(s, model_name, session)
            cands = candidates_view(s, model_name, new) if "chosen" not in new else None
        except RClicksError as exc:
            return session, gr.update(), f"⚠️ {exc}", gr.update(), gr.update()
        gallery, table = gr.update(), gr.update()
        if cands is not None:
            new["candidates"] = {k: v for k, v in cands.items() if k != "masks"}
            gallery = [(overlay_mask(s.image, mk), _caption(i, cands)) for i, mk in enumerate(cands["masks"])]
            table = _candidates_table(cands)
        elif len(new["clicks"]) > 1:
            gallery, table = [], ""
        return new, figure(new), status_text(new), gallery, table

    def on_choose(session, model_name, agree, alpha, evt: gr.SelectData, request: gr.Request):
        s = sample_of(session)
        try:
            new = choose_candidate(s, model_name, session, int(evt.index))
            cands = session.get("candidates") or {}
            if agree and s.dataset != "upload" and cands:
                record_choice(s, model_name, int(evt.index), cands.get("predicted", []), cands.get("true") or [],
                              device_type(request.headers.get("user-agent", "")))
        except RClicksError as exc:
            return gr.update(), session, f"⚠️ {exc}", gr.update()
        new["robot"] = session["robot"]
        return render(new, alpha), new, status_text(new, f"candidate {int(evt.index)} kept"), figure(new)

    def on_undo(session, alpha):
        new = undo(session)
        return render(new, alpha), new, status_text(new), figure(new)

    def on_reset(session, alpha):
        new = new_session(session["sample"], session.get("has_gt", True))
        return render(new, alpha), new, status_text(new), None, [], "", None

    def on_download(session):
        try:
            return downloads(session)
        except RClicksError as exc:
            raise gr.Error(str(exc)) from exc

    gr.on(None, None, js=CLICK_JS)
    reset_outputs = [canvas, session_state, status, plot, cand_gallery, cand_table, dl_files]
    choice.change(show, [choice, opacity], reset_outputs)
    model.change(on_reset, [session_state, opacity], reset_outputs)
    reset.click(on_reset, [session_state, opacity], reset_outputs)
    use_upload.click(take_upload, [up_image, up_mask, opacity], reset_outputs)
    click_btn.click(on_click, [session_state, model, click_in, consent, opacity], [canvas, session_state, status],
                    js="(s, m, t, a, o) => [s, m, window.__rclicksCyClick || t, a, o]", concurrency_id="click",
                    show_progress="hidden", api_name="add_click").then(
        after_click, [session_state, model], [session_state, plot, status, cand_gallery, cand_table],
        concurrency_id="click", show_progress="hidden")
    cand_gallery.select(on_choose, [session_state, model, consent, opacity], [canvas, session_state, status, plot],
                        concurrency_id="click")
    undo_btn.click(on_undo, [session_state, opacity], [canvas, session_state, status, plot])
    opacity.release(lambda sess, a: render(sess, a), [session_state, opacity], canvas)
    dl_btn.click(on_download, session_state, dl_files)
    gr.api(click_api, api_name="click", concurrency_id="click")


def _caption(i: int, cands: dict) -> str:
    true = f" · true IoU {cands['true'][i]:.3f}" if cands["true"] is not None else ""
    kept = [p for p, k in cands["keep"].items() if k == i]
    return f"token {i}: predicted IoU {cands['predicted'][i]:.3f}{true}" + (f" · kept by {', '.join(kept)}" if kept else "")


def _candidates_table(cands: dict) -> str:
    rows = ["| candidate | predicted IoU | true IoU | kept by |", "|---|---|---|---|"]
    for i, p in enumerate(cands["predicted"]):
        true = f"{cands['true'][i]:.3f}" if cands["true"] is not None else "—"
        kept = ", ".join(f"{k} ({POLICY_NOTES[k]})" for k, v in cands["keep"].items() if v == i)
        rows.append(f"| token {i} | {p:.3f} | {true} | {kept} |")
    return "\n".join(rows)

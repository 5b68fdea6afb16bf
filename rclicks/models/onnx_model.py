"""The ONNX contract's runtime: a validated submission folder run with onnxruntime behind the model protocol.

The contract and its validator are ``rclicks.models.onnx_contract``; this module adds only
what running needs (onnxruntime sessions, pre/post-processing, the embedding cache, call
counters). What a manifest declares is what every model gets, the built-in ones included:
miniSAM (``rclicks.models.minisam``) is this runtime with the packaged ``minisam.json``
plus its derived graphs.

Capabilities, each declared by the manifest:

* encoder/decoder submissions encode each image once; the encoder's outputs are kept in a
  small LRU cache keyed by the image's pixels (``encoder_calls`` counts real encoder runs,
  ``decoder_calls`` decoder or one-network runs: one per ``predict``);
* ``output.candidates`` ``K > 1`` with ``scores``: ``predict(..., multimask=True)`` returns
  the candidates and their scores, ``all_candidates`` all ``K`` of them;
* ``output.single_mask`` ``i`` (SAM's mask-token layout, e.g. a SAM ONNX export without
  ``--return-single-mask``: ``"candidates": 4, "single_mask": 0``): candidate ``i`` is the
  single-mask output (SAM's ``multimask_output=False``), the others the multi-mask
  candidates (``multimask_output=True``); on a one-click prompt the multi-mask candidates
  come with the single mask, so the runner records the best-of-K IoU@1;
* ``previous_mask: low_res_logits``: the kept mask's low-res logits (``state["low_res"]``,
  ``K×1×s×s`` for candidates, ``1×1×s×s`` for one mask) are fed back as ``mask_input``.
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rclicks.errors import RClicksError
from rclicks.models.base import check_clicks, check_image
from rclicks.models.onnx_contract import MANIFEST, Manifest, check_submission, packaged_manifest
from rclicks.types import Click, Prediction


def _resize(arr: np.ndarray, width: int, height: int) -> np.ndarray:
    """Bilinear resize of a ``float32`` ``h×w`` or ``uint8`` ``h×w×3`` array to ``height×width`` (PIL, antialiased)."""
    from PIL import Image

    if arr.dtype == np.uint8:
        return np.asarray(Image.fromarray(arr).resize((width, height), Image.BILINEAR))
    img = Image.fromarray(np.ascontiguousarray(arr, dtype=np.float32), mode="F")
    return np.asarray(img.resize((width, height), Image.BILINEAR), dtype=np.float32)


def longest_side_shape(h: int, w: int, size: int) -> tuple[int, int]:
    """``(new_h, new_w)`` with the longest side ``size`` (SAM's ``get_preprocess_shape``)."""
    scale = size / max(h, w)
    return int(h * scale + 0.5), int(w * scale + 0.5)


def preprocess_image(image: np.ndarray, size: int, resize: str, mean: Sequence[float],
                     std: Sequence[float]) -> np.ndarray:
    """``uint8`` ``H×W×3`` RGB → ``float32`` ``1×3×S×S``: resize (``longest_side`` | ``stretch``), normalise
    ``(pixel − mean) / std`` on 0–255 values, zero-pad bottom/right."""
    h, w = image.shape[:2]
    nh, nw = (size, size) if resize == "stretch" else longest_side_shape(h, w, size)
    resized = _resize(image, nw, nh).astype(np.float32)
    out = np.zeros((size, size, 3), dtype=np.float32)
    out[:nh, :nw] = (resized - np.array(mean, np.float32)) / np.array(std, np.float32)
    return np.ascontiguousarray(out.transpose(2, 0, 1)[None])


def coordinate_prompt(clicks: Sequence[Click], sx: float, sy: float, offset: float = 0.0,
                      padding_point: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Clicks as graph coordinates: ``point_coords`` ``1×N×2`` ((x + offset)·sx, (y + offset)·sy) and
    ``point_labels`` ``1×N`` (1 positive, 0 negative), plus SAM's ``(0, 0)`` label −1 point with ``padding_point``."""
    xy = np.array([[(c.x + offset) * sx, (c.y + offset) * sy] for c in clicks], dtype=np.float32)
    labels = np.array([1.0 if c.positive else 0.0 for c in clicks], dtype=np.float32)
    if padding_point:
        xy = np.concatenate([xy.reshape(-1, 2), np.zeros((1, 2), np.float32)])
        labels = np.concatenate([labels, np.array([-1.0], np.float32)])
    return xy[None], labels[None]


def logistic(logits: np.ndarray) -> np.ndarray:
    """The probabilities of logits, ``float32``: ``0.5 · (1 + tanh(x / 2))`` (bounded, no overflow)."""
    return (0.5 * (1.0 + np.tanh(0.5 * logits))).astype(np.float32)


class OnnxContractModel:
    """Runs a validated submission folder with onnxruntime behind the rclicks model protocol.

    ``manifest`` overrides ``folder/rclicks.json`` (e.g. a manifest shipped with rclicks
    for third-party files). ``device``: ``cpu`` | ``cuda`` | ``auto`` (onnxruntime providers).
    Subclasses (miniSAM) may adjust the validated manifest (:meth:`_configure`), run a graph
    derived from a verified file (:meth:`_graph_path`), state their identity
    (:meth:`_identity`) and say how candidate maps come out of a decoder call
    (:meth:`_candidate_maps`); everything else is this class.
    """

    differentiable = False

    def __init__(self, folder: str | os.PathLike, manifest: str | os.PathLike | None = None, *,
                 device: str = "cpu", mask_feedback: bool = True, threads: int | None = None,
                 cache_size: int = 4) -> None:
        from rclicks.models.onnx_runtime import make_session

        checked = check_submission(folder, manifest)
        self._manifest_path = Path(manifest) if manifest is not None else checked.manifest.folder / MANIFEST
        m = self.manifest = self._configure(checked.manifest)
        self._low = checked.low_res_size
        if not hasattr(type(self), "name"):  # a subclass names itself
            self.name = f"onnx:{m.name}"
        self.multimask = m.candidates > 1
        self.proposes_clicks = m.proposed > 0
        self.mask_feedback = bool(mask_feedback)
        self.device, self.threads = device, threads
        self.sessions = {role: make_session(self._graph_path(role), device, threads) for role in m.files}
        run = self.sessions["decoder" if m.two_stage else "model"]
        names = {o.name for o in run.get_outputs()}
        self._outputs = [m.io[r] for r in ("masks", "scores", "low_res", "proposed") if m.io[r] in names]
        self.weights_sha256 = self._identity()
        self.encoder_calls = 0
        self.decoder_calls = 0
        self.cache_size = max(1, int(cache_size))
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._current: Any = None
        self._shape: tuple[int, int] | None = None

    # -- what a subclass may adjust -------------------------------------------------------
    def _configure(self, manifest: Manifest) -> Manifest:
        """The manifest the runtime follows (the validated one)."""
        return manifest

    def _graph_path(self, role: str) -> Path:
        """The graph run for ``role`` (``model``, ``encoder``, ``decoder``): the manifest's file."""
        return self.manifest.folder / self.manifest.files[role]

    def _identity(self) -> str:
        """``weights_sha256`` (results' ``model_sha256``): sha256 over the files' and the manifest's sha256."""
        from rclicks.weights import sha256_file

        m = self.manifest
        lines = [f"{fname}={sha256_file(m.folder / fname)}" for fname in sorted(m.files.values())]
        lines.append(f"{MANIFEST}={sha256_file(self._manifest_path)}")
        return hashlib.sha256("\n".join(lines).encode()).hexdigest()

    def _candidate_maps(self, result: dict[str, np.ndarray], index: Sequence[int] | slice,
                        n_clicks: int) -> np.ndarray:
        """Candidates ``index`` of one decoder call's outputs, in the original frame (``K'×H×W`` logits or
        probabilities, as ``output.type``)."""
        m = self.manifest
        maps = np.asarray(result[m.io["masks"]], np.float32)
        if maps.ndim != 4 or maps.shape[0] != 1 or maps.shape[1] != m.candidates:
            raise RClicksError(f"{self.name}: output {m.io['masks']!r} has shape {maps.shape}; expected "
                               f"[1, {m.candidates}, h, w] (output.candidates = {m.candidates})")
        maps = maps[0][index]
        if m.output_size == "original":
            if maps.shape[1:] != self._shape:
                raise RClicksError(f"{self.name}: output {m.io['masks']!r} is {maps.shape[1:]}, expected the original "
                                   f"size {self._shape} (output.size = 'original')")
            return maps
        return self._to_original(maps)

    # -- geometry -----------------------------------------------------------------------
    def _scale(self, shape: tuple[int, int] | None = None) -> tuple[float, float, int, int]:
        """``(sx, sy, valid_w, valid_h)``: original → model-input scale and the image's extent there."""
        h, w = shape if shape is not None else self._shape
        s = self.manifest.size
        if self.manifest.resize == "stretch":
            return s / w, s / h, s, s
        scale = s / max(h, w)
        return scale, scale, int(w * scale + 0.5), int(h * scale + 0.5)

    def preprocess(self, image: np.ndarray) -> np.ndarray:
        """``uint8`` ``H×W×3`` RGB → ``float32`` ``1×3×S×S`` (resize, normalise, zero-pad bottom/right)."""
        m = self.manifest
        return preprocess_image(image, m.size, m.resize, m.mean, m.std)

    def _to_input_frame(self, prob: np.ndarray) -> np.ndarray:
        """An ``H×W`` map → ``S×S`` in the model-input frame (zero outside the image)."""
        _, _, vw, vh = self._scale()
        s = self.manifest.size
        out = np.zeros((s, s), np.float32)
        out[:vh, :vw] = _resize(prob.astype(np.float32), vw, vh)
        return out

    def _to_original(self, maps: np.ndarray) -> np.ndarray:
        """``K×h×w`` maps in the model-input frame → ``K×H×W`` in the original frame."""
        h, w = self._shape
        s = self.manifest.size
        _, _, vw, vh = self._scale()
        out = np.empty((len(maps), h, w), np.float32)
        for k, mp in enumerate(maps):
            if mp.shape != (s, s):
                mp = _resize(mp, s, s)
            out[k] = _resize(mp[:vh, :vw], w, h)
        return out

    def encode_clicks(self, clicks: Sequence[Click], shape: tuple[int, int] | None = None) -> dict[str, np.ndarray]:
        """The click inputs of the graph: coordinates ``1×N×2`` (x, y) + labels ``1×N``, or disk maps ``1×2×S×S``.

        ``shape``: the image's ``(H, W)`` (default: the current image's).
        """
        m = self.manifest
        sx, sy, _, _ = self._scale(shape)
        if m.encoding == "coordinates":
            xy, labels = coordinate_prompt(clicks, sx, sy, m.offset, m.padding_point)
            return {m.io["point_coords"]: xy, m.io["point_labels"]: labels}
        xy, labels = coordinate_prompt(clicks, sx, sy, m.offset)
        s = m.size
        yy, xx = np.mgrid[0:s, 0:s].astype(np.float32)
        maps = np.zeros((1, 2, s, s), np.float32)
        for (x, y), lab in zip(xy[0], labels[0]):
            disk = (xx - x) ** 2 + (yy - y) ** 2 <= m.radius ** 2
            maps[0, 0 if lab > 0 else 1][disk] = 1.0
        return {m.io["click_maps"]: maps}

    # -- protocol -----------------------------------------------------------------------
    def embed(self, image: np.ndarray) -> dict[str, np.ndarray]:
        """The decoder inputs that depend on the image alone (the encoder's outputs; the image tensor for a
        one-network submission), cached by content: encoding an image already seen costs nothing."""
        from rclicks.models._sam_common import image_key

        image = check_image(image)
        key = image_key(image)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        tensor = self.preprocess(image)
        m = self.manifest
        if m.two_stage:
            enc = self.sessions["encoder"]
            outs = enc.run(None, {m.io["image"]: tensor})
            feeds = {m.embeddings.get(o.name, o.name): v for o, v in zip(enc.get_outputs(), outs)}
            self.encoder_calls += 1
        else:
            feeds = {m.io["image"]: tensor}
        self._cache[key] = feeds
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return feeds

    def set_image(self, image: np.ndarray) -> None:
        """Preprocess (and, for encoder/decoder submissions, encode once) a ``uint8`` ``H×W×3`` RGB image."""
        self._current = self.embed(image)
        self._shape = (image.shape[0], image.shape[1])

    def _check_ready(self, clicks: Sequence[Click]) -> None:
        if self._shape is None:
            raise RClicksError(f"{self.name}: call set_image(image) before predict()")
        check_clicks(clicks, self._shape)

    def _feeds(self, features: dict[str, np.ndarray], clicks: Sequence[Click], prev: Prediction | None,
               shape: tuple[int, int]) -> dict[str, np.ndarray]:
        """The decoder's (or the one network's) inputs for one prompt on an image of ``shape``."""
        from rclicks.models._sam_common import feedback_logits

        m = self.manifest
        feeds = dict(features)
        feeds.update(self.encode_clicks(clicks, shape))
        if m.previous_mask == "low_res_logits":
            low = feedback_logits(prev) if self.mask_feedback else None
            has = low is not None
            feeds[m.io["mask_input"]] = (low[None].astype(np.float32) if has
                                         else np.zeros((1, 1, self._low, self._low), np.float32))
            feeds[m.io["has_mask_input"]] = np.array([1.0 if has else 0.0], np.float32)
        elif m.previous_mask == "probability":
            prob = prev.prob if (prev is not None and self.mask_feedback) else np.zeros(shape, np.float32)
            feeds[m.io["prev_mask"]] = self._to_input_frame(prob)[None, None]
        if m.output_size == "original":
            feeds[m.io["orig_im_size"]] = np.array(shape, np.float32)
        return feeds

    def _run(self, clicks: Sequence[Click], prev: Prediction | None) -> dict[str, np.ndarray]:
        """One decoder (or one-network) call on the current image: its outputs by graph name."""
        session = self.sessions["decoder" if self.manifest.two_stage else "model"]
        outs = session.run(self._outputs, self._feeds(self._current, clicks, prev, self._shape))
        self.decoder_calls += 1
        return dict(zip(self._outputs, outs))

    def _probabilities(self, result: dict[str, np.ndarray], index: Sequence[int] | slice, n_clicks: int) -> np.ndarray:
        maps = self._candidate_maps(result, index, n_clicks)
        return logistic(maps) if self.manifest.output_type == "logits" else np.clip(maps, 0.0, 1.0).astype(np.float32)

    def _output(self, result: dict[str, np.ndarray], role: str) -> np.ndarray | None:
        name = self.manifest.io[role]
        return np.asarray(result[name], np.float32) if name in result else None

    def predict(self, clicks: Sequence[Click], prev: Prediction | None = None, *, multimask: bool = False,
                propose: bool = True) -> Prediction:
        """Segment from all ``clicks`` (x = column, y = row); returns ``prob`` ``float32`` ``H×W``.

        With ``candidates > 1`` in the manifest and ``multimask``, also ``candidates``/``scores``
        (with ``single_mask``: the candidates other than the single mask; on a one-click prompt
        they come without ``multimask`` too). ``state["low_res"]`` holds the low-res logits of
        each candidate returned (``K×1×s×s``) or of the one mask (``1×1×s×s``).
        With ``output.proposed_clicks`` and ``propose``, ``proposed`` holds the model's clicks.
        """
        self._check_ready(clicks)
        m = self.manifest
        result = self._run(clicks, prev)
        scores = self._output(result, "scores")
        scores = None if scores is None else scores.reshape(-1)
        low_res = self._output(result, "low_res")
        low_res = None if low_res is None else low_res[0]

        def state(index):
            return None if low_res is None else {"low_res": low_res[index][:, None]}

        proposed = self._proposed(result.get(m.io["proposed"])) if (m.proposed and propose) else None
        n = len(clicks)
        if m.single_mask is None:
            probs = self._probabilities(result, slice(None), n)
            k = len(probs)
            best = int(np.argmax(scores)) if scores is not None and len(scores) == k else 0
            if multimask and k > 1:
                return Prediction(prob=probs[best], candidates=probs, scores=scores, state=state(slice(None)),
                                  proposed=proposed)
            return Prediction(prob=probs[best], scores=None if scores is None else scores[best:best + 1],
                              state=state(slice(best, best + 1)), proposed=proposed)
        single = m.single_mask
        others = [j for j in range(m.candidates) if j != single]
        candidates = cand_scores = None
        if multimask or n == 1:
            candidates = self._probabilities(result, others, n)
            cand_scores = scores[others]
        if multimask:
            best = int(np.argmax(cand_scores))
            return Prediction(prob=candidates[best], candidates=candidates, scores=cand_scores, state=state(others),
                              proposed=proposed)
        prob = self._probabilities(result, [single], n)[0]
        return Prediction(prob=prob, candidates=candidates,
                          scores=cand_scores if n == 1 else scores[single:single + 1],
                          state=state([single]), proposed=proposed)

    def all_candidates(self, clicks: Sequence[Click], prev: Prediction | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Every candidate of one decoder call: (probabilities ``K×H×W`` float32, scores ``K``; NaN without a
        ``scores`` output), in the graph's order (with ``single_mask``, the single mask at that index)."""
        self._check_ready(clicks)
        result = self._run(clicks, prev)
        k = self.manifest.candidates
        scores = self._output(result, "scores")
        scores = np.full(k, np.nan, np.float32) if scores is None else scores.reshape(-1)
        return self._probabilities(result, list(range(k)), len(clicks)), scores

    def _proposed(self, raw: Any) -> list[Click]:
        """The ``proposed_clicks`` output ``1×P×3`` (x, y in model-input pixels, label 1/0; −1 = none) as original-frame clicks."""
        m = self.manifest
        arr = np.asarray(raw, np.float32)
        if arr.shape != (1, m.proposed, 3) or not np.isfinite(arr).all():
            raise RClicksError(f"{self.name}: output {m.io['proposed']!r} has shape {arr.shape} or non-finite values; "
                               f"expected finite [1, {m.proposed}, 3] (x, y, label)")
        sx, sy, _, _ = self._scale()
        h, w = self._shape
        out = []
        for x, y, label in arr[0]:
            if label < 0:
                continue
            cx, cy = int(np.floor(x / sx - m.offset)), int(np.floor(y / sy - m.offset))
            if 0 <= cx < w and 0 <= cy < h:
                out.append(Click(cx, cy, bool(label > 0.5)))
        return out


def minisam_contract_model(folder: str | os.PathLike | None = None, **kwargs: Any) -> OnnxContractModel:
    """miniSAM's files run exactly as a submission would be: the packaged ``minisam.json`` on the shipped
    ``sam.onnx`` (one output, the export's own selection: the ``sam`` policy). The registry's ``minisam``
    (:class:`rclicks.models.minisam.MiniSAM`) is the same runtime and manifest with all four mask tokens."""
    if folder is None:
        from rclicks.weights import weights_path

        folder = weights_path("minisam")
    return OnnxContractModel(folder, manifest=packaged_manifest("minisam"), **kwargs)

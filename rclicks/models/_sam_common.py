"""Shared machinery of the SAM-family adapters (SAM, SAM 2, MobileSAM, SAM-HQ).

What every adapter does the same way:

* the image embedding is computed **once per image** (``set_image``) and kept in a small
  LRU cache keyed by the image's bytes, so every click of every trajectory on that image
  reuses it (``encoder_calls`` counts real encoder runs);
* every prompt holds *all* clicks of the trajectory, as ``(x, y)`` = (column, row) pixel
  coordinates of the original image, label 1 for positive and 0 for negative clicks;
* the previous prediction's low-resolution logits (``state["low_res"]``, ``1×256×256``)
  are fed back as ``mask_input`` when ``mask_feedback`` is on (the default, as SAM's
  authors evaluate interactive refinement);
* ``multimask=True`` returns every candidate (``candidates`` ``K×H×W`` float32
  probabilities, ``scores`` ``K`` predicted IoUs), ``prob`` = the highest-scoring one, and
  ``state["low_res"]`` = ``K×1×256×256`` so a policy can feed back the one it selects.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rclicks.errors import RClicksError
from rclicks.models.base import check_clicks, check_image
from rclicks.types import Click, Prediction

#: Value of ``checkpoint=`` that builds an untrained, seeded network (smoke tests, benchmarks).
RANDOM = "random"


@dataclass(frozen=True)
class Variant:
    """One buildable variant: its checkpoint file name and where the Hub keeps it."""

    filename: str
    hub: str | None = None  # "hf://owner/repo/filename", optional online source
    config: str | None = None  # SAM 2 hydra config name
    url: str | None = None  # the authors' download URL ("URL#sha256=HEX" pins the file), optional online source

    @property
    def sources(self) -> tuple[str, ...]:
        """The online sources known for this file (URL, then Hub), where a cached download is looked for."""
        return tuple(s for s in (self.url, self.hub) if s)


def require(module: str, pip: str) -> Any:
    """Import an optional package or raise RClicksError with the ``pip install`` line."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise RClicksError(f"this model needs the {module!r} package: {pip}") from exc


def resolve_checkpoint(model: str, variant: Variant, checkpoint: str | Path | None) -> Path | None:
    """Turn ``--checkpoint`` into a verified local file through :func:`rclicks.weights.resolve`, or ``None`` for
    ``"random"`` (untrained weights).

    ``None`` → the variant's file already in the cache (its URL's or Hub file's download, else
    ``cache_dir()/checkpoints/<filename>``); ``"hf"`` → the variant's Hub file; ``"url"`` → the authors'
    download URL; ``"hf://owner/repo/file"``, ``"http(s)://…[#sha256=HEX]"`` or a local path → that file.
    """
    from rclicks import weights
    from rclicks.models.checkpoints import CHECKPOINT_SUFFIXES

    if checkpoint is None:
        local = weights.find_cached(variant.filename, variant.sources)
        if local is not None:
            return local
        online = [f"--checkpoint {k} (downloads {v.split('#')[0]})" for k, v in (("hf", variant.hub), ("url", variant.url)) if v]
        hint = f" or {' or '.join(online)}" if online else ""
        raise RClicksError(
            f"model {model!r} needs weights: pass --checkpoint PATH (e.g. {variant.filename}){hint}, "
            f"put the file at {weights.legacy_checkpoint_dir() / variant.filename}, or use --checkpoint random for "
            "an untrained network (smoke tests only)"
        )
    text = str(checkpoint)
    if text == RANDOM:
        return None
    if text == "hf":
        if not variant.hub:
            raise RClicksError(f"model {model!r}: no Hub source known; pass --checkpoint PATH or URL")
        text = variant.hub
    elif text == "url":
        if not variant.url:
            raise RClicksError(f"model {model!r}: no download URL known; pass --checkpoint PATH, URL or hf://…")
        text = variant.url
    if not weights.is_remote(text):
        path = Path(text).expanduser()
        if not path.is_file() and "#" in text:
            path = Path(weights.split_pin(text)[0]).expanduser()
        if not path.is_file():
            raise RClicksError(f"--checkpoint {text}: file not found for model {model!r}")
    return weights.resolve(text, suffixes=CHECKPOINT_SUFFIXES)


def build_network(
    make: Callable[[], Any], checkpoint: Path | None, seed: int, strict: bool = True, nested_key: str | None = None
) -> tuple[Any, str]:
    """Build a torch network with ``make()`` under a fixed torch seed, then load ``checkpoint`` safely.

    Returns ``(module in eval mode, weights sha256 or "random-init:seed=N")``.
    """
    import torch

    from rclicks.models.checkpoints import load_state_dict
    from rclicks.weights import sha256_file

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = make()
    if checkpoint is None:
        return net.eval(), f"random-init:seed={seed}"
    state = load_state_dict(checkpoint, nested_key=nested_key)
    try:
        result = net.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # tensor shape mismatches (e.g. a vit_l checkpoint for vit_b)
        raise RClicksError(f"{checkpoint}: checkpoint does not fit this network ({str(exc).splitlines()[-1].strip()}); "
                           "is it the right variant?") from exc
    missing, unexpected = list(result.missing_keys), list(result.unexpected_keys)
    if (strict and (missing or unexpected)) or len(missing) == len(net.state_dict()):
        raise RClicksError(
            f"{checkpoint}: checkpoint does not fit this network: {len(missing)} missing key(s) {missing[:3]}, "
            f"{len(unexpected)} unexpected key(s) {unexpected[:3]}; is it the right variant?"
        )
    return net.eval(), sha256_file(checkpoint)


def image_key(image: np.ndarray) -> str:
    """A content key of an image (shape + blake2b of its bytes) for the embedding cache."""
    digest = hashlib.blake2b(image.tobytes(), digest_size=16)
    digest.update(repr(image.shape).encode())
    return digest.hexdigest()


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Numerically safe logistic function, ``float32`` out."""
    from scipy.special import expit

    return expit(np.asarray(logits, dtype=np.float32)).astype(np.float32, copy=False)


def prompt_arrays(clicks: Sequence[Click]) -> tuple[np.ndarray, np.ndarray]:
    """Clicks → ``(coords float32 N×2 as (x, y), labels int32 N: 1 positive, 0 negative)``."""
    coords = np.array([[c.x, c.y] for c in clicks], dtype=np.float32)
    labels = np.array([1 if c.positive else 0 for c in clicks], dtype=np.int32)
    return coords, labels


def feedback_logits(prev: Prediction | None) -> np.ndarray | None:
    """The ``1×256×256`` low-res logits of ``prev``'s selected mask, or None.

    ``prev.state["low_res"]`` is ``1×256×256`` (one mask) or ``K×1×256×256`` (candidates);
    for a stack, the candidate equal to ``prev.prob`` is chosen (else the best score), so a
    multi-mask policy that swapped ``prob`` without slicing the state is still honoured.
    """
    if prev is None or not isinstance(prev.state, dict) or prev.state.get("low_res") is None:
        return None
    low = np.asarray(prev.state["low_res"], dtype=np.float32)
    if low.ndim == 2:
        return low[None]
    if low.ndim == 3:
        return low[:1] if low.shape[0] != 1 else low
    if low.ndim != 4:
        raise RClicksError(f"prev.state['low_res'] has shape {low.shape}; expected 1×256×256 or K×1×256×256")
    if low.shape[0] == 1:
        return low[0]
    index = None
    if prev.candidates is not None and len(prev.candidates) == len(low):
        for k, cand in enumerate(prev.candidates):
            if cand.shape == prev.prob.shape and np.array_equal(cand, prev.prob):
                index = k
                break
    if index is None:
        index = int(np.argmax(prev.scores)) if prev.scores is not None and len(prev.scores) == len(low) else 0
    return low[int(index)]


class SamFamilyModel:
    """Base adapter: embedding cache, prompt plumbing, multi-mask output and mask feedback.

    Subclasses implement ``_encode(image)`` (run the image encoder on the predictor),
    name the predictor's per-image state attributes in ``_state_attrs`` (saved and restored
    by ``_snapshot()``/``_restore(snap)``; override those for other state) and
    ``_decode(coords, labels, mask_input, multimask) -> (logits K×H×W, scores K, low_res K×256×256)``.
    Subclasses that implement ``_prompt_scale`` and ``_decode_torch`` get ``torch_logits``
    (the white-box attack interface, :class:`rclicks.attacks.adversarial.TorchClickModel`)
    and set ``differentiable = True``.
    """

    differentiable = False
    multimask = True

    def __init__(self, name: str, weights_sha256: str, *, device: Any, dtype: Any,
                 mask_feedback: bool = True, cache_size: int = 4) -> None:
        self.name = name
        self.weights_sha256 = weights_sha256
        self.device = device
        self.dtype = dtype
        self.mask_feedback = bool(mask_feedback)
        self.cache_size = max(1, int(cache_size))
        self.encoder_calls = 0
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._key: str | None = None
        self._shape: tuple[int, int] | None = None

    # -- subclass hooks -------------------------------------------------------------------
    def _encode(self, image: np.ndarray) -> None:
        raise NotImplementedError

    _state_attrs: tuple[str, ...] = ()

    def _snapshot(self) -> Any:
        return {a: getattr(self.predictor, a) for a in self._state_attrs}

    def _restore(self, snap: Any) -> None:
        for attr, value in snap.items():
            setattr(self.predictor, attr, value)

    def _decode(self, coords: np.ndarray, labels: np.ndarray, mask_input: np.ndarray | None,
                multimask: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        raise NotImplementedError

    def _prompt_scale(self) -> tuple[float, float]:
        """``(sx, sy)``: image pixels → the network's prompt coordinates, as the package's ``predict`` scales them."""
        raise NotImplementedError

    def _decode_torch(self, points: Any, labels: Any, mask: Any) -> Any:
        """The package's single-mask decode on ``1×N×2`` prompt coordinates, with gradients → logits ``1×1×H×W``."""
        raise NotImplementedError

    # -- protocol -------------------------------------------------------------------------
    def set_image(self, image: np.ndarray) -> None:
        """Embed a ``uint8`` ``H×W×3`` RGB image, reusing a cached embedding of identical pixels."""
        from rclicks.models.device import autocast

        image = check_image(image)
        key = image_key(image)
        self._shape = (image.shape[0], image.shape[1])
        if key == self._key:
            return
        if key in self._cache:
            self._cache.move_to_end(key)
            self._restore(self._cache[key])
        else:
            with autocast(self.device, self.dtype):
                self._encode(image)
            self.encoder_calls += 1
            self._cache[key] = self._snapshot()
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        self._key = key

    def predict(self, clicks: Sequence[Click], prev: Prediction | None = None, *,
                multimask: bool = False) -> Prediction:
        """Segment from all ``clicks`` (x = column, y = row); feed ``prev``'s low-res logits back.

        Returns ``prob`` ``float32`` ``H×W``; with ``multimask`` also ``candidates`` ``K×H×W``
        and ``scores`` ``K``. ``state["low_res"]`` holds the logits to feed back.
        """
        from rclicks.models.device import autocast

        if self._shape is None:
            raise RClicksError(f"{self.name}: call set_image(image) before predict()")
        check_clicks(clicks, self._shape)
        coords, labels = prompt_arrays(clicks)
        mask_input = feedback_logits(prev) if self.mask_feedback else None
        with autocast(self.device, self.dtype):
            logits, scores, low_res = self._decode(coords, labels, mask_input, bool(multimask))
        return self._package(np.asarray(logits, dtype=np.float32), np.asarray(scores, dtype=np.float32),
                             np.asarray(low_res, dtype=np.float32), bool(multimask))

    def _decode_batch(self, coords: np.ndarray, labels: np.ndarray,
                      multimask: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``B×N×2`` coords, ``B×N`` labels → (logits ``B×K×H×W``, scores ``B×K``, low-res ``B×K×256×256``).

        Subclasses override this with the package's batched path; the default loops.
        """
        outs = [self._decode(c, l, None, multimask) for c, l in zip(coords, labels)]
        return tuple(np.stack([np.asarray(o[i]) for o in outs]) for i in range(3))  # type: ignore[return-value]

    def predict_many(self, prompts: Sequence[Sequence[Click]], *, multimask: bool = False,
                     batch_size: int = 16) -> list[Prediction]:
        """Predict independent prompts on the current image in batches (no mask feedback).

        Prompts with the same number of clicks run as one batch of the package's decoder
        (e.g. every single-click prompt of an exhaustive IoU heatmap). Returns one
        Prediction per prompt, in order, as :meth:`predict` would without ``prev``.
        """
        from rclicks.models.device import autocast

        if self._shape is None:
            raise RClicksError(f"{self.name}: call set_image(image) before predict_many()")
        out: list[Prediction | None] = [None] * len(prompts)
        by_len: dict[int, list[int]] = {}
        for i, clicks in enumerate(prompts):
            check_clicks(clicks, self._shape)
            by_len.setdefault(len(clicks), []).append(i)
        for idx in by_len.values():
            for start in range(0, len(idx), max(1, batch_size)):
                chunk = idx[start:start + batch_size]
                arrays = [prompt_arrays(prompts[i]) for i in chunk]
                coords = np.stack([a[0] for a in arrays])
                labels = np.stack([a[1] for a in arrays])
                with autocast(self.device, self.dtype):
                    logits, scores, low_res = self._decode_batch(coords, labels, bool(multimask))
                for j, i in enumerate(chunk):
                    out[i] = self._package(np.asarray(logits[j], np.float32), np.asarray(scores[j], np.float32),
                                           np.asarray(low_res[j], np.float32), multimask)
        return out  # type: ignore[return-value]

    def torch_logits(self, coords: Any, labels: Any, mask_input: Any = None) -> Any:
        """Differentiable single-mask logits ``H×W`` for torch ``coords`` ``N×2`` (x, y pixels) and ``labels`` ``N``.

        The white-box attack interface: the same network path as :meth:`predict` without
        multimask, in fp32; the cached embedding is a constant; ``mask_input`` is the previous
        ``Prediction.state["low_res"]`` (ignored when ``mask_feedback`` is off).
        """
        import torch

        if self._shape is None:
            raise RClicksError(f"{self.name}: call set_image(image) before torch_logits()")
        device = self.predictor.device
        scale = torch.tensor(self._prompt_scale(), dtype=torch.float32, device=device)
        points = (torch.as_tensor(coords).to(device, torch.float32) * scale)[None]
        lab = torch.as_tensor(labels).to(device).round().to(torch.int)[None]
        mask = mask_input_tensor(mask_input, device) if self.mask_feedback else None
        with torch.enable_grad():
            return self._decode_torch(points, lab, mask)[0, 0]

    def _package(self, logits: np.ndarray, scores: np.ndarray, low_res: np.ndarray, multimask: bool) -> Prediction:
        """Decoder outputs (``K×H×W`` logits, ``K`` scores, ``K×256×256`` low-res) → a Prediction."""
        scores = scores.reshape(-1)
        probs = sigmoid(logits)
        if multimask and len(probs) > 1:
            best = int(np.argmax(scores))
            return Prediction(prob=probs[best], candidates=probs, scores=scores, state={"low_res": low_res[:, None]})
        return Prediction(prob=probs[0], scores=scores[:1], state={"low_res": low_res[:1]})

    def reset(self) -> None:
        """Drop every cached embedding."""
        self._cache.clear()
        self._key = None
        self._shape = None


def mask_input_tensor(mask_input: Any, device: Any) -> Any:
    """Feedback logits (``256×256``, ``1×256×256``, ``1×1×256×256`` or a ``K×1×256×256`` stack, whose
    first mask is used) → a float32 ``1×1×256×256`` torch tensor on ``device``; None stays None."""
    import torch

    if mask_input is None:
        return None
    mask = torch.as_tensor(np.asarray(mask_input, dtype=np.float32) if not torch.is_tensor(mask_input) else mask_input)
    mask = mask.to(device=device, dtype=torch.float32)
    if mask.shape[-2:] != (256, 256):
        raise RClicksError(f"mask_input has shape {tuple(mask.shape)}; expected ...×256×256 low-res logits")
    return mask.reshape(-1, 1, 256, 256)[:1]


def with_grad(method: Any) -> Any:
    """The function under a package method's ``@torch.no_grad()`` decorator (``functools.wraps`` keeps it)."""
    return getattr(method, "__wrapped__", method)


def hf_file(repo: str, filename: str) -> str:
    """``hf://repo/filename`` reference string."""
    return f"hf://{repo}/{filename}"

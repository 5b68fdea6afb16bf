"""RITM (Sofiiuk et al., ICIP 2022) through the ``ritm-annotation`` package (RITM's own code, MIT).

``ritm:hrnet18``, ``ritm:hrnet18s``, ``ritm:hrnet32`` and ``ritm:deeplab`` run the package's
``HRNetModel`` / ``DeeplabModel`` behind its own predictors (``get_predictor``: NoBRS or
f-BRS-B, horizontal-flip averaging, Zoom-In) exactly as RITM's ``scripts/evaluate_model.py``
evaluates them: mask threshold 0.49, Zoom-In ``target_size=400`` (600 on DAVIS in the
paper; ``zoom_in_target=600``), ``expansion_ratio=1.4``, ``skip_clicks=1``. The previous
probability map is fed back to ``itermask`` networks (``with_prev_mask`` in their config).

Checkpoints are official RITM files, ``{"config": {"class": ..., "params": ...}, "state_dict": ...}``.
RITM's own ``load_is_model`` imports whatever class path ``config`` names; here the file
is read with ``torch.load(weights_only=True)`` and ``config`` is checked against an
allowlist of model classes, parameter names and parameter value types
(:func:`check_config`) **before** anything is imported or built. ``--checkpoint random``
builds the variant's RITM training config with RITM's own initialiser under a seed
(``weights_sha256`` ``random-init:seed=N``, recorded in every results row).

Per-click state: HRNet / DeepLab encode the image *together with* the click maps, so no
image embedding can be cached between clicks (f-BRS-B caches its backbone features once
more than 8 clicks are given, as RITM does). Everything the predictor keeps between
clicks (previous probabilities, Zoom-In crop, f-BRS variables) travels in
``Prediction.state["low_res"]`` (a :class:`RitmState`), so ``predict(clicks, prev)`` is
a pure function of its arguments and the attacks can branch from any state.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rclicks.errors import RClicksError
from rclicks.models.base import check_clicks, check_image
from rclicks.types import Click, Prediction

PIP = "pip install 'rclicks[ritm]'  (ritm-annotation==0.12.2)"
MODULE = "ritm_annotation"
BRS_MODES = ("NoBRS", "f-BRS-B")
#: RITM's evaluation threshold (``scripts/evaluate_model.py --thresh``).
PRED_THRESH = 0.49
RELEASES = "https://github.com/saic-vul/ritm_interactive_segmentation/releases/download/v1.0/"


@dataclass(frozen=True)
class RitmVariant:
    """One ``ritm:`` variant: its official checkpoint, the architecture it must have, its RITM training config."""

    filename: str
    cls: str  # "HRNetModel" | "DeeplabModel"
    arch: dict  # parameters a checkpoint of this variant must carry (checked against its config)
    params: dict  # the full RITM training config (models/iter_mask/*.py), used for --checkpoint random
    description: str


_ITERMASK = {"with_aux_output": True, "use_leaky_relu": True, "use_rgb_conv": False, "use_disks": True,
             "norm_radius": 5, "with_prev_mask": True}
VARIANTS: dict[str, RitmVariant] = {
    "hrnet18": RitmVariant("coco_lvis_h18_itermask.pth", "HRNetModel", {"width": 18, "ocr_width": 64, "small": False},
                           {"width": 18, "ocr_width": 64, **_ITERMASK}, "RITM HRNet18-OCR64 IT-M (COCO+LVIS or SBD)"),
    "hrnet18s": RitmVariant("coco_lvis_h18s_itermask.pth", "HRNetModel", {"width": 18, "ocr_width": 48, "small": True},
                            {"width": 18, "ocr_width": 48, "small": True, **_ITERMASK}, "RITM HRNet18s-OCR48 IT-M"),
    "hrnet32": RitmVariant("coco_lvis_h32_itermask.pth", "HRNetModel", {"width": 32, "ocr_width": 128, "small": False},
                           {"width": 32, "ocr_width": 128, **_ITERMASK}, "RITM HRNet32-OCR128 IT-M"),
    "deeplab": RitmVariant("r34_dh128_cocolvis.pth", "DeeplabModel", {},
                           {"backbone": "resnet34", "deeplab_ch": 128, "aspp_dropout": 0.2, "use_leaky_relu": True,
                            "use_rgb_conv": False, "use_disks": True, "norm_radius": 5},
                           "RITM DeepLabV3+ (ResNet-34, 128 ch) baseline"),
}

# ---------------------------------------------------------------------------------------
# Safe checkpoint config: the allowlist (no torch, no ritm_annotation import needed)
# ---------------------------------------------------------------------------------------

#: Model classes a checkpoint's ``config["class"]`` may name: RITM's original module path
#: (``isegm.…``, as in the official files) or the package's (``ritm_annotation.…``).
ALLOWED_CLASSES: dict[str, str] = {
    f"{root}.model.{mod}.{cls}": cls
    for root in ("isegm", "ritm_annotation")
    for mod, cls in (("is_hrnet_model", "HRNetModel"), ("is_deeplab_model", "DeeplabModel"))
}
#: The only classes a ``"type": "class"`` parameter may name (RITM serialises ``norm_layer``).
ALLOWED_PARAM_CLASSES: dict[str, str] = {"torch.nn.modules.batchnorm.BatchNorm2d": "BatchNorm2d",
                                         "torch.nn.BatchNorm2d": "BatchNorm2d"}
_BACKBONES = ("resnet34", "resnet50", "resnet101", "resnet152")


def _is_bool(v: Any) -> bool:
    return isinstance(v, bool)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 4096


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and abs(v) <= 1e6


def _is_mean_std(v: Any) -> bool:
    return (isinstance(v, (list, tuple)) and len(v) == 2
            and all(isinstance(x, (list, tuple)) and len(x) == 3 and all(_is_num(y) for y in x) for x in v))


# parameter name -> (accepted "type", value check, what it must be)
_COMMON = {
    "use_rgb_conv": ("builtin", _is_bool, "true/false"), "with_aux_output": ("builtin", _is_bool, "true/false"),
    "norm_radius": ("builtin", _is_num, "a number"), "use_disks": ("builtin", _is_bool, "true/false"),
    "cpu_dist_maps": ("builtin", _is_bool, "true/false"),
    "clicks_groups": ("builtin", lambda v: v is None, "null (click groups are not supported)"),
    "with_prev_mask": ("builtin", _is_bool, "true/false"), "use_leaky_relu": ("builtin", _is_bool, "true/false"),
    "binary_prev_mask": ("builtin", _is_bool, "true/false"), "conv_extend": ("builtin", _is_bool, "true/false"),
    "norm_layer": ("class", lambda v: v in ALLOWED_PARAM_CLASSES, f"one of {sorted(ALLOWED_PARAM_CLASSES)}"),
    "norm_mean_std": ("builtin", _is_mean_std, "two lists of three numbers"),
    "backbone_lr_mult": ("builtin", _is_num, "a number"),
}
ALLOWED_PARAMS: dict[str, dict[str, tuple]] = {
    "HRNetModel": {**_COMMON, "width": ("builtin", _is_int, "an integer"), "ocr_width": ("builtin", _is_int, "an integer"),
                   "small": ("builtin", _is_bool, "true/false")},
    "DeeplabModel": {**_COMMON, "backbone": ("builtin", lambda v: v in _BACKBONES, f"one of {_BACKBONES}"),
                     "deeplab_ch": ("builtin", _is_int, "an integer"), "aspp_dropout": ("builtin", _is_num, "a number"),
                     "backbone_norm_layer": ("class", lambda v: v is None or v in ALLOWED_PARAM_CLASSES,
                                             f"null or one of {sorted(ALLOWED_PARAM_CLASSES)}")},
}


def check_config(config: Any, where: str = "checkpoint") -> tuple[str, dict[str, Any]]:
    """Validate a RITM checkpoint ``config`` against the allowlist; return ``(class name, params)``.

    ``params`` maps each parameter to its plain value (class parameters stay as their
    allowlisted name, e.g. ``"BatchNorm2d"``). Anything not allowlisted raises
    RClicksError naming the offending key (``config.class``, ``config.params.<name>``).
    Nothing is imported or built here.
    """
    if not isinstance(config, dict):
        raise RClicksError(f"{where}: key 'config' must be a dict, got {type(config).__name__}")
    cls_path = config.get("class")
    if not isinstance(cls_path, str) or cls_path not in ALLOWED_CLASSES:
        raise RClicksError(f"{where}: key 'config.class' names {cls_path!r}, which is not an allowed RITM model class "
                           f"(allowed: {', '.join(sorted(ALLOWED_CLASSES))}); refusing to build it")
    cls = ALLOWED_CLASSES[cls_path]
    extra = sorted(set(config) - {"class", "params"})
    if extra:
        raise RClicksError(f"{where}: key 'config.{extra[0]}' is not part of a RITM model config; refusing it")
    params = config.get("params", {})
    if not isinstance(params, dict):
        raise RClicksError(f"{where}: key 'config.params' must be a dict, got {type(params).__name__}")
    allowed = ALLOWED_PARAMS[cls]
    out: dict[str, Any] = {}
    for name, entry in params.items():
        key = f"config.params.{name}"
        if name not in allowed:
            raise RClicksError(f"{where}: key {key!r} is not an allowed parameter of {cls}; refusing to build it")
        if not isinstance(entry, dict) or set(entry) - {"type", "value", "specified"} or "value" not in entry:
            raise RClicksError(f"{where}: key {key!r} must be {{'type', 'value', 'specified'}}, got {entry!r:.80}")
        kind, ok, what = allowed[name]
        if entry.get("type", "builtin") != kind:
            raise RClicksError(f"{where}: key {key!r} has type {entry.get('type')!r}; only {kind!r} is allowed")
        if not ok(entry["value"]):
            raise RClicksError(f"{where}: key {key!r} = {entry['value']!r:.80} is not allowed; it must be {what}")
        value = entry["value"]
        out[name] = ALLOWED_PARAM_CLASSES[value] if kind == "class" and value is not None else value
    return cls, out


def check_variant(variant: str, cls: str, params: dict[str, Any], where: str) -> None:
    """Raise RClicksError unless a checked config is the architecture of ``ritm:<variant>``."""
    spec = VARIANTS[variant]
    mismatch = [f"{k}={params.get(k)!r}" for k, v in spec.arch.items() if params.get(k, _HRNET_DEFAULTS.get(k)) != v]
    if cls != spec.cls or mismatch:
        found = next((n for n, s in VARIANTS.items() if s.cls == cls and all(
            params.get(k, _HRNET_DEFAULTS.get(k)) == v for k, v in s.arch.items())), None)
        hint = f"; use --model ritm:{found}" if found else ""
        got = cls + (f" ({', '.join(mismatch)})" if mismatch else "")
        raise RClicksError(f"{where}: the checkpoint is a {got}, not ritm:{variant} ({spec.description}){hint}")


_HRNET_DEFAULTS = {"width": 48, "ocr_width": 256, "small": False}


def _checkpoint_parts(obj: Any, path: Path, is_tensor: Any) -> tuple[dict, dict[str, Any]]:
    """``(config, state_dict)`` of a loaded or scanned RITM checkpoint object, unchecked config."""
    if isinstance(obj, list):
        raise RClicksError(f"{path}: multi-stage RITM checkpoints (a list of models) are not supported")
    if not isinstance(obj, dict) or "config" not in obj or "state_dict" not in obj:
        keys = sorted(map(str, obj))[:8] if isinstance(obj, dict) else type(obj).__name__
        raise RClicksError(f"{path}: not a RITM checkpoint: expected keys 'config' and 'state_dict', found {keys}")
    state = obj["state_dict"]
    if not isinstance(state, dict) or not state or not all(isinstance(k, str) and is_tensor(v) for k, v in state.items()):
        raise RClicksError(f"{path}: key 'state_dict' must be a non-empty dict of tensors")
    return obj["config"], state


def read_checkpoint(path: str | Path) -> tuple[dict, dict[str, Any]]:
    """Read an official RITM checkpoint with ``torch.load(weights_only=True)``: ``(config, state_dict)``, unchecked.

    Raises RClicksError for pickles that need code, multi-stage (list) checkpoints and
    files without ``config`` and ``state_dict``.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise RClicksError(f"{path}: checkpoint not found")
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # UnpicklingError (a global outside the safe set), zip errors, EOF...
        text = str(exc)
        detail = next((ln.strip() for ln in text.splitlines()
                       if "unsupported global" in ln.lower() or "not an allowed global" in ln), "")
        if detail:
            raise RClicksError(f"{path}: this pickle needs code to load ({detail.split('error:')[-1].strip()}); "
                               "rclicks never runs code from a checkpoint") from exc
        last = next((ln.strip() for ln in reversed(text.splitlines()) if ln.strip() and "documentation" not in ln), "")
        raise RClicksError(f"{path}: cannot read checkpoint safely ({type(exc).__name__}: {last[:200]})") from exc
    return _checkpoint_parts(obj, path, lambda v: isinstance(v, torch.Tensor))


def scan_checkpoint(path: str | Path) -> tuple[dict, dict[str, Any]]:
    """:func:`read_checkpoint` without torch: the same checks on the file's structure, tensors as
    ``checkpoint_scan.TensorInfo`` (their values are not read; see ``rclicks.models.checkpoint_scan``)."""
    from rclicks.models.checkpoint_scan import TensorInfo, scan_pickle

    path = Path(path)
    return _checkpoint_parts(scan_pickle(path), path, lambda v: isinstance(v, TensorInfo))


def validate_checkpoint(path: str | Path, variant: str | None = None) -> tuple[str, dict[str, Any]]:
    """Safely read and check a RITM checkpoint (config allowlist, tensors, variant); build nothing.

    Returns ``(class name, params)``. This is what the leaderboard's submission check runs; it
    needs no torch (:func:`scan_checkpoint`), so it also runs where only the Space's requirements are.
    """
    config, _ = scan_checkpoint(path)
    cls, params = check_config(config, str(Path(path).name))
    if variant is not None:
        if variant not in VARIANTS:
            raise RClicksError(f"ritm:{variant}: unknown variant; choose one of {', '.join(VARIANTS)}")
        check_variant(variant, cls, params, str(Path(path).name))
    return cls, params


# ---------------------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------------------

def random_config(variant: str) -> dict:
    """The variant's RITM training config in checkpoint form (``{"class", "params"}``)."""
    spec = VARIANTS[variant]
    module = "is_hrnet_model" if spec.cls == "HRNetModel" else "is_deeplab_model"
    return {"class": f"isegm.model.{module}.{spec.cls}",
            "params": {k: {"type": "builtin", "value": v, "specified": True} for k, v in spec.params.items()}}


def instantiate(cls: str, params: dict[str, Any]) -> Any:
    """Build the package's network from a *checked* ``(class, params)`` (see :func:`check_config`)."""
    import torch.nn as nn

    pkg = _require()
    classes = {"HRNetModel": pkg["HRNetModel"], "DeeplabModel": pkg["DeeplabModel"]}
    kwargs = {k: (nn.BatchNorm2d if v == "BatchNorm2d" else v) for k, v in params.items()}
    if "norm_mean_std" in kwargs:
        kwargs["norm_mean_std"] = tuple(list(x) for x in kwargs["norm_mean_std"])
    return classes[cls](**kwargs)


def _require() -> dict[str, Any]:
    try:
        from ritm_annotation.inference.clicker import Click as RClick
        from ritm_annotation.inference.clicker import Clicker
        from ritm_annotation.inference.predictors import get_predictor
        from ritm_annotation.model import initializer
        from ritm_annotation.model.is_deeplab_model import DeeplabModel
        from ritm_annotation.model.is_hrnet_model import HRNetModel
    except ImportError as exc:
        raise RClicksError(f"the ritm: models need the 'ritm_annotation' package: {PIP}") from exc
    return {"HRNetModel": HRNetModel, "DeeplabModel": DeeplabModel, "get_predictor": get_predictor,
            "initializer": initializer, "Click": RClick, "Clicker": Clicker}


def build_network(variant: str, checkpoint: str | Path | None, seed: int = 0) -> tuple[Any, str, dict]:
    """``(network in eval mode, weights id, checked params)`` for ``ritm:<variant>``.

    ``checkpoint=None`` → the variant's training config under RITM's initialiser
    (``XavierGluon(gaussian, magnitude=2)``) seeded by ``seed``: id ``random-init:seed=N``.
    A file is read safely and its config checked before the network class is even looked up.
    """
    import torch

    from rclicks.weights import sha256_file

    where = f"ritm:{variant}"
    if checkpoint is None:
        cls, params = check_config(random_config(variant), where)
        state = None
    else:
        config, state = read_checkpoint(checkpoint)
        where = str(Path(checkpoint).name)
        cls, params = check_config(config, where)
        check_variant(variant, cls, params, where)
    pkg = _require()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = instantiate(cls, params)
        if state is None:
            net.apply(pkg["initializer"].XavierGluon(rnd_type="gaussian", magnitude=2.0))
    if state is None:
        return net.eval(), f"random-init:seed={seed}", params
    own = net.state_dict()
    bad = [k for k, v in state.items() if k in own and tuple(v.shape) != tuple(own[k].shape)]
    if bad:
        raise RClicksError(f"{where}: tensor {bad[0]!r} has shape {tuple(state[bad[0]].shape)}, the network expects "
                           f"{tuple(own[bad[0]].shape)}; is it the right variant?")
    result = net.load_state_dict(state, strict=False)  # RITM's own loader is non-strict too
    missing = [k for k in result.missing_keys if not k.endswith("num_batches_tracked")]
    if missing:
        raise RClicksError(f"{where}: checkpoint does not fit ritm:{variant}: {len(missing)} missing tensor(s) "
                           f"{missing[:3]}")
    return net.eval(), sha256_file(checkpoint), params


# ---------------------------------------------------------------------------------------
# The adapter
# ---------------------------------------------------------------------------------------

@dataclass
class RitmState:
    """Everything RITM's predictor carries from one click to the next (feedback of a Prediction)."""

    image: str  # image key the state belongs to
    clicks: tuple[Click, ...]
    attrs: dict[str, Any]  # predictor attributes: prev_prediction, opt_data, input_data, _c1_features
    transforms: list[Any]  # each transform's get_state()


_PREDICTOR_ATTRS = ("prev_prediction", "opt_data", "input_data", "_c1_features")


class RitmModel:
    """``ritm:<variant>``: RITM's network behind RITM's predictor, one ``get_prediction`` per click.

    ``predict(clicks, prev)`` restores the predictor to ``prev``'s state (or to a fresh
    image when ``prev`` is None), replays RITM's ``Clicker`` bookkeeping for ``clicks``
    and calls the package's ``get_prediction``: the same code path as RITM's
    ``evaluate_sample``. ``torch_logits`` is the same forward with click coordinates
    as torch tensors (NoBRS only).
    """

    differentiable = True
    multimask = False

    def __init__(self, net: Any, *, name: str, weights_sha256: str, device: Any, brs: str = "NoBRS",
                 zoom_in: bool = True, zoom_in_target: int = 400, with_flip: bool = True,
                 thresh: float = PRED_THRESH, soft_tau: float = 1.0) -> None:
        import torch

        if brs not in BRS_MODES:
            raise RClicksError(f"{name}: brs={brs!r}; choose one of {', '.join(BRS_MODES)}")
        pkg = _require()
        self._pkg = pkg
        self.name = name
        self.device = device
        self.net = net.to(device)
        self.net.requires_grad_(False)
        self.brs = brs
        self.zoom_in = bool(zoom_in)
        self.zoom_in_target = int(zoom_in_target)
        self.with_flip = bool(with_flip)
        self.thresh = float(thresh)
        self.soft_tau = float(soft_tau)
        self.differentiable = brs == "NoBRS"  # the f-BRS optimisation has no click-coordinate gradient path
        zoom_params = {"target_size": self.zoom_in_target} if self.zoom_in else None
        self.predictor = pkg["get_predictor"](self.net, brs, device, prob_thresh=self.thresh, with_flip=self.with_flip,
                                              zoom_in_params=zoom_params)
        #: RITM evaluation settings, also appended to ``weights_sha256`` so that results rows record them.
        self.settings = {"brs": brs, "zoom_in": self.zoom_in_target if self.zoom_in else "off",
                         "flip": self.with_flip, "thresh": self.thresh,
                         "prev_mask": bool(getattr(self.net, "with_prev_mask", False))}
        self.weights_id = weights_sha256
        self.weights_sha256 = f"{weights_sha256};ritm(" + ",".join(f"{k}={v}" for k, v in self.settings.items()) + ")"
        self.encoder_calls = 0  # images prepared (RITM has no click-independent embedding)
        self._key: str | None = None
        self._shape: tuple[int, int] | None = None
        self._torch = torch

    # -- image ----------------------------------------------------------------------------
    def set_image(self, image: np.ndarray) -> None:
        """Give the ``uint8`` ``H×W×3`` RGB image to RITM's predictor (``set_input_image``)."""
        from rclicks.models._sam_common import image_key

        image = check_image(image)
        key = image_key(image)
        self._shape = (image.shape[0], image.shape[1])
        if key == self._key:
            return
        self.predictor.set_input_image(image)
        self.encoder_calls += 1
        self._key = key

    # -- predictor state ------------------------------------------------------------------
    def _reset(self) -> None:
        """The predictor as ``set_input_image`` leaves it (without re-reading the image)."""
        p = self.predictor
        for t in p.transforms:
            t.reset()
        p.prev_prediction = self._torch.zeros_like(p.original_image[:, :1, :, :])
        for attr in ("opt_data", "input_data", "_c1_features"):
            if hasattr(p, attr):
                setattr(p, attr, None)

    def _restore(self, state: RitmState) -> None:
        p = self.predictor
        for t, s in zip(p.transforms, state.transforms):
            t.set_state(s)
        for attr, value in state.attrs.items():
            setattr(p, attr, value)

    def _snapshot(self, clicks: Sequence[Click]) -> RitmState:
        p = self.predictor
        return RitmState(image=self._key or "", clicks=tuple(clicks),
                         attrs={a: getattr(p, a) for a in _PREDICTOR_ATTRS if hasattr(p, a)},
                         transforms=[t.get_state() for t in p.transforms])

    def _prepare(self, prev: Any) -> None:
        state = prev.state.get("low_res") if isinstance(prev, Prediction) and isinstance(prev.state, dict) else prev
        if isinstance(state, RitmState) and state.image == self._key:
            self._restore(state)
        else:
            self._reset()
            if state is not None and not isinstance(state, RitmState):  # a bare probability map: the previous mask only
                prob = self._torch.as_tensor(np.asarray(state, dtype=np.float32)).to(self.device)
                self.predictor.prev_prediction = prob.reshape(1, 1, *self._shape)

    def ritm_clicker(self, clicks: Sequence[Click]) -> Any:
        """RITM's ``Clicker`` holding ``clicks`` (coords ``(row, col)``, indices in click order)."""
        return self._pkg["Clicker"](init_clicks=[self._pkg["Click"](is_positive=c.positive, coords=(c.y, c.x))
                                                 for c in clicks])

    # -- protocol -------------------------------------------------------------------------
    def predict(self, clicks: Sequence[Click], prev: Prediction | None = None, *, multimask: bool = False) -> Prediction:
        """RITM's prediction for all ``clicks`` so far, continuing from ``prev``'s predictor state.

        ``prob`` is RITM's probability map; the mask is ``prob > 0.49`` (``threshold``).
        """
        if self._shape is None:
            raise RClicksError(f"{self.name}: call set_image(image) before predict()")
        check_clicks(clicks, self._shape)
        torch = self._torch
        with torch.no_grad():  # as RITM's evaluate_sample
            self._prepare(prev)
            prob = self.predictor.get_prediction(self.ritm_clicker(clicks))
            state = self._snapshot(clicks)
        prob = np.ascontiguousarray(prob, dtype=np.float32)
        return Prediction(prob=prob, scores=None, state={"low_res": state}, threshold=self.thresh)

    def torch_logits(self, coords: Any, labels: Any, mask_input: Any = None) -> Any:
        """Differentiable logits ``H×W`` (``sigmoid`` = :meth:`predict`'s ``prob``) for torch ``coords`` ``N×2`` (x, y).

        The predictor's own transforms fix the Zoom-In crop (from the rounded clicks and
        the state ``mask_input`` = ``prev.state["low_res"]``); click coordinates then pass
        through the crop and flip maps and the network as tensors. The click encoding's
        forward values are RITM's (binary disks); its gradient is that of a logistic disk
        edge of width ``soft_tau`` px (a straight-through estimator), since a binary disk has none.
        """
        torch = self._torch
        if self._shape is None:
            raise RClicksError(f"{self.name}: call set_image(image) before torch_logits()")
        if self.brs != "NoBRS":
            raise RClicksError(f"{self.name}: torch_logits needs brs=NoBRS (f-BRS optimises per click); "
                               "use the black-box attack")
        p = self.predictor
        xy = torch.as_tensor(coords).to(self.device, torch.float32).reshape(-1, 2)
        lab = torch.as_tensor(labels).reshape(-1).round().to(torch.int64).tolist()
        h, w = self._shape
        rounded = [Click(int(round(float(x))), int(round(float(y))), bool(lb))
                   for (x, y), lb in zip(xy.detach().cpu().tolist(), lab)]
        rounded = [Click(min(max(c.x, 0), w - 1), min(max(c.y, 0), h - 1), c.positive) for c in rounded]
        with torch.no_grad():
            self._prepare(mask_input)
            clicker = self.ritm_clicker(rounded)
            image = p.original_image
            if getattr(self.net, "with_prev_mask", False):
                image = torch.cat((image, p.prev_prediction), dim=1)
            image_nd, _, _ = p.apply_transforms(image, [clicker.get_clicks()])
        rc = torch.stack([xy[:, 1], xy[:, 0]], dim=1)  # (row, col) as RITM's Click.coords
        zoom = p.zoom_in
        roi = zoom._object_roi if zoom is not None and len(rounded) > zoom.skip_clicks else None
        if roi is not None:
            rmin, rmax, cmin, cmax = roi
            ch, cw = zoom._roi_image.shape[2:]
            rc = torch.stack([ch * (rc[:, 0] - rmin) / (rmax - rmin + 1), cw * (rc[:, 1] - cmin) / (cmax - cmin + 1)], 1)
        lists = [rc]
        if self.with_flip:
            lists.append(torch.stack([rc[:, 0], image_nd.shape[3] - rc[:, 1] - 1], 1))
        points = _points_nd(lists, [c.positive for c in rounded], self.device)
        with torch.enable_grad(), _straight_through_disks(self.net, self.soft_tau):
            logits = self.net(image_nd, points)["instances"]
        logits = torch.nn.functional.interpolate(logits, mode="bilinear", align_corners=True, size=image_nd.shape[2:])
        if self.with_flip:  # AddHorizontalFlip.inv_transform (on logits), then SigmoidForPred's
            logits = 0.5 * (logits[:1] + torch.flip(logits[1:], dims=[3]))
        if roi is None:
            return logits[0, 0]
        # ZoomIn.inv_transform resizes *probabilities* into the crop box, zeros elsewhere; the
        # logit of that, log(p) - log(1 - p), is taken from the resized sigmoid(±l) in float64
        # so that saturated pixels keep their gradient (up to |logit| 700).
        rmin, rmax, cmin, cmax = roi
        size = (rmax - rmin + 1, cmax - cmin + 1)
        resize = lambda t: torch.nn.functional.interpolate(t, size=size, mode="bilinear", align_corners=True)
        l64 = logits.double().clamp(-700.0, 700.0)  # sigmoid(±700) > 0 in float64: no log(0)
        inside = torch.log(resize(torch.sigmoid(l64))) - torch.log(resize(torch.sigmoid(-l64)))
        out = torch.nn.functional.pad(inside.float(), (cmin, w - 1 - cmax, rmin, h - 1 - rmax), value=-100.0)
        return out[0, 0]

    def reset(self) -> None:
        """Forget the current image."""
        self._key = None
        self._shape = None


def _points_nd(lists: list[Any], positive: list[bool], device: Any) -> Any:
    """RITM's ``get_points_nd`` for torch ``(row, col)`` click lists: ``B×2M×3`` (positives, then negatives, -1 padded)."""
    import torch

    pos = [i for i, p in enumerate(positive) if p]
    neg = [i for i, p in enumerate(positive) if not p]
    m = max(1, len(pos), len(neg))
    pad = torch.full((1, 3), -1.0, device=device)
    rows = []
    for rc in lists:
        idx = torch.arange(len(positive), dtype=torch.float32, device=device)[:, None]
        pts = torch.cat([rc, idx], 1)
        part = []
        for group in (pos, neg):
            chunk = [pts[group]] if group else []
            part += chunk + [pad.expand(m - len(group), 3)]
        rows.append(torch.cat(part, 0))
    return torch.stack(rows)


def _surrogate_maps(dist_maps: Any, x: Any, coords: Any) -> Any:
    """A smooth stand-in for ``DistMaps``: logistic disk edges of width ``tau`` (``use_disks``) or RITM's
    ``tanh(2·d/r)`` with ``d = sqrt(d² + 1e-6)`` (no infinite gradient at the click pixel)."""
    import torch

    rows, cols = x.shape[2], x.shape[3]
    scale = dist_maps.spatial_scale
    radius = dist_maps.norm_radius * scale
    b, n2, _ = coords.shape
    pts = coords[..., :2] * scale
    invalid = coords[..., :2].max(dim=-1).values < 0
    r = torch.arange(rows, dtype=torch.float32, device=x.device)
    c = torch.arange(cols, dtype=torch.float32, device=x.device)
    d2 = (r[None, None, :, None] - pts[..., 0, None, None]) ** 2 + (c[None, None, None, :] - pts[..., 1, None, None]) ** 2
    d2 = torch.where(invalid[..., None, None], torch.full_like(d2, 1e12), d2)
    d2 = d2.view(b, 2, n2 // 2, rows, cols).min(dim=2).values
    dist = torch.sqrt(d2 + 1e-6)
    if dist_maps.use_disks:
        return torch.sigmoid((radius - dist) / dist_maps._rclicks_tau)
    return torch.tanh(2 * dist / radius)


@contextlib.contextmanager
def _straight_through_disks(net: Any, tau: float) -> Iterator[None]:
    """Inside: ``net.dist_maps`` returns the package's own click maps forward, the surrogate's gradient backward."""
    if getattr(net, "clicks_groups", None) is not None:
        raise RClicksError("RITM click groups are not supported by torch_logits")
    maps = net.dist_maps
    plain = maps.forward

    def forward(x: Any, coords: Any) -> Any:
        hard = plain(x, coords.detach())
        if not coords.requires_grad:
            return hard
        soft = _surrogate_maps(maps, x, coords)
        return hard + (soft - soft.detach())

    maps._rclicks_tau = tau
    maps.forward = forward
    try:
        yield
    finally:
        del maps.forward
        del maps._rclicks_tau


def build_ritm(variant: str = "hrnet18", checkpoint: str | None = None, device: str = "auto", seed: int = 0,
               brs: str = "NoBRS", zoom_in: bool = True, zoom_in_target: int = 400, with_flip: bool = True,
               thresh: float = PRED_THRESH, threads: int | None = None) -> RitmModel:
    """Build ``ritm:<variant>`` from an official RITM checkpoint (``--checkpoint PATH``) or ``"random"``.

    ``brs``: ``NoBRS`` (default) or ``f-BRS-B``; ``zoom_in``/``zoom_in_target``: RITM's
    Zoom-In (on, 400 px; RITM uses 600 on DAVIS); ``with_flip``: RITM's flip averaging.
    """
    from rclicks.models._sam_common import Variant, resolve_checkpoint
    from rclicks.models.device import resolve_device

    if variant not in VARIANTS:
        raise RClicksError(f"model ritm:{variant}: unknown variant; choose one of {', '.join(VARIANTS)}")
    if brs not in BRS_MODES:
        raise RClicksError(f"model ritm:{variant}: brs={brs!r}; choose one of {', '.join(BRS_MODES)}")
    _require()
    spec = VARIANTS[variant]
    ckpt = resolve_checkpoint(f"ritm:{variant}", Variant(spec.filename), checkpoint)
    dev = resolve_device(device)
    net, sha, _ = build_network(variant, ckpt, seed)
    return RitmModel(net, name=f"ritm:{variant}", weights_sha256=sha, device=dev, brs=brs, zoom_in=_flag(zoom_in),
                     zoom_in_target=int(zoom_in_target), with_flip=_flag(with_flip), thresh=float(thresh))


def _flag(value: Any) -> bool:
    """``--model-arg zoom_in=off`` style booleans."""
    if isinstance(value, str):
        low = value.strip().lower()
        if low in ("0", "false", "off", "no", "none"):
            return False
        if low in ("1", "true", "on", "yes"):
            return True
        raise RClicksError(f"expected on/off, got {value!r}")
    return bool(value)

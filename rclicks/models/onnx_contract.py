"""The ONNX submission contract and its validator: a folder with ONNX graph(s) and an ``rclicks.json`` manifest.

A submission is either one network (``model.onnx``: image + clicks → masks, run on every
click) or an encoder/decoder pair (``encoder.onnx`` run once per image, ``decoder.onnx``
run per click, SAM style). The manifest states the input size and normalisation, how
clicks are encoded (coordinates or disk maps of radius r), whether and how the previous
mask is fed back, what the outputs are (logits or probabilities) and the license.

:func:`validate_submission` checks the manifest *and* every graph's input/output names,
ranks, fixed dimensions and dtypes before anything runs; ``rclicks.models.onnx_model``
(``OnnxContractModel``) then runs the graphs with onnxruntime. No code from the submitter
is ever executed (custom-op domains and external-data paths leaving the folder are rejected).
The full specification is ``docs/submission.md``.

This module is the validator alone: it needs ``onnx`` (to read graph structure) and
neither torch nor onnxruntime, so the leaderboard's submission check runs where only
the Space's requirements are installed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rclicks.errors import RClicksError

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
    #: SAM's mask-token layout: the index of the single-mask output among the candidates; the others are the
    #: multi-mask candidates (``None``: every candidate is a multi-mask candidate, the best-scored one is single)
    single_mask: int | None = None

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
    single_mask = _get(out, "single_mask", int, where, None, "output")
    if single_mask is not None and not (candidates >= 2 and 0 <= single_mask < candidates):
        raise _err(where, f"field 'output.single_mask' must index one of at least 2 candidates (0 to "
                          f"{candidates - 1}), got {single_mask} with output.candidates = {candidates}")
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
        sha256=dict(sha), description=str(raw.get("description", "")), single_mask=single_mask,
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
class Checked:
    """A validated submission: its manifest and the decoder's fixed low-resolution mask size (``None`` when unused)."""

    manifest: Manifest
    low_res_size: int | None


def check_submission(folder: str | os.PathLike, manifest: str | os.PathLike | None) -> Checked:
    """Validate a submission folder (see :func:`validate_submission`) and return what the runtime needs."""
    m = read_manifest(folder, manifest)
    from rclicks.weights import sha256_file

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
    return Checked(m, low)


def validate_submission(folder: str | os.PathLike, manifest: str | os.PathLike | None = None) -> Manifest:
    """Validate a submission folder (manifest, files, hashes, graph I/O) without running it; return its Manifest.

    Raises RClicksError naming the offending file and what to fix.
    """
    return check_submission(folder, manifest).manifest


def packaged_manifest(name: str) -> Path:
    """Path of a manifest shipped with rclicks (``rclicks/models/manifests/<name>.json``)."""
    path = Path(__file__).parent / "manifests" / f"{name}.json"
    if not path.is_file():
        raise RClicksError(f"no packaged manifest named {name!r} (looked for {path})")
    return path

"""Submission validation and queueing: the functions the app's Submit tab calls (:func:`unpack_submission` turns an
uploaded ``.zip`` into the folder it holds, with ``rclicks.archives.extract``; :func:`submit` validates and queues).

A submission is either a folder following the ONNX contract (``docs/submission.md``:
``model.onnx`` or ``encoder.onnx`` + ``decoder.onnx`` and an ``rclicks.json`` manifest)
or one checkpoint of a model family the registry accepts (``rclicks.registry.submission_kinds``:
the SAM families' ``.safetensors``, or ``.pt``/``.pth`` loadable with
``torch.load(weights_only=True)``, and official RITM checkpoints) plus a config naming the
variant. Nothing from the submitter is executed. Checks, in order: names, license, rate
limit, files (no links, no odd names, allowed extensions), size, kind and variant, format,
duplicate sha256. Any failure raises :class:`SubmissionRejected` with the reason and
writes nothing.

The checks need neither torch nor onnxruntime (the Space installs neither torch nor the
evaluation extras): ONNX folders go through the contract's validator
(``rclicks.models.onnx_contract``, which reads graph structure with ``onnx``) and
checkpoints through ``rclicks.models.checkpoint_scan``, which reads a ``torch.save`` file's
pickle with a restricted unpickler that knows only the globals of a plain state dict (the
set ``torch.load(weights_only=True)`` trusts), so no global it names is ever called. The
backend later loads the file with ``torch.load(weights_only=True)`` to evaluate it.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path
from typing import Any

from rclicks import settings
from rclicks_leaderboard import _fs, envs
from rclicks_leaderboard.requests import (
    FAILED,
    KINDS,
    PENDING,
    RUNNING,
    Request,
    RequestsStore,
    now_iso,
)
from rclicks.errors import RClicksError
from rclicks.registry import MODELS, submission_kinds

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
LICENSE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+-]{0,63}$")
FILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
CHECKPOINT_EXTS = (".safetensors", ".pt", ".pth")
FOLDER_EXTS = (".onnx", ".json", ".data", ".md", ".txt")
#: Checkpoint kinds whose file is a state dict (the SAM families), from the registry.
SAM_KINDS = tuple(k for k, e in submission_kinds().items() if e.submission == "state_dict")
#: RITM checkpoints (RITM's own ``{"config", "state_dict"}`` .pth); the config is checked against an allowlist.
RITM_KINDS = tuple(k for k, e in submission_kinds().items() if e.submission == "ritm")
POLICIES = ("single", "score", "sam")


class SubmissionRejected(RClicksError):
    """A submission failed validation; the message is the reason shown to the submitter."""


def _check_name(value: str, what: str, pattern: re.Pattern = NAME_RE) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value) or ".." in value:
        raise SubmissionRejected(
            f"{what} {value!r} is not allowed: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return value


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file's bytes (``rclicks.weights.sha256_file`` when available)."""
    try:
        from rclicks.weights import sha256_file as _sha
    except ImportError:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()
    return _sha(path)


def _files(path: Path) -> list[Path]:
    """The submission's files; rejects links, nested folders, odd names and unknown extensions."""
    if path.is_symlink():
        raise SubmissionRejected(f"{path.name}: symbolic links are not accepted; upload the file itself")
    if path.is_file():
        if not FILE_RE.fullmatch(path.name) or not path.name.endswith(CHECKPOINT_EXTS):
            raise SubmissionRejected(
                f"{path.name}: a checkpoint must be a .safetensors, .pt or .pth file with a plain name"
            )
        return [path]
    if not path.is_dir():
        raise SubmissionRejected(f"{path}: no such file or folder")
    files = []
    for child in sorted(path.iterdir()):
        if child.is_symlink():
            raise SubmissionRejected(f"{child.name}: symbolic links are not accepted inside a submission folder")
        if child.is_dir():
            raise SubmissionRejected(f"{child.name}/: nested folders are not accepted; put every file at the top level")
        if not FILE_RE.fullmatch(child.name) or ".." in child.name:
            raise SubmissionRejected(f"{child.name!r}: file names may only use letters, digits, '.', '_' and '-'")
        if not child.name.endswith(FOLDER_EXTS):
            raise SubmissionRejected(f"{child.name}: unexpected file type; a folder holds only {', '.join(FOLDER_EXTS)} files")
        files.append(child)
    if not any(f.suffix == ".onnx" for f in files):
        raise SubmissionRejected(f"{path.name}/: no .onnx file; see docs/submission.md for the ONNX contract")
    return files


def reserved_names() -> set[str]:
    """Case-folded names a submission may not take: every model of the rclicks registry and each of its variants."""
    names = set()
    for name, entry in MODELS.items():
        names.add(name.casefold())
        names.update(f"{name}:{v}".casefold() for v in entry.variants)
    return names


def check_archive_size(path: Path, max_bytes: int, max_members: int = 100_000) -> None:
    """A ``.pt``/``.pth`` zip archive must not inflate beyond ``max_bytes`` (checked from its directory, before loading)."""
    import zipfile

    if not zipfile.is_zipfile(path):
        return
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise SubmissionRejected(f"{path.name}: not a readable checkpoint archive ({exc})") from exc
    if len(infos) > max_members:
        raise SubmissionRejected(f"{path.name}: {len(infos)} archive members exceed the limit of {max_members}")
    total = sum(i.file_size for i in infos)
    if total > max_bytes:
        raise SubmissionRejected(f"{path.name}: inflates to {total} bytes, over the size limit of {max_bytes} bytes "
                                 "(RCLICKS_MAX_SUBMISSION_BYTES); store tensors uncompressed or submit .safetensors")


def unpack_submission(path: str | os.PathLike, *, max_bytes: int | None = None,
                      max_members: int | None = None) -> tuple[Path, Path | None]:
    """An uploaded file as a submission path: ``(path, None)`` for anything but a ``.zip``; a ``.zip`` (an ONNX
    contract folder, zipped) is unpacked into a new temporary ``rclicks-submit-*`` folder and gives
    ``(the folder it holds, or the temporary folder itself when its top holds more than one folder, temporary folder)``;
    the caller removes the temporary folder once :func:`submit` has copied what it needs.

    Unpacking is ``rclicks.archives.extract``: a zip only, at most ``max_members`` members
    (``RCLICKS_APP_MAX_ZIP_MEMBERS``) and ``max_bytes`` inflated bytes (``RCLICKS_MAX_SUBMISSION_BYTES``, counted as
    they are written), no absolute path or ``..``, no encrypted member, and no link of any kind (a submission holds
    files only). Any refusal raises :class:`SubmissionRejected` in one line naming the member, and leaves no
    temporary folder behind.
    """
    import tempfile

    from rclicks import archives

    p = Path(path)
    if p.suffix.lower() != ".zip":
        return p, None
    max_bytes = envs.limits().max_bytes if max_bytes is None else max_bytes
    max_members = settings.integer("RCLICKS_APP_MAX_ZIP_MEMBERS") if max_members is None else max_members
    out = Path(tempfile.mkdtemp(prefix="rclicks-submit-"))
    try:
        archives.extract(p, out, label=p.name, max_bytes=max_bytes, max_members=max_members, links="refuse",
                         formats=("zip",), limit_hint="The limit is RCLICKS_MAX_SUBMISSION_BYTES",
                         members_hint="The limit is RCLICKS_APP_MAX_ZIP_MEMBERS", redo="zip the model folder again")
    except RClicksError as exc:
        shutil.rmtree(out, ignore_errors=True)
        raise SubmissionRejected(str(exc)) from exc
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    entries = list(out.iterdir())
    return (entries[0] if len(entries) == 1 and entries[0].is_dir() else out), out


def _reason(exc: Exception, path: Path) -> str:
    return str(exc).replace(f"{path}: ", "").replace(f"{path.name}: ", "")


def safe_load_checkpoint(path: Path) -> int:
    """Read a checkpoint's structure without torch and without executing code; return its number of tensors, or reject.

    ``.safetensors``: the header; ``.pt``/``.pth``: the pickle, through ``rclicks.models.checkpoint_scan``
    (only the globals of a plain state dict, as ``torch.load(weights_only=True)``). ``{"model": sd}``-style
    nesting is unwrapped as the loader does.
    """
    from rclicks.models.checkpoint_scan import scan_checkpoint, state_dict_tensors

    try:
        tensors = state_dict_tensors(scan_checkpoint(path), path)
    except RClicksError as exc:
        raise SubmissionRejected(
            f"{path.name}: cannot be loaded safely ({_reason(exc, path)[:300]}); "
            "submit .safetensors or a .pt state dict loadable with torch.load(weights_only=True)"
        ) from exc
    return len(tensors)


def validate_ritm_checkpoint(path: Path, variant: str) -> None:
    """Check a RITM checkpoint without building anything: ``torch.load(weights_only=True)``, the config's
    model class and parameters against ``rclicks.models.ritm``'s allowlist, the tensors, and the variant."""
    from rclicks.models import ritm

    try:
        ritm.validate_checkpoint(path, variant)
    except RClicksError as exc:
        raise SubmissionRejected(f"{path.name}: {_reason(exc, path)}") from exc


def validate_onnx_folder(folder: Path) -> Any:
    """Check an ONNX submission folder against the contract (``rclicks.models.onnx_contract``, the validator only:
    no torch, no onnxruntime session)."""
    from rclicks.models.onnx_contract import validate_submission

    try:
        return validate_submission(folder)
    except RClicksError as exc:
        raise SubmissionRejected(f"{folder.name}/: {exc}") from exc


def content_sha256(files: list[Path]) -> str:
    """sha256 of a submission: the file's sha for one file, else of ``name:sha`` lines for a folder."""
    if len(files) == 1 and files[0].suffix in CHECKPOINT_EXTS:
        return sha256_file(files[0])
    lines = "".join(f"{f.name}:{sha256_file(f)}\n" for f in sorted(files, key=lambda f: f.name))
    return hashlib.sha256(lines.encode()).hexdigest()


def _copy_files(files: list[Path], dest_url: str) -> None:
    fs, root = _fs.url_to_fs(dest_url)
    fs.makedirs(root, exist_ok=True)
    for f in files:
        target = f"{root}/{f.name}"
        if _fs.is_local(fs):
            tmp = f"{target}.tmp"
            shutil.copyfile(f, tmp)
            os.replace(tmp, target)
        else:
            fs.put_file(str(f), target)


def submit(
    path: str | os.PathLike,
    *,
    model: str,
    submitter: str,
    license: str,
    kind: str | None = None,
    config: dict[str, Any] | None = None,
    requests: RequestsStore | None = None,
    models_url: str | None = None,
    max_bytes: int | None = None,
    max_pending: int | None = None,
    results_url: str | None = None,
) -> Request:
    """Validate a submission and queue it; return the PENDING request or raise SubmissionRejected.

    ``path``: an ONNX-contract folder (``kind="onnx"``, the default for folders) or a
    checkpoint file (``kind`` one of ``sam``, ``sam2``, ``sam2.1``, ``mobilesam``,
    ``samhq``; default ``sam``) with ``config={"variant": "vit_b"}``. ``config["policy"]``
    picks the multi-mask policy (``single``, ``score`` (default) or ``sam``). Limits
    default to ``rclicks_leaderboard.envs.limits()``.
    """
    limits = envs.limits()
    max_bytes = limits.max_bytes if max_bytes is None else max_bytes
    max_pending = limits.max_pending if max_pending is None else max_pending
    requests = requests or RequestsStore()
    models_url = models_url or settings.text("RCLICKS_MODELS_URL")
    config = dict(config or {})

    _check_name(model, "model name")
    _check_name(submitter, "submitter")
    if model.casefold() in reserved_names():
        raise SubmissionRejected(f"model name {model!r} is reserved for a built-in rclicks model; choose another name")
    if not license or not str(license).strip():
        raise SubmissionRejected("license is required (an SPDX id such as apache-2.0 or mit)")
    _check_name(str(license).strip(), "license", LICENSE_RE)
    unknown = sorted(set(config) - {"policy", "variant", "oracle"})
    if unknown:
        raise SubmissionRejected(f"config keys {unknown} are not accepted; allowed: policy, variant, oracle")
    if not isinstance(config.get("oracle", False), bool):
        raise SubmissionRejected("config oracle must be true or false (adds separately reported oracle-policy shards)")
    policy = config.setdefault("policy", "score")
    if policy not in POLICIES:
        raise SubmissionRejected(f"config policy {policy!r} is not one of {POLICIES} (the oracle is computed separately)")

    # identities compare case-folded: "Alice" and "alice" share one quota
    active = [r for r in requests.all() if r.submitter.casefold() == submitter.casefold() and r.status in (PENDING, RUNNING)]
    if len(active) >= max_pending:
        raise SubmissionRejected(
            f"submitter {submitter!r} already has {len(active)} pending request(s) (limit {max_pending}); wait for them to finish"
        )

    path = Path(path)
    files = _files(path)
    size = sum(f.stat().st_size for f in files)
    if size > max_bytes:
        raise SubmissionRejected(f"{path.name}: {size} bytes exceeds the size limit of {max_bytes} bytes")

    if path.is_dir():
        kind = kind or "onnx"
        if kind != "onnx":
            raise SubmissionRejected(f"{path.name}/: a folder is an ONNX submission; kind must be 'onnx', got {kind!r}")
        validate_onnx_folder(path)
    else:
        kind = kind or "sam"
        if kind not in SAM_KINDS + RITM_KINDS:
            hint = " (an ONNX submission is a folder, uploaded as a .zip in the app)" if kind == "onnx" else ""
            raise SubmissionRejected(f"{path.name}: a single file must be a checkpoint of kind "
                                     f"{', '.join(SAM_KINDS + RITM_KINDS)}; got {kind!r}{hint}")
        _check_name(str(config.get("variant", "")), f"config variant for {kind}")
        variants = MODELS[kind].variants
        if config["variant"] not in variants:
            raise SubmissionRejected(f"{path.name}: config variant {config['variant']!r} is an unknown variant of kind "
                                     f"{kind!r}; choose one of {', '.join(variants)}")
        check_archive_size(path, max_bytes)
        if kind in RITM_KINDS:
            validate_ritm_checkpoint(path, str(config["variant"]))
        else:
            safe_load_checkpoint(path)
    assert kind in KINDS or kind in RITM_KINDS

    sha = content_sha256(files)
    # the checks below and the save hold one lock per case-folded name, so two submissions racing
    # for the same new name cannot both pass
    with requests.name_lock(model):
        for other in requests.all():
            if other.weights_sha256 == sha and other.status != FAILED:
                raise SubmissionRejected(f"these weights (sha256 {sha[:12]}…) were already submitted as {other.id} ({other.status})")
            if other.model.casefold() == model.casefold() and other.status != FAILED:
                # results are stored under the model name: one live request per name
                raise SubmissionRejected(f"model name {model!r} is already taken by {other.id}; choose another name")

        from rclicks_leaderboard.store import ResultsStore

        store = ResultsStore(results_url)
        urls = [store.model_url(model)] + ([_fs.join(store.url, _fs.safe_segment(model))] if _fs.safe_segment(model) != "data" else [])
        held = [_fs.url_to_fs(u) for u in urls]  # the Hub layout's data/<model>, and <model> of an old-layout store
        if any(fs.exists(path) for fs, path in held):  # results of different requests never share a shard path
            raise SubmissionRejected(f"model name {model!r} already has results on the leaderboard; choose another name")

        rid = f"{submitter}__{model}__{sha[:12]}"
        if requests.exists(rid):
            rid = f"{rid}__{now_iso().replace(':', '').replace('+', '')[:17]}"
        dest = _fs.join(models_url, _fs.safe_segment(rid))
        req = Request(
            id=rid, model=model, kind=kind, weights_sha256=sha, submitter=submitter, license=str(license).strip(),
            files_url=dest, model_bytes=size, config=config,
        )
        try:
            _copy_files(files, dest)
            requests.save(req)
        except Exception:
            fs, root = _fs.url_to_fs(dest)
            if fs.exists(root):
                fs.rm(root, recursive=True)
            raise
        return req

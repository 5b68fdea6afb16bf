"""``rclicks datasets prepare NAME --from PATH_OR_URL``: an official archive → the RITM layout, verified, in place.

The source is a ``.zip`` / ``.tar`` / ``.tar.gz`` / ``.tgz`` archive (any tar compression Python reads), the folder it
unpacks to, or an ``http(s)`` URL of the archive (downloaded to a temporary file; nothing else touches the network).
The folder holding the layout may sit at any depth up to ``MAX_DEPTH`` inside it (``Berkeley/``, ``VOCdevkit/VOC2012/``,
``benchmark_RELEASE/dataset/``).

| name        | official file (where)                                   | source layout                                     | written (loader layout)              |
|-------------|---------------------------------------------------------|---------------------------------------------------|--------------------------------------|
| ``berkeley``  | ``Berkeley.zip`` (RITM / f-BRS release v1.0)            | ``images/*.jpg`` + ``masks/*.png``                | unchanged (``berkeley``)              |
| ``coco_mval`` | ``COCO_MVal.zip`` (RITM / f-BRS release v1.0)           | ``img/*.jpg`` + ``gt/*.png``                      | unchanged (``davis``)                 |
| ``davis``     | ``DAVIS.zip`` (RITM / f-BRS release v1.0)               | ``img/`` + ``gt/``                                | unchanged (``davis``)                 |
| ``grabcut``   | ``GrabCut.zip`` (RITM / f-BRS release v1.0)             | ``data_GT/`` + ``boundary_GT/``                   | unchanged (``grabcut``)               |
| ``sbd``       | ``benchmark.tgz`` (Hariharan et al., Berkeley)          | ``dataset/{img/*.jpg, inst/*.mat, train.txt, val.txt}`` | ``img/`` + ``inst/`` + splits (``sbd``); ``cls/`` dropped |
| ``pascalvoc`` | ``VOCtrainval_11-May-2012.tar`` (PASCAL VOC site)       | ``VOC2012/{JPEGImages, SegmentationObject, ImageSets/Segmentation}`` | the segmented images only (``pascal``) |
| ``tetris``    | the TETRIS folder of the RClicks / TETRIS authors       | ``images/*`` + ``masks/*.png`` RGB-packed ids (+ ``val.txt`` / ``TETRIS_val.txt``) | unchanged, split as ``val.txt`` (``tetris``) |

Files are copied byte for byte (moved, when they come from an archive this call unpacked), so a prepared folder has the
content fingerprint of a hand-unpacked one. Every instance is then read with the project's own loader (every image has
its mask, sizes agree, files decode; empty masks are counted and reported, as evaluation skips them) before the folder
appears.

Safety (``rclicks.archives.extract``, the project's one unpacker of untrusted archives): archive members with
absolute paths, drive letters or ``..`` components, links pointing outside the target, encrypted members, devices and
pipes refuse the whole archive before anything is written; links that stay inside are not created (skipped, counted).
The unpacked size is capped at ``$RCLICKS_PREPARE_MAX_BYTES`` (default 16 GiB, counted as bytes
are written, whatever the headers claim) and the member count at ``MAX_MEMBERS``; a download has the same byte cap.

Atomicity: everything happens in a hidden ``.<Name>.prepare-*`` folder beside the output, which is renamed into place
only once verified (``os.sync`` first) and removed on any error, so the output folder is either absent, the old one,
or complete. An existing output is an error unless ``force`` (then it is swapped out by rename and deleted).
A process killed outright (SIGKILL) can leave the hidden work folder behind; delete it by hand.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable
from urllib.parse import urlparse

from rclicks import archives, settings
from rclicks.settings import SAMPLES_ROOT, data_root
from rclicks.data.datasets import LAYOUTS, PREPARED_FILE
from rclicks.data.io import IMAGE_SUFFIXES
from rclicks.data.registry import KNOWN
from rclicks.errors import RClicksError
from rclicks.fsutil import fsync_dir

#: At most this many members in one archive.
MAX_MEMBERS = 1_000_000
#: How deep inside the source the folder holding the layout may sit.
MAX_DEPTH = 4
_CHUNK = 1 << 20

Put = Callable[[Path, Path], None]


@dataclass(frozen=True)
class Spec:
    """How one dataset is distributed and how its files become the loader's layout."""

    name: str
    markers: tuple[str, ...]  # sub-folders whose presence marks the dataset's root inside the source
    expected: str  # the official layout, in words, for error messages
    official: str  # the official file and where it comes from
    convert: Callable[[Path, Path, Put], None]

    @property
    def folder(self) -> str:
        return KNOWN[self.name][0]

    @property
    def layout(self) -> str:
        return KNOWN[self.name][1]


@dataclass
class Prepared:
    """What ``prepare`` wrote: where, in which layout, how many images and instances, and the content fingerprint."""

    name: str
    path: Path
    layout: str
    images: int
    instances: int
    fingerprint: str
    empty: list[str] = field(default_factory=list)
    skipped_links: int = 0


def max_bytes() -> int:
    """The cap on unpacked (and downloaded) bytes: ``$RCLICKS_PREPARE_MAX_BYTES``, default 16 GiB."""
    return settings.integer("RCLICKS_PREPARE_MAX_BYTES")


# ---------------------------------------------------------------------------------------------------------- converters


def _files(folder: Path, suffixes: Iterable[str]) -> list[Path]:
    """Regular files of ``folder`` (not hidden, not macOS ``._`` forks) with one of ``suffixes``, sorted."""
    suffixes = tuple(suffixes)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in suffixes)


def _split_files(src: Path, dst: Path, put: Put, names: dict[str, str]) -> None:
    """Split lists found in ``src`` (``TETRIS_*.txt`` also beside it, where the RClicks repository keeps them) are
    written under the loader's names; the first one found for a name wins."""
    for theirs, ours in names.items():
        for where in (src, src.parent) if theirs.startswith("TETRIS_") else (src,):
            if (where / theirs).is_file() and not (dst / ours).exists():
                put(where / theirs, dst / ours)


def _paired(images_dir: str, masks_dir: str, mask_suffixes: tuple[str, ...] = IMAGE_SUFFIXES,
            splits: dict[str, str] | None = None) -> Callable[[Path, Path, Put], None]:
    """Images and masks folders kept as they are (plus optional split lists, renamed to the loader's names)."""

    def convert(src: Path, dst: Path, put: Put) -> None:
        for f in _files(src / images_dir, IMAGE_SUFFIXES):
            put(f, dst / images_dir / f.name)
        for f in _files(src / masks_dir, mask_suffixes):
            put(f, dst / masks_dir / f.name)
        _split_files(src, dst, put, splits or {})

    return convert


def _sbd(src: Path, dst: Path, put: Put) -> None:
    """SBD's ``dataset/``: every ``inst/<stem>.mat`` with its ``img/<stem>.jpg``, and the split lists (``cls/`` dropped)."""
    for mat in _files(src / "inst", (".mat",)):
        img = src / "img" / f"{mat.stem}.jpg"
        if not img.is_file():
            raise RClicksError(f"{mat}: no image {img.name} in {src / 'img'}; the archive is incomplete (re-download it)")
        put(img, dst / "img" / img.name)
        put(mat, dst / "inst" / mat.name)
    _split_files(src, dst, put, {"val.txt": "val.txt", "train.txt": "train.txt"})


def _pascal(src: Path, dst: Path, put: Put) -> None:
    """VOC2012: the ``SegmentationObject`` palette PNGs, the JPEGs they annotate, ``ImageSets/Segmentation/*.txt``."""
    from PIL import Image

    for png in _files(src / "SegmentationObject", (".png",)):
        try:
            with Image.open(png) as im:
                mode = im.mode
        except OSError as exc:
            raise RClicksError(f"{png}: not a readable PNG ({exc}); the archive is damaged (re-download it)") from exc
        if mode != "P":
            raise RClicksError(f"{png}: a {mode} image, but VOC's SegmentationObject PNGs are palette images whose "
                               "indices are the instance ids; give the official VOC archive")
        img = src / "JPEGImages" / f"{png.stem}.jpg"
        if not img.is_file():
            raise RClicksError(f"{png}: no image {img.name} in {src / 'JPEGImages'}; the archive is incomplete")
        put(img, dst / "JPEGImages" / img.name)
        put(png, dst / "SegmentationObject" / png.name)
    for txt in _files(src / "ImageSets" / "Segmentation", (".txt",)):
        put(txt, dst / "ImageSets" / "Segmentation" / txt.name)


_FBRS = "https://github.com/saic-vul/fbrs_interactive_segmentation/releases/download/v1.0/"

#: One entry per known dataset name (``rclicks.data.registry.KNOWN``).
SPECS: dict[str, Spec] = {s.name: s for s in (
    Spec("berkeley", ("images", "masks"), "images/*.jpg + masks/*.png (Berkeley.zip holds Berkeley/images, Berkeley/masks)",
         f"Berkeley.zip ({_FBRS}Berkeley.zip)", _paired("images", "masks")),
    Spec("coco_mval", ("img", "gt"), "img/*.jpg + gt/*.png (COCO_MVal.zip holds COCO_MVal/img, COCO_MVal/gt)",
         f"COCO_MVal.zip ({_FBRS}COCO_MVal.zip)", _paired("img", "gt")),
    Spec("davis", ("img", "gt"), "img/*.jpg + gt/*.png (DAVIS.zip holds DAVIS/img, DAVIS/gt)",
         f"DAVIS.zip ({_FBRS}DAVIS.zip)", _paired("img", "gt")),
    Spec("grabcut", ("data_GT", "boundary_GT"), "data_GT/ + boundary_GT/*.bmp (GrabCut.zip holds GrabCut/data_GT, "
         "GrabCut/boundary_GT)", f"GrabCut.zip ({_FBRS}GrabCut.zip)", _paired("data_GT", "boundary_GT")),
    Spec("sbd", ("img", "inst"), "img/*.jpg + inst/*.mat (+ val.txt, train.txt); benchmark.tgz holds them in "
         "benchmark_RELEASE/dataset/",
         "benchmark.tgz (http://www.eecs.berkeley.edu/Research/Projects/CS/vision/grouping/semantic_contours/"
         "benchmark.tgz)", _sbd),
    Spec("pascalvoc", ("JPEGImages", "SegmentationObject"), "JPEGImages/*.jpg + SegmentationObject/*.png "
         "(+ ImageSets/Segmentation/val.txt); the VOC2012 trainval tar holds them in VOCdevkit/VOC2012/",
         "VOCtrainval_11-May-2012.tar (http://host.robots.ox.ac.uk/pascal/VOC/voc2012/VOCtrainval_11-May-2012.tar)",
         _pascal),
    Spec("tetris", ("images", "masks"), "images/* + masks/<stem>.png with RGB-packed instance ids (+ val.txt or "
         "TETRIS_val.txt), as the RClicks authors' TETRIS loader reads it",
         "the TETRIS folder or archive of the TETRIS / RClicks authors",
         _paired("images", "masks", (".png",), {"val.txt": "val.txt", "TETRIS_val.txt": "val.txt",
                                                "train.txt": "train.txt", "TETRIS_train.txt": "train.txt"})),
)}

_ALIASES = {"coco-mval": "coco_mval", "cocomval": "coco_mval", "coco": "coco_mval", "voc": "pascalvoc",
            "pascal": "pascalvoc", "pascal_voc": "pascalvoc", "voc2012": "pascalvoc"}


def spec_for(name: str) -> Spec:
    """The Spec of a dataset name (case-insensitive; ``COCO-MVal``, ``VOC`` … accepted)."""
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key not in SPECS:
        raise RClicksError(f"dataset {name!r}: not one prepare knows; choose one of {', '.join(SPECS)}")
    return SPECS[key]


# --------------------------------------------------------------------------------------------------- safe extraction


def extract(archive: Path, root: Path, label: str | None = None) -> int:
    """Unpack a zip or tar ``archive`` into the new or empty folder ``root`` with ``rclicks.archives.extract`` (the
    rules are in the module doc), capped at ``RCLICKS_PREPARE_MAX_BYTES`` and ``MAX_MEMBERS``; returns the number of
    inside links skipped. Raises RClicksError, naming the archive and the member, for anything unsafe or corrupt
    (then nothing unpacked is left in ``root``)."""
    label = label or str(archive)
    if archives.archive_format(archive) is None:
        raise RClicksError(f"--from {label}: not a .zip, .tar, .tar.gz or .tgz archive, nor a folder; give the "
                           "official archive or the folder it unpacks to")
    done = archives.extract(archive, root, label=label, max_bytes=max_bytes(), max_members=MAX_MEMBERS,
                            limit_hint="Set RCLICKS_PREPARE_MAX_BYTES higher if the file is genuine",
                            redo="re-download it")
    return done.skipped_links


def _download(url: str, folder: Path) -> Path:
    """Fetch ``url`` to a file in ``folder`` (byte cap as for unpacking); RClicksError naming the URL on failure."""
    import urllib.error
    import urllib.request

    name = re.sub(r"[^A-Za-z0-9._-]", "_", Path(urlparse(url).path).name) or "download"
    dest = folder / f"download-{name}"
    budget = archives.ByteBudget(f"--from {url}: the download is", max_bytes(),
                                 "Set RCLICKS_PREPARE_MAX_BYTES higher if the file is genuine")
    request = urllib.request.Request(url, headers={"User-Agent": "rclicks-datasets-prepare"})
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:
            length = resp.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > budget.limit:
                budget.refuse(int(length))
            archives.copy_stream(resp, dest, budget)
    except urllib.error.HTTPError as exc:
        raise RClicksError(f"--from {url}: the server answered {exc.code} {exc.reason}; check the URL, or download "
                           "the archive yourself and pass its path") from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise RClicksError(f"--from {url}: download failed ({reason}); check the URL and the network, or download the "
                           "archive yourself and pass its path") from exc
    return dest


# ------------------------------------------------------------------------------------------------------------ prepare


def default_root() -> Path:
    """Where ``prepare`` writes by default: the data root that ``--dataset NAME`` reads (``$RCLICKS_DATA``, else an
    existing ``../shared/data``); never the repository's own samples folder."""
    root = data_root()
    if settings.is_set("RCLICKS_DATA") or (root.is_dir() and root.resolve() != SAMPLES_ROOT.resolve()):
        return root
    raise RClicksError("no data folder to prepare into: set RCLICKS_DATA to the folder that should hold the datasets "
                       "(then `--dataset NAME` finds them there), or pass --out DIR")


def _inside(child: Path, parent: Path) -> bool:
    child, parent = Path(os.path.realpath(child)), Path(os.path.realpath(parent))
    return child == parent or parent in child.parents


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _find_root(top: Path, spec: Spec, label: str) -> Path:
    """The shallowest folder under ``top`` (depth ≤ MAX_DEPTH) holding every marker sub-folder of ``spec``."""
    frontier, seen = [top], 0
    for _ in range(MAX_DEPTH + 1):
        hits = [d for d in frontier if all((d / m).is_dir() for m in spec.markers)]
        if len(hits) > 1:
            names = ", ".join(str(h.relative_to(top)) for h in hits[:4])
            raise RClicksError(f"{label}: several folders in the {spec.name} layout ({names}); pass the one you mean "
                               "with --from")
        if hits:
            return hits[0]
        nxt = []
        for d in frontier:
            try:
                nxt += sorted(c for c in d.iterdir() if c.is_dir() and c.name != "__MACOSX" and not c.name.startswith("."))
            except OSError:
                continue
        seen += len(nxt)
        frontier = nxt
        if not frontier or seen > 10_000:
            break
    try:
        found = sorted(p.name + ("/" if p.is_dir() else "") for p in top.iterdir() if not p.name.startswith("."))
    except OSError:
        found = []
    shown = ", ".join(found[:8]) + (", …" if len(found) > 8 else "")
    raise RClicksError(f"{label}: not in the {spec.name} layout; expected {spec.expected}, from {spec.official}; "
                       f"found {shown or 'nothing'} at its top")


def _verify(root: Path, spec: Spec, shown_as: str) -> Prepared:
    """Read every instance with the project's loader; RClicksError (paths shown as in the source) on any fault."""
    import sys

    from tqdm import tqdm

    try:
        ds = LAYOUTS[spec.layout](root, name=spec.name)
        bar = tqdm(ds, total=len(ds), desc=f"verifying {spec.name}", unit="instance", leave=False,
                   disable=not sys.stderr.isatty())
        empty = [s.instance for s in bar if not s.mask.any()]
        fingerprint = ds.fingerprint()
    except RClicksError as exc:
        raise RClicksError(str(exc).replace(str(root), shown_as)) from exc
    return Prepared(spec.name, root, spec.layout, len({it.image for it in ds.items}), len(ds), fingerprint, empty)


def prepare(name: str, source: str | os.PathLike, out: str | os.PathLike | None = None, *, force: bool = False,
            log: Callable[[str], None] = print) -> Prepared:
    """Make ``out`` (default ``<data root>/<Name>``, where ``--dataset NAME`` finds it) from ``source`` — an archive, its
    unpacked folder or an http(s) URL of it — in the layout the project's loader for ``name`` reads, verified.

    An existing ``out`` is an error unless ``force`` (then it is replaced atomically). Returns what was written.
    """
    spec = spec_for(name)
    text = os.fspath(source)
    is_url = urlparse(text).scheme.lower() in ("http", "https")
    if not is_url and "://" in text:
        raise RClicksError(f"--from {text}: only http(s) URLs are downloaded; give an http(s) URL, a local archive "
                           "or a folder")
    src = None if is_url else Path(text).expanduser()
    if src is not None and not src.exists():
        raise RClicksError(f"--from {src}: no such file or folder; give the official {spec.official.split(' (')[0]} "
                           "or the folder it unpacks to")
    target = Path(out).expanduser() if out is not None else default_root() / spec.folder
    target = Path(os.path.abspath(target))
    if target.exists() or target.is_symlink():
        if not target.is_dir():
            raise RClicksError(f"--out {target}: exists and is not a folder; choose another output folder")
        if not force:
            raise RClicksError(f"{target}: already exists{_described(target)}; pass --force to replace it, or use it "
                               f"as it is ({_how_to_use(spec, target)})")
        if not _replaceable(target, spec):
            raise RClicksError(f"--out {target}: exists and is not a {spec.name} folder (no {PREPARED_FILE}, no "
                               f"{' + '.join(m + '/' for m in spec.markers)}), so --force will not delete it; choose "
                               "the dataset's own folder or a new one")
    if src is not None and (_inside(src, target) or (src.is_dir() and _inside(target, src))):
        raise RClicksError(f"--from {src} and --out {target} overlap; prepare into a folder outside the source")
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.prepare-", dir=target.parent))
    try:
        skipped, archive = 0, None
        if is_url:
            log(f"downloading {text} …")
            archive = _download(text, work)
        elif src.is_file():
            archive = src
        if archive is not None:
            unpacked = work / "unpacked"
            log(f"unpacking {text} …")
            skipped = extract(archive, unpacked, text)
            top, move = unpacked, True
        else:
            top, move = src, False
        root = _find_root(top, spec, text)
        staging = work / "out"
        staging.mkdir()

        def put(a: Path, b: Path) -> None:
            b.parent.mkdir(parents=True, exist_ok=True)
            if move:
                os.replace(a, b)
            else:
                shutil.copyfile(a, b)

        spec.convert(root, staging, put)
        inner = root.relative_to(top).as_posix()
        shown = str(root) if archive is None else text if inner == "." else f"{text}/{inner}"
        log(f"verifying {spec.name} …")
        report = _verify(staging, spec, shown)
        report.skipped_links = skipped
        record = {"name": spec.name, "layout": spec.layout, "source": text if is_url else str(src.resolve()),
                  "source_sha256": _sha256(archive) if archive is not None else None,
                  "images": report.images, "instances": report.instances, "empty": report.empty,
                  "fingerprint": report.fingerprint, "prepared_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        (staging / PREPARED_FILE).write_text(json.dumps(record, indent=1) + "\n")
        if hasattr(os, "sync"):
            os.sync()  # every file's bytes on disk before the folder appears under its name
        _swap_in(staging, target, work, force)
        fsync_dir(target.parent)
    except OSError as exc:
        raise RClicksError(f"preparing {spec.name} into {target} failed ({exc}); nothing was written there") from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report.path = target
    return report


def _swap_in(staging: Path, target: Path, work: Path, force: bool) -> None:
    """Rename ``staging`` to ``target``; an existing ``target`` (only with ``force``) is first renamed into ``work``."""
    old = None
    if target.exists() or target.is_symlink():
        if not force:
            raise RClicksError(f"{target}: appeared while preparing; pass --force to replace it")
        old = work / "replaced"
        os.rename(target, old)
    try:
        os.rename(staging, target)
    except OSError as exc:
        if old is not None:
            os.rename(old, target)
        raise RClicksError(f"{target}: could not be put in place ({exc}); nothing was changed") from exc


def _replaceable(target: Path, spec: Spec) -> bool:
    """Whether ``--force`` may delete ``target``: an empty folder, one ``prepare`` made, or one in ``spec``'s layout."""
    try:
        return ((target / PREPARED_FILE).is_file() or all((target / m).is_dir() for m in spec.markers)
                or not any(target.iterdir()))
    except OSError:
        return False


def _described(target: Path) -> str:
    try:
        rec = json.loads((target / PREPARED_FILE).read_text())
        return f" (prepared from {rec['source']} on {rec['prepared_at']})"
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def _how_to_use(spec: Spec, target: Path) -> str:
    try:
        default = default_root() / spec.folder
    except RClicksError:
        default = None
    if default is not None and Path(os.path.abspath(default)) == target:
        return f"rclicks evaluate --dataset {spec.name}"
    return f"rclicks evaluate --dataset {target}"


def summary(report: Prepared) -> str:
    """The lines ``rclicks datasets prepare`` prints about a prepared dataset."""
    spec = SPECS[report.name]
    lines = [f"{report.name}: {report.instances} instances in {report.images} images, layout {report.layout}, "
             f"sha256:{report.fingerprint[:16]} → {report.path}"]
    if report.empty:
        shown = ", ".join(report.empty[:5]) + (", …" if len(report.empty) > 5 else "")
        lines.append(f"warning: {len(report.empty)} instance(s) with an empty mask, skipped at evaluation: {shown}")
    if report.skipped_links:
        lines.append(f"note: {report.skipped_links} link(s) inside the archive were not created")
    lines.append(f"evaluate it: {_how_to_use(spec, report.path)}")
    return "\n".join(lines)

"""The one safe unpacker of untrusted ``.zip`` / ``.tar`` archives (``.tar.gz``, ``.tgz``, any compression ``tarfile``
reads), used by ``rclicks datasets prepare`` for official dataset archives and by the leaderboard for uploaded
submission zips (``rclicks_leaderboard.submit.unpack_submission``).

:func:`extract` refuses the whole archive, in one line naming the archive and the member, for:

* a member with an absolute path, a drive letter or a ``..`` component (zip-slip);
* a link (symbolic, or a tar hard link) whose target leaves the folder; links that stay inside are not created but
  skipped and counted (``links="skip"``), or every link is refused (``links="refuse"``: submissions hold files only);
* an encrypted zip member, a tar device, pipe or other special member;
* more than ``max_members`` members;
* more than ``max_bytes`` bytes: first the sizes the headers declare, then the bytes actually written, counted while
  streaming whatever the headers claim (zip bombs);
* an unreadable archive or a corrupt member (bad CRC, truncated stream).

Every member is checked before anything is written, and a refusal or error found while writing (a corrupt member, a
full disk) removes everything written, so the destination is either complete or gone. macOS ``__MACOSX/`` and ``._*``
entries and ``./`` carry nothing and are skipped. The module is library level: the callers pass their own limits and
name the variable that sets each (``limit_hint``, ``members_hint``) and what to do about a broken file (``redo``).
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
import stat
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Literal

from rclicks.errors import RClicksError

_CHUNK = 1 << 20
FORMATS = ("zip", "tar")
_SUFFIXES = {"zip": (".zip",), "tar": (".tar", ".tar.gz", ".tgz")}


class ArchiveRefused(RClicksError):
    """An archive is unsafe, over a limit, unreadable or corrupt; the message is one line naming it and the member."""


@dataclass(frozen=True)
class Extracted:
    """What :func:`extract` wrote: regular files, their bytes, and the inside links it skipped (not created)."""

    files: int
    bytes: int
    skipped_links: int


def archive_format(path: str | os.PathLike) -> str | None:
    """``"zip"`` or ``"tar"`` as read from the file's bytes (not its name), or None when it is neither."""
    path = Path(path)
    if not path.is_file():
        return None
    if zipfile.is_zipfile(path):
        return "zip"
    try:
        if tarfile.is_tarfile(path):
            return "tar"
    except (OSError, EOFError, tarfile.TarError, zlib.error):
        pass
    return None


class ByteBudget:
    """Counts bytes written against a cap and refuses the source past it, in one line: ``{what} more than {limit}
    bytes; refused as too large`` (``what`` names the source, e.g. ``"x.zip: unpacks to"``), then ``hint``."""

    def __init__(self, what: str, limit: int, hint: str = "") -> None:
        self.what, self.limit, self.hint, self.used = what, limit, hint, 0

    def refuse(self, declared: int | None = None) -> None:
        """Raise :class:`ArchiveRefused`; ``declared``: the size the headers claim, when that is what is over."""
        size = f"{declared} bytes, more than {self.limit}" if declared is not None else f"more than {self.limit}"
        raise ArchiveRefused(f"{self.what} {size} bytes; refused as too large (a zip bomb?)"
                             + (f". {self.hint}" if self.hint else ""))

    def take(self, n: int) -> None:
        """Count ``n`` more bytes; refuse once the total is over the cap."""
        self.used += n
        if self.used > self.limit:
            self.refuse()


def copy_stream(src: BinaryIO, dest: Path, budget: ByteBudget) -> None:
    """Copy ``src`` to the file ``dest`` in chunks, each counted against ``budget`` before it is written."""
    with open(dest, "wb") as out:
        while chunk := src.read(_CHUNK):
            budget.take(len(chunk))
            out.write(chunk)


def _member_path(name: str, label: str) -> PurePosixPath | None:
    """The member's path relative to the destination; None for entries that carry nothing (``./``, macOS forks).

    Refuses absolute paths, drive letters and ``..`` components (zip-slip), naming the member."""
    norm = name.replace("\\", "/")
    if norm.startswith("/") or re.match(r"^[A-Za-z]:", norm):
        raise ArchiveRefused(f"{label}: member {name!r} has an absolute path; refused (an unsafe archive; nothing "
                             "was written)")
    parts = [p for p in norm.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ArchiveRefused(f"{label}: member {name!r} points outside the folder it unpacks to (..); refused "
                             "(an unsafe archive; nothing was written)")
    if not parts or parts[0] == "__MACOSX" or parts[-1].startswith("._"):
        return None
    return PurePosixPath(*parts)


def _link_escapes(rel: PurePosixPath, target: str, hard: bool) -> bool:
    """Whether a link at ``rel`` to ``target`` resolves outside the destination (tar hard links are archive-relative)."""
    target = target.replace("\\", "/")
    if target.startswith("/") or re.match(r"^[A-Za-z]:", target):
        return True
    base = "" if hard else str(rel.parent)
    resolved = posixpath.normpath(posixpath.join(base, target))
    return resolved == ".." or resolved.startswith("../")


def _check_link(label: str, name: str, rel: PurePosixPath, target: str, hard: bool, links: str) -> None:
    kind = "hard link" if hard else "symbolic link"
    if links == "refuse":
        raise ArchiveRefused(f"{label}: member {name!r} is a {kind}; refused (the archive must hold the files "
                             "themselves)")
    if _link_escapes(rel, target, hard):
        raise ArchiveRefused(f"{label}: member {name!r} is a link to {target!r} outside the folder it unpacks to; "
                             "refused (an unsafe archive; nothing was written)")


def _dest(root: Path, rel: PurePosixPath, label: str) -> Path:
    dest = root.joinpath(*rel.parts)
    real_root = os.path.realpath(root)
    if os.path.commonpath([real_root, os.path.realpath(dest)]) != real_root:  # defence in depth: no links are created
        raise ArchiveRefused(f"{label}: member {str(rel)!r} resolves outside the folder it unpacks to; refused")
    return dest


def _too_many(label: str, count: int | None, limit: int, hint: str) -> ArchiveRefused:
    n = f"{count} archive members, more than {limit}" if count is not None else f"more than {limit} archive members"
    return ArchiveRefused(f"{label}: {n}; refused" + (f". {hint}" if hint else ""))


def _extract_zip(path: Path, root: Path, label: str, budget: ByteBudget, max_members: int, members_hint: str,
                 links: str, redo: str) -> Extracted:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveRefused(f"{label}: not a readable .zip archive ({exc}); {redo}") from exc
    skipped, files, plan = 0, 0, []
    with zf:
        infos = zf.infolist()
        if len(infos) > max_members:
            raise _too_many(label, len(infos), max_members, members_hint)
        for info in infos:  # every member is checked before anything is written
            rel = _member_path(info.filename, label)
            if rel is None:
                continue
            if stat.S_ISLNK(info.external_attr >> 16):
                target = "" if links == "refuse" else zf.read(info)[:4096].decode("utf-8", "replace")
                _check_link(label, info.filename, rel, target, False, links)
                skipped += 1
                continue
            if info.flag_bits & 0x1:
                raise ArchiveRefused(f"{label}: member {info.filename!r} is encrypted; refused (give an unencrypted "
                                     "archive)")
            plan.append((info, rel))
        declared = sum(i.file_size for i, _ in plan)
        if declared > budget.limit:
            budget.refuse(declared)
        for info, rel in plan:
            dest = _dest(root, rel, label)
            if info.is_dir():
                dest.mkdir(parents=True, exist_ok=True)
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                with zf.open(info) as src:
                    copy_stream(src, dest, budget)
            except (zipfile.BadZipFile, EOFError, zlib.error, NotImplementedError) as exc:
                raise ArchiveRefused(f"{label}: member {info.filename!r} is corrupt ({exc}); {redo}") from exc
            files += 1
    return Extracted(files, budget.used, skipped)


def _extract_tar(path: Path, root: Path, label: str, budget: ByteBudget, max_members: int, members_hint: str,
                 links: str, redo: str) -> Extracted:
    try:
        tf = tarfile.open(path, "r:*")
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise ArchiveRefused(f"{label}: not a readable tar archive ({exc}); {redo}") from exc
    skipped, files, plan = 0, 0, []
    try:
        with tf:
            count = 0
            for m in tf:  # every member is checked before anything is written
                count += 1
                if count > max_members:
                    raise _too_many(label, None, max_members, members_hint)
                rel = _member_path(m.name, label)
                if rel is None:
                    continue
                if m.issym() or m.islnk():
                    _check_link(label, m.name, rel, m.linkname, m.islnk(), links)
                    skipped += 1
                    continue
                if not (m.isfile() or m.isdir()):
                    raise ArchiveRefused(f"{label}: member {m.name!r} is a device or pipe; refused (an unsafe archive)")
                plan.append((m, rel))
            declared = sum(m.size for m, _ in plan if m.isfile())
            if declared > budget.limit:
                budget.refuse(declared)
            for m, rel in plan:
                dest = _dest(root, rel, label)
                if m.isdir():
                    dest.mkdir(parents=True, exist_ok=True)
                    continue
                dest.parent.mkdir(parents=True, exist_ok=True)
                src = tf.extractfile(m)
                if src is None:
                    continue
                with src:
                    copy_stream(src, dest, budget)
                files += 1
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise ArchiveRefused(f"{label}: corrupt or truncated tar archive ({exc}); {redo}") from exc
    return Extracted(files, budget.used, skipped)


def extract(archive: str | os.PathLike, dest: str | os.PathLike, *, max_bytes: int, max_members: int,
            label: str | None = None, limit_hint: str = "", members_hint: str = "",
            links: Literal["skip", "refuse"] = "skip", formats: tuple[str, ...] = FORMATS,
            redo: str = "re-create the archive") -> Extracted:
    """Unpack the untrusted zip or tar ``archive`` into the folder ``dest`` safely (the rules are in the module doc).

    ``dest`` must not exist yet (it is created) or be an empty folder. ``max_bytes`` caps the bytes written and
    ``max_members`` the archive's entries; ``limit_hint`` / ``members_hint`` end the refusal past either (say which
    variable sets it), ``redo`` ends the message for an unreadable archive or corrupt member. ``links``: ``"skip"``
    leaves inside links uncreated (counted), ``"refuse"`` refuses any link. ``formats`` limits the accepted kinds
    (``("zip",)``: a zip only), read from the bytes. ``label`` names the archive in messages (default: its path).

    Returns what was written. Raises :class:`ArchiveRefused` (an ``RClicksError``) in one line naming the archive and
    the member; then nothing extract wrote remains (``dest`` is removed when extract created it, else emptied).
    """
    archive, root = Path(archive), Path(dest)
    label = label or str(archive)
    if links not in ("skip", "refuse"):
        raise ValueError(f"links must be 'skip' or 'refuse', not {links!r}")
    kind = archive_format(archive)
    if kind not in formats:
        suffixes = [s for f in formats for s in _SUFFIXES[f]]
        shown = " or ".join([", ".join(suffixes[:-1]), suffixes[-1]] if len(suffixes) > 1 else suffixes)
        raise ArchiveRefused(f"{label}: not a readable {shown} archive; {redo}")
    created = not root.exists()
    if created:
        root.mkdir(parents=True)
    elif not root.is_dir() or any(root.iterdir()):
        raise RClicksError(f"{root}: the folder to unpack {label} into must be new or empty")
    budget = ByteBudget(f"{label}: unpacks to", max_bytes, limit_hint)
    unpack = _extract_zip if kind == "zip" else _extract_tar
    try:
        return unpack(archive, root, label, budget, max_members, members_hint, links, redo)
    except BaseException as exc:
        _remove_written(root, created)
        if isinstance(exc, OSError):  # a write failed (disk full, a file where a folder is expected …)
            raise ArchiveRefused(f"{label}: could not be unpacked ({exc.strerror or exc}); nothing was kept") from exc
        raise


def _remove_written(root: Path, created: bool) -> None:
    if created:
        shutil.rmtree(root, ignore_errors=True)
        return
    for child in list(root.iterdir()):
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)

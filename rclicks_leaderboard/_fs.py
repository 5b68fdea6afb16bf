"""Small fsspec helpers shared by the stores: joining URLs, atomic byte writes, safe path segments."""

from __future__ import annotations

import os
import uuid

from rclicks.errors import RClicksError
from rclicks.fsutil import fsync_dir


def url_to_fs(url: str):
    """(filesystem, path) for a local path or any fsspec URL (``hf://`` reads ``HF_TOKEN`` itself)."""
    import fsspec

    try:
        return fsspec.core.url_to_fs(os.fspath(url))
    except (ImportError, ValueError) as exc:
        raise RClicksError(f"{url}: cannot open this store URL ({exc}); use a local folder or hf://datasets/OWNER/NAME") from exc


def is_local(fs) -> bool:
    """True for the local filesystem (where rename is atomic)."""
    from fsspec.implementations.local import LocalFileSystem

    return isinstance(fs, LocalFileSystem)


def join(url: str, *parts: str) -> str:
    """``url/part1/part2`` without doubling slashes."""
    return "/".join([os.fspath(url).rstrip("/"), *parts])


def to_url(fs, path: str) -> str:
    """Turn a path returned by ``fs.glob``/``fs.ls`` back into a URL usable with :func:`url_to_fs`."""
    if is_local(fs):
        return path
    proto = fs.protocol[0] if isinstance(fs.protocol, tuple) else fs.protocol
    return f"{proto}://{path}"


def write_bytes_atomic(url: str, data: bytes) -> None:
    """Write ``data`` at ``url`` so readers see the old or the new content, never a partial file.

    Local: temp file + ``os.replace``. Remote stores (``hf://``): one upload, which is one commit.
    """
    fs, path = url_to_fs(url)
    parent = path.rsplit("/", 1)[0] if "/" in path else ""
    if parent:
        fs.makedirs(parent, exist_ok=True)
    if not is_local(fs):
        fs.pipe_file(path, data)
        return
    tmp = f"{path}.{uuid.uuid4().hex}.tmp"
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        fsync_dir(os.path.dirname(os.path.abspath(path)))
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def clean_tmp(root: str, older_than_s: float = 300.0) -> list[str]:
    """Remove ``*.tmp`` files under a local folder older than ``older_than_s`` (orphans of a writer that died
    between write and rename; younger ones may belong to a live writer); return the removed paths."""
    import time

    removed = []
    cutoff = time.time() - older_than_s
    for dirpath, _, names in os.walk(root):
        for n in names:
            if n.endswith(".tmp"):
                p = os.path.join(dirpath, n)
                try:
                    if os.stat(p).st_mtime < cutoff:
                        os.remove(p)
                        removed.append(p)
                except FileNotFoundError:
                    pass
    return removed


def safe_segment(name: str) -> str:
    """Encode ``name`` as one path segment: letters, digits, ``-_+`` (and ``.`` after the first character) kept,
    anything else as ``~xx`` (``+`` joins a protocol and its policy: ``groups+score``).

    Injective (``~`` itself is encoded), never ``.``/``..`` or empty, so no traversal is possible.
    """
    if not name:
        raise RClicksError("an empty name cannot be stored")
    out = []
    for i, ch in enumerate(name):
        keep = (ch.isascii() and ch.isalnum()) or ch in "-_+" or (ch == "." and i > 0)
        out.append(ch if keep else "".join(f"~{b:02x}" for b in ch.encode()))
    return "".join(out)


def scrub_paths(text: str) -> str:
    """``text`` with absolute server paths cut to their last component (what a submitter may see)."""
    import re

    return re.sub(r"(?<![\w./])/(?!/)(?:[^\s'\":/]+/)+([^\s'\":/]*)", r"\1", text)

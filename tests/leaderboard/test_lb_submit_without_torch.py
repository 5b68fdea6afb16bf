"""Regression: the Space installs no torch, and every checkpoint submission was rejected there with
"cannot be loaded safely (ModuleNotFoundError: torch)". Submission validation now needs neither torch nor an
onnxruntime session: it runs here in a fresh interpreter in which ``import torch`` fails.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]

#: Runs the submissions in a fresh interpreter with torch made unimportable; prints one JSON line.
SCRIPT = r"""
import json, sys
sys.modules["torch"] = None  # `import torch` now raises ImportError, as where torch is not installed
from rclicks_leaderboard import submit
from rclicks_leaderboard.requests import RequestsStore

cases, root = json.loads(sys.argv[1]), sys.argv[2]
out = {}
for label, path, kw in cases:
    try:
        req = submit(path, model=label, submitter=label, license="mit", requests=RequestsStore(root + "/requests"),
                     models_url=root + "/models", results_url=root + "/results", **kw)
        out[label] = "queued " + req.kind
    except Exception as exc:  # the reason is what the test looks at
        out[label] = f"{type(exc).__name__}: {exc}"
try:
    import torch  # noqa: F401
    torch_importable = True
except ImportError:
    torch_importable = False
print(json.dumps({"results": out, "torch_importable": torch_importable, "onnxruntime": "onnxruntime" in sys.modules}))
"""


def _onnx_folder(folder: Path, size: int = 16) -> Path:
    """A tiny single-network contract submission built with onnx.helper (disk clicks in, one logit map out)."""
    import onnx
    from onnx import TensorProto, helper

    folder.mkdir()
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, size, size])
    clicks = helper.make_tensor_value_info("click_maps", TensorProto.FLOAT, [1, 2, size, size])
    masks = helper.make_tensor_value_info("masks", TensorProto.FLOAT, [1, 1, size, size])
    node = helper.make_node("ReduceMean", ["click_maps"], ["masks"], axes=[1], keepdims=1)
    graph = helper.make_graph([node], "tiny", [image, clicks], [masks])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(folder / "model.onnx"))
    (folder / "rclicks.json").write_text(json.dumps({
        "contract": 1, "name": "tiny", "license": "mit", "files": {"model": "model.onnx"},
        "input": {"size": size}, "clicks": {"encoding": "disks", "radius": 2}, "output": {"type": "logits"},
    }))
    return folder


class _Payload:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _run(cases: list, tmp_path: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, json.dumps(cases), str(tmp_path / "stores")], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_submissions_are_validated_without_torch(tmp_path):
    from safetensors.numpy import save_file

    from rclicks.models.onnx_contract import validate_submission

    folder = _onnx_folder(tmp_path / "tiny-onnx")
    validate_submission(folder)  # valid by the contract, checked here with everything installed
    st = tmp_path / "sam.safetensors"
    save_file({"image_encoder.w": np.zeros((2, 2), np.float32)}, str(st))
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps({"w": _Payload(str(marker))}))
    cases = [
        ["onnx-folder", str(folder), {}],
        ["sam-safetensors", str(st), {"kind": "sam", "config": {"variant": "vit_b"}}],
        ["sam-wrong-variant", str(st), {"kind": "sam", "config": {"variant": "hiera_t"}}],
        ["evil-pickle", str(evil), {"kind": "sam", "config": {"variant": "vit_b"}}],
    ]
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:  # files written by torch.save, validated where torch is absent
        from rclicks.models import ritm

        pt = tmp_path / "sam2.pt"
        torch.save({"model": {"w": torch.zeros(3), "b": torch.ones(2, dtype=torch.bfloat16)}}, pt)
        legacy = tmp_path / "legacy.pth"
        torch.save({"w": torch.zeros(2)}, legacy, _use_new_zipfile_serialization=False)
        rt = tmp_path / "coco_lvis_h18_itermask.pth"
        torch.save({"config": ritm.random_config("hrnet18"), "state_dict": {"w": torch.zeros(3)}}, rt)
        cases += [["sam2-pt", str(pt), {"kind": "sam2", "config": {"variant": "hiera_t"}}],
                  ["samhq-legacy-pth", str(legacy), {"kind": "samhq", "config": {"variant": "vit_b"}}],
                  ["ritm-pth", str(rt), {"kind": "ritm", "config": {"variant": "hrnet18"}}]]
    out = _run(cases, tmp_path)
    assert out["torch_importable"] is False and out["onnxruntime"] is False  # no torch, no onnxruntime session
    res = out["results"]
    assert res["onnx-folder"] == "queued onnx", res
    assert res["sam-safetensors"] == "queued sam", res
    assert "unknown variant of kind 'sam'; choose one of vit_b, vit_l, vit_h" in res["sam-wrong-variant"], res
    assert "cannot be loaded safely" in res["evil-pickle"] and "needs code to load" in res["evil-pickle"], res
    assert "system" in res["evil-pickle"] and not marker.exists()
    if torch is not None:
        assert res["sam2-pt"] == "queued sam2" and res["samhq-legacy-pth"] == "queued samhq", res
        assert res["ritm-pth"] == "queued ritm", res
    assert not any("torch" in r.lower() and "torch.load(weights_only=True)" not in r for r in res.values()), res


def test_checkpoint_scan_agrees_with_torch_load(tmp_path):
    """The torch-free reader sees the same tensors as ``torch.load(weights_only=True)`` and refuses what it refuses."""
    torch = pytest.importorskip("torch")
    from rclicks.errors import RClicksError
    from rclicks.models.checkpoint_scan import TensorInfo, scan_checkpoint, state_dict_tensors

    sd = {"a": torch.zeros(2, 3), "b": torch.nn.Parameter(torch.ones(4)), "c": torch.zeros(1, dtype=torch.float16)[0]}
    for zipped in (True, False):
        path = tmp_path / f"m{zipped}.pt"
        torch.save({"state_dict": sd, "epoch": 3, "names": ("x", b"y", None)}, path, _use_new_zipfile_serialization=zipped)
        tensors = state_dict_tensors(scan_checkpoint(path), path)
        loaded = torch.load(path, weights_only=True)["state_dict"]
        assert {k: v.shape for k, v in tensors.items()} == {k: tuple(t.shape) for k, t in loaded.items()}
        assert tensors["c"] == TensorInfo("Half", (), tensors["c"].storage)
    torch.save({"w": _Payload(str(tmp_path / "x"))}, tmp_path / "evil.pt")
    with pytest.raises(RClicksError, match="needs code to load .*system"):
        scan_checkpoint(tmp_path / "evil.pt")
    with pytest.raises(Exception):
        torch.load(tmp_path / "evil.pt", weights_only=True)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(RClicksError, match="junk.pt"):
        scan_checkpoint(tmp_path / "junk.pt")
    assert not (tmp_path / "x").exists()

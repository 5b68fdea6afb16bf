"""The ``ritm:`` adapters: RITM's own code path (equality with the package's ``evaluate_sample``),
the safe checkpoint loader, and RITM's ``Clicker`` as an independent reference for the baseline robot."""

from __future__ import annotations

import hashlib
import os
import pickle

import numpy as np
import pytest

from rclicks.errors import RClicksError
from rclicks import registry
from rclicks.models import ritm
from rclicks.registry import build_model
from rclicks.types import Click, Sample

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"), pytest.mark.filterwarnings("ignore::FutureWarning"),
              pytest.mark.filterwarnings("ignore::DeprecationWarning")]

VARIANTS = ("hrnet18", "hrnet18s", "hrnet32", "deeplab")


def _needs_package():
    pytest.importorskip("torch")
    pytest.importorskip("ritm_annotation")


# -- registry and safe loading (no network built) ---------------------------------------------

def test_variants_are_registered_single_mask_and_differentiable():
    entry = registry.MODELS["ritm"]
    assert entry.family == "ritm" and entry.differentiable and not entry.multimask and entry.submission == "ritm"
    for v in VARIANTS:
        assert registry.model_entry(f"ritm:{v}") == (entry, v)
        assert entry.checkpoints[v] == ritm.VARIANTS[v].filename
    with pytest.raises(RClicksError, match="needs a variant: ritm:hrnet18, ritm:hrnet18s"):
        build_model("ritm")
    with pytest.raises(RClicksError, match="unknown model 'ritm:hrnet99'"):
        build_model("ritm:hrnet99", checkpoint="random")


def test_models_list_shows_the_checkpoint_requirement(capsys):
    import json

    from rclicks.cli import main

    assert main(["models", "list", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert "coco_lvis_h18_itermask.pth" in rows["ritm:hrnet18"]["needs"]
    assert "ritm-annotation==0.12.2" in rows["ritm:hrnet32"]["needs"] and not rows["ritm:deeplab"]["multimask"]


def test_official_config_shapes_pass_the_allowlist():
    for v in VARIANTS:
        cls, params = ritm.check_config(ritm.random_config(v))
        assert cls == ritm.VARIANTS[v].cls
        ritm.check_variant(v, cls, params, "x")
    # the exact config ritm_annotation serialises (all defaults listed, norm_layer as a class path)
    official = {"class": "isegm.model.is_hrnet_model.HRNetModel", "params": {
        "width": {"type": "builtin", "value": 18, "specified": True},
        "ocr_width": {"type": "builtin", "value": 64, "specified": True},
        "norm_layer": {"type": "class", "value": "torch.nn.modules.batchnorm.BatchNorm2d", "specified": False},
        "norm_mean_std": {"type": "builtin", "value": ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]), "specified": False},
        "clicks_groups": {"type": "builtin", "value": None, "specified": False}}}
    assert ritm.check_config(official)[1]["norm_layer"] == "BatchNorm2d"
    with pytest.raises(RClicksError, match="use --model ritm:hrnet18"):
        ritm.check_variant("hrnet32", *ritm.check_config(official), "x.pth")


def _hostile(config_patch):
    cfg = ritm.random_config("hrnet18")
    config_patch(cfg)
    return cfg


@pytest.mark.parametrize("patch, key", [
    (lambda c: c.update({"class": "os.system"}), "config.class"),
    (lambda c: c.update({"class": "builtins.eval"}), "config.class"),
    (lambda c: c.update({"class": "isegm.model.is_hrnet_model.os.system"}), "config.class"),
    (lambda c: c["params"].update({"norm_layer": {"type": "class", "value": "os.system", "specified": True}}),
     "config.params.norm_layer"),
    (lambda c: c["params"].update({"width": {"type": "class", "value": "subprocess.Popen", "specified": True}}),
     "config.params.width"),
    (lambda c: c["params"].update({"cmd": {"type": "builtin", "value": "rm -rf /", "specified": True}}),
     "config.params.cmd"),
    (lambda c: c["params"].update({"width": {"type": "builtin", "value": "18; rm", "specified": True}}),
     "config.params.width"),
    (lambda c: c["params"].update({"clicks_groups": {"type": "builtin", "value": [1, 2], "specified": True}}),
     "config.params.clicks_groups"),
    (lambda c: c.update({"loader": "os.system"}), "config.loader"),
])
def test_hostile_configs_are_refused_naming_the_key(patch, key):
    with pytest.raises(RClicksError, match=key.replace(".", r"\.")):
        ritm.check_config(_hostile(patch), "evil.pth")


def _save(path, config, state=None):
    import torch

    torch.save({"config": config, "state_dict": state if state is not None else {"w": torch.zeros(2)}}, path)
    return path


def test_hostile_checkpoint_is_refused_before_anything_is_built(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    calls = []
    monkeypatch.setattr(ritm, "instantiate", lambda *a, **k: calls.append(a))
    evil = _save(tmp_path / "evil.pth", _hostile(lambda c: c.update({"class": "os.system"})))
    with pytest.raises(RClicksError, match="config.class.*os.system"):
        build_model("ritm:hrnet18", checkpoint=str(evil), device="cpu")
    assert calls == []  # refused before any class was looked up or built


class _Payload:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_pickle_payload_in_a_checkpoint_never_runs(tmp_path):
    torch = pytest.importorskip("torch")
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    torch.save({"config": _Payload(str(marker)), "state_dict": {"w": torch.zeros(1)}}, path)
    with pytest.raises(RClicksError, match="needs code to load"):
        ritm.validate_checkpoint(path, "hrnet18")
    (tmp_path / "raw.pth").write_bytes(pickle.dumps({"config": _Payload(str(marker))}))
    with pytest.raises(RClicksError):
        ritm.read_checkpoint(tmp_path / "raw.pth")
    assert not marker.exists()


def test_malformed_checkpoints_are_refused(tmp_path):
    torch = pytest.importorskip("torch")
    torch.save([{"config": ritm.random_config("hrnet18")}], tmp_path / "list.pth")
    with pytest.raises(RClicksError, match="multi-stage"):
        ritm.read_checkpoint(tmp_path / "list.pth")
    torch.save({"w": torch.zeros(1)}, tmp_path / "plain.pth")
    with pytest.raises(RClicksError, match="expected keys 'config' and 'state_dict'"):
        ritm.read_checkpoint(tmp_path / "plain.pth")
    torch.save({"config": ritm.random_config("hrnet18"), "state_dict": {"w": [1, 2]}}, tmp_path / "bad.pth")
    with pytest.raises(RClicksError, match="dict of tensors"):
        ritm.read_checkpoint(tmp_path / "bad.pth")


# -- equality with RITM's own evaluation ------------------------------------------------------

def _small(sample: Sample, factor: float = 0.5) -> Sample:
    """A bundled sample resized by ``factor`` (nearest-neighbour masks) to keep CPU tests short."""
    import cv2

    h, w = sample.mask.shape
    size = (int(w * factor), int(h * factor))
    near = lambda m: None if m is None else cv2.resize(m.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    return Sample(cv2.resize(sample.image, size, interpolation=cv2.INTER_AREA), near(sample.mask), sample.name,
                  sample.dataset, sample.instance_id, near(sample.ignore))


@pytest.fixture(scope="module")
def grabcut_small():
    from rclicks.data import load_dataset

    ds = load_dataset("grabcut")
    return [_small(ds[i]) for i in (0, 7)]


def _ritm_gt(sample: Sample) -> np.ndarray:
    gt = sample.mask.astype(np.int32)
    if sample.ignore is not None:
        gt[sample.ignore] = -1  # RITM's ignore label
    return gt


def compare_with_evaluate_sample(model, samples, max_clicks):
    """(clicks compared, max |IoU difference|): ``rclicks.evaluate`` + baseline vs RITM's ``evaluate_sample`` + ``Clicker``."""
    import rclicks
    from ritm_annotation.inference.evaluation import evaluate_sample
    from ritm_annotation.inference.predictors import get_predictor

    df = rclicks.evaluate(model, samples, "baseline", max_clicks=max_clicks, progress=False)
    zoom = {"target_size": model.zoom_in_target} if model.zoom_in else None
    reference = get_predictor(model.net, model.brs, model.device, prob_thresh=ritm.PRED_THRESH, zoom_in_params=zoom)
    n, worst = 0, 0.0
    for s in samples:
        clicks, ious, _ = evaluate_sample(s.image, _ritm_gt(s), reference, max_iou_thr=2.0, pred_thr=ritm.PRED_THRESH,
                                          max_clicks=max_clicks)
        rows = df[df["instance"] == s.instance].sort_values("click")
        theirs = [(bool(c.is_positive), int(c.coords[0]), int(c.coords[1])) for c in clicks]
        ours = list(zip(rows["positive"].astype(bool), rows["y"].astype(int), rows["x"].astype(int)))
        assert ours == theirs, s.instance
        worst = max(worst, float(np.abs(np.asarray(ious, np.float64) - rows["iou"].to_numpy(np.float64)).max()))
        n += len(theirs)
    assert worst <= 1e-6
    return n, worst


@pytest.mark.parametrize("zoom", [True, False], ids=["zoom_in", "no_zoom"])
@pytest.mark.parametrize("variant", [
    "hrnet18", "deeplab", pytest.param("hrnet18s", marks=pytest.mark.slow), pytest.param("hrnet32", marks=pytest.mark.slow)])
def test_adapter_is_ritm_evaluate_sample(variant, zoom, grabcut_small):
    """Same click sequences and IoUs (1e-6) as the package's evaluate_sample with its Clicker, on bundled images."""
    _needs_package()
    model = build_model(f"ritm:{variant}", checkpoint="random", device="cpu", zoom_in=zoom)
    samples = grabcut_small if variant == "hrnet18" and not zoom else grabcut_small[:1]
    n, worst = compare_with_evaluate_sample(model, samples, max_clicks=4)
    print(f"ritm:{variant} zoom_in={zoom}: {n} clicks identical, max IoU difference {worst:.2e}")


@pytest.mark.slow
def test_fbrs_b_is_ritm_evaluate_sample(grabcut_small):
    _needs_package()
    model = build_model("ritm:hrnet18s", checkpoint="random", device="cpu", brs="f-BRS-B")
    assert not model.differentiable and "brs=f-BRS-B" in model.weights_sha256
    compare_with_evaluate_sample(model, grabcut_small[:1], max_clicks=3)


def test_random_build_is_seeded_and_marked_in_every_row(grabcut_small):
    _needs_package()
    import rclicks

    a = build_model("ritm:deeplab", checkpoint="random", device="cpu", seed=3)
    b = build_model("ritm:deeplab", checkpoint="random", device="cpu", seed=3)
    for (ka, va), (kb, vb) in zip(a.net.state_dict().items(), b.net.state_dict().items()):
        assert ka == kb and np.array_equal(va.numpy(), vb.numpy())
    assert a.weights_id == "random-init:seed=3"
    df = rclicks.evaluate("ritm:deeplab", grabcut_small[:1], "baseline", max_clicks=2, progress=False,
                          model_kwargs={"checkpoint": "random", "device": "cpu", "zoom_in": False})
    assert df["model_sha256"].str.startswith("random-init:seed=0;ritm(brs=NoBRS,zoom_in=off").all()


def test_official_format_checkpoint_roundtrip(tmp_path, grabcut_small):
    """A file in RITM's format (isegm class path, config as the package serialises it) loads and predicts the same."""
    _needs_package()
    import torch

    model = build_model("ritm:hrnet18s", checkpoint="random", device="cpu", zoom_in=False, seed=1)
    config = dict(model.net._config, **{"class": "isegm.model.is_hrnet_model.HRNetModel"})
    path = _save(tmp_path / "coco_lvis_h18s_itermask.pth", config, model.net.state_dict())
    loaded = build_model("ritm:hrnet18s", checkpoint=str(path), device="cpu", zoom_in=False)
    assert loaded.weights_id == hashlib.sha256(path.read_bytes()).hexdigest()
    assert loaded.weights_sha256.endswith("prev_mask=True)")
    s = grabcut_small[0]
    clicks = [Click(60, 50, True)]
    for m in (model, loaded):
        m.set_image(s.image)
    np.testing.assert_array_equal(model.predict(clicks).prob, loaded.predict(clicks).prob)
    with pytest.raises(RClicksError, match="not ritm:hrnet18 .*use --model ritm:hrnet18s"):
        build_model("ritm:hrnet18", checkpoint=str(path), device="cpu")
    state = dict(model.net.state_dict())
    state.pop(next(iter(state)))
    _save(tmp_path / "short.pth", config, state)
    with pytest.raises(RClicksError, match="missing tensor"):
        build_model("ritm:hrnet18s", checkpoint=str(tmp_path / "short.pth"), device="cpu")
    state = dict(model.net.state_dict())
    key = next(k for k, v in state.items() if v.ndim == 4)
    state[key] = torch.zeros(1, 1, 1, 1)
    _save(tmp_path / "shape.pth", config, state)
    with pytest.raises(RClicksError, match="has shape"):
        build_model("ritm:hrnet18s", checkpoint=str(tmp_path / "shape.pth"), device="cpu")


def test_predict_is_a_function_of_its_arguments(grabcut_small):
    """Branching from a stored state (as the attacks do) gives what the straight run gave."""
    _needs_package()
    model = build_model("ritm:hrnet18", checkpoint="random", device="cpu")
    s = grabcut_small[1]
    model.set_image(s.image)
    c1, c2, c3 = Click(100, 60, True), Click(30, 20, False), Click(120, 90, True)
    p1 = model.predict([c1])
    p2 = model.predict([c1, c2], p1)
    p3 = model.predict([c1, c2, c3], p2)
    model.predict([c1, Click(5, 5, False)], p1)  # a different branch in between
    np.testing.assert_array_equal(model.predict([c1, c2, c3], p2).prob, p3.prob)
    np.testing.assert_array_equal(model.predict([c1]).prob, p1.prob)
    assert p3.threshold == ritm.PRED_THRESH and p3.candidates is None


# -- the white-box path ---------------------------------------------------------------------

def test_torch_logits_reproduce_predict_and_give_click_gradients(grabcut_small):
    _needs_package()
    import torch

    for zoom in (True, False):
        model = build_model("ritm:hrnet18", checkpoint="random", device="cpu", zoom_in=zoom)
        s = grabcut_small[0]
        model.set_image(s.image)
        first = model.predict([Click(120, 80, True)])
        second = model.predict([Click(120, 80, True), Click(40, 30, False)], first)
        coords = torch.tensor([[120.0, 80.0], [40.0, 30.0]], requires_grad=True)
        logits = model.torch_logits(coords, torch.tensor([1, 0]), first.state["low_res"])
        prob = torch.sigmoid(logits).detach().numpy()
        np.testing.assert_allclose(prob, second.prob, atol=1e-4)  # float64 vs RITM's float32 crop resize
        assert ((prob > model.thresh) != second.mask).mean() < 1e-4
        (logits * torch.linspace(0, 1, logits.shape[1])).mean().backward()
        assert all(p.grad is None for p in model.net.parameters())
        assert torch.isfinite(coords.grad).all()
        if not zoom:  # an untrained HRNet saturates (|logit| > 700) almost everywhere inside a zoomed crop
            assert coords.grad.abs().sum() > 0


def test_whitebox_attack_runs_on_ritm(grabcut_small):
    _needs_package()
    from rclicks.attacks.adversarial import attack_trajectory

    model = build_model("ritm:deeplab", checkpoint="random", device="cpu", zoom_in=False)
    traj, method = attack_trajectory(model, _small(grabcut_small[0], 0.5), "min", max_clicks=2, steps=2)
    assert method == "whitebox" and len(traj.clicks) == 2


# -- RITM's Clicker as the reference of our baseline robot ------------------------------------

def _random_case(rng: np.random.Generator):
    """A random (gt, ignore-labelled gt, prediction, earlier clicks) of a random size."""
    import cv2

    h, w = int(rng.integers(8, 48)), int(rng.integers(8, 48))
    def blobs(n):
        m = np.zeros((h, w), np.uint8)
        for _ in range(n):
            cv2.ellipse(m, (int(rng.integers(0, w)), int(rng.integers(0, h))),
                        (int(rng.integers(1, w)), int(rng.integers(1, h))), float(rng.uniform(0, 180)), 0, 360, 1, -1)
        return m > 0
    gt = blobs(int(rng.integers(0, 4)))
    kind = rng.integers(0, 4)
    if kind == 0:
        pred = np.zeros_like(gt)
    elif kind == 1:
        pred = gt ^ blobs(int(rng.integers(1, 3)))
    elif kind == 2:
        pred = rng.random((h, w)) < rng.uniform(0, 1)
    else:
        pred = gt.copy()  # no error at all: RITM's negative click at (0, 0)
    ignore = None
    if rng.random() < 0.4:
        ignore = (cv2.dilate(gt.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0) & ~(
            cv2.erode(gt.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)
    n_hist = int(rng.integers(0, 4))
    history = [Click(int(rng.integers(0, w)), int(rng.integers(0, h)), bool(rng.integers(0, 2))) for _ in range(n_hist)]
    return gt, ignore, pred, list(dict.fromkeys(history))


def test_baseline_robot_matches_ritm_clicker_on_random_masks():
    pytest.importorskip("ritm_annotation")
    from ritm_annotation.inference.clicker import Click as RClick
    from ritm_annotation.inference.clicker import Clicker

    from rclicks.clickers.baseline import baseline_click

    rng = np.random.default_rng(2024)
    n_masks, mismatches = 1500, []
    for i in range(n_masks):
        gt, ignore, pred, history = _random_case(rng)
        labelled = gt.astype(np.int32)
        if ignore is not None:
            labelled[ignore] = -1
        clicker = Clicker(gt_mask=labelled, init_clicks=[RClick(is_positive=c.positive, coords=(c.y, c.x)) for c in history])
        theirs = clicker._get_next_click(pred)
        ours = baseline_click(gt & (labelled != -1), pred, None if ignore is None else ~ignore, history)
        if (bool(theirs.is_positive), int(theirs.coords[0]), int(theirs.coords[1])) != (ours.positive, ours.y, ours.x):
            mismatches.append(i)
    print(f"baseline robot vs RITM Clicker: {n_masks} random masks, {len(mismatches)} mismatches")
    assert mismatches == []

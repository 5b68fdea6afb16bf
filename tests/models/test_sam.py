"""SAM adapter: prompt plumbing, embedding reuse, mask feedback and multi-mask policies.

Fast tests use a real ``segment_anything`` network with small hyper-parameters (same
classes, 1024-pixel input, 64×64 embedding, 256×256 low-res masks); the slow test uses
``sam_model_registry['vit_b'](checkpoint=None)`` itself. What reaches the network is
observed with torch hooks on the package's own modules, independently of the adapter.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest

torch = pytest.importorskip("torch")
segment_anything = pytest.importorskip("segment_anything")

from segment_anything import SamPredictor
from segment_anything.modeling import (
    ImageEncoderViT,
    MaskDecoder,
    PromptEncoder,
    Sam,
    TwoWayTransformer,
)

from rclicks.errors import RClicksError
from rclicks.models.multimask import apply_policy, wants_multimask
from rclicks.models.sam import SamPredictorModel, build_sam
from rclicks.types import Click


def tiny_sam(seed: int = 0) -> Sam:
    """A real SAM (segment_anything classes) with tiny widths, so an encoder call takes milliseconds."""
    torch.manual_seed(seed)
    dim = 32
    encoder = ImageEncoderViT(img_size=1024, patch_size=16, embed_dim=32, depth=1, num_heads=1, mlp_ratio=2.0,
                              out_chans=dim, qkv_bias=True, norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
                              window_size=8, global_attn_indexes=())
    prompt = PromptEncoder(embed_dim=dim, image_embedding_size=(64, 64), input_image_size=(1024, 1024), mask_in_chans=8)
    decoder = MaskDecoder(num_multimask_outputs=3, transformer=TwoWayTransformer(depth=1, embedding_dim=dim,
                                                                                   mlp_dim=64, num_heads=2),
                          transformer_dim=dim, iou_head_depth=2, iou_head_hidden_dim=32)
    return Sam(encoder, prompt, decoder, pixel_mean=[123.675, 116.28, 103.53],
               pixel_std=[58.395, 57.12, 57.375]).eval()


class Spy:
    """Records calls to a torch module: counts, and the prompt encoder's points/masks arguments."""

    def __init__(self, module: torch.nn.Module) -> None:
        self.calls: list[dict] = []
        module.register_forward_pre_hook(self._hook, with_kwargs=True)

    def _hook(self, module, args, kwargs):
        self.calls.append({"args": args, "kwargs": dict(kwargs)})


def make_model(mask_feedback: bool = True):
    net = tiny_sam()
    model = SamPredictorModel(net, SamPredictor, name="sam:tiny", weights_sha256="test", device=torch.device("cpu"),
                              dtype=torch.float32, mask_feedback=mask_feedback)
    return model, net


@pytest.fixture
def image():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(60, 100, 3), dtype=np.uint8)  # H=60, W=100


def test_coordinates_are_x_column_y_row_scaled_by_resize_longest_side(image):
    model, net = make_model()
    spy = Spy(net.prompt_encoder)
    model.set_image(image)
    model.predict([Click(30, 10, True), Click(99, 59, False)])
    coords, labels = spy.calls[-1]["kwargs"]["points"]
    # ResizeLongestSide(1024) on 60×100: new size (h, w) = (int(60*10.24 + .5), 1024) = (614, 1024)
    expected = np.array([[[30 * 1024 / 100, 10 * 614 / 60], [99 * 1024 / 100, 59 * 614 / 60]]], np.float32)
    np.testing.assert_allclose(coords.numpy(), expected, rtol=1e-6)
    assert labels.tolist() == [[1, 0]]  # positive → 1, negative → 0


def test_every_prompt_holds_all_clicks_and_feeds_back_low_res_logits(image):
    model, net = make_model()
    spy = Spy(net.prompt_encoder)
    model.set_image(image)
    clicks = [Click(50, 30, True), Click(5, 5, False), Click(80, 40, True)]
    first = model.predict(clicks[:1])
    assert spy.calls[-1]["kwargs"]["masks"] is None
    assert first.state["low_res"].shape == (1, 256, 256)
    second = model.predict(clicks[:2], first)
    fed = spy.calls[-1]["kwargs"]["masks"]
    assert tuple(fed.shape) == (1, 1, 256, 256)
    np.testing.assert_array_equal(fed.numpy()[0], first.state["low_res"])
    assert spy.calls[-1]["kwargs"]["points"][0].shape == (1, 2, 2)
    model.predict(clicks, second)
    assert spy.calls[-1]["kwargs"]["points"][0].shape == (1, 3, 2)

    off, net_off = make_model(mask_feedback=False)
    spy_off = Spy(net_off.prompt_encoder)
    off.set_image(image)
    off.predict(clicks[:2], off.predict(clicks[:1]))
    assert spy_off.calls[-1]["kwargs"]["masks"] is None


def test_prob_is_sigmoid_of_the_package_logits_and_mask_matches_its_threshold(image):
    model, net = make_model()
    model.set_image(image)
    clicks = [Click(50, 30, True), Click(5, 5, False)]
    pred = model.predict(clicks)
    ref = SamPredictor(net)  # independent use of the official predictor
    ref.set_image(image)
    logits, _, _ = ref.predict(np.array([[50, 30], [5, 5]]), np.array([1, 0]), multimask_output=False, return_logits=True)
    masks, _, _ = ref.predict(np.array([[50, 30], [5, 5]]), np.array([1, 0]), multimask_output=False)
    np.testing.assert_allclose(pred.prob, 1.0 / (1.0 + np.exp(-logits[0].astype(np.float64))), atol=1e-6)
    np.testing.assert_array_equal(pred.mask, masks[0])
    assert pred.prob.dtype == np.float32 and pred.prob.shape == (60, 100)


def test_embedding_is_computed_once_per_image(image):
    model, net = make_model()
    spy = Spy(net.image_encoder)
    other = image[::-1].copy()
    model.set_image(image)
    pred = None
    for k in range(1, 6):
        pred = model.predict([Click(10 * k, 5 * k, k % 2 == 1) for _ in range(1)], pred)
    model.set_image(image.copy())  # a second trajectory on the same pixels
    model.predict([Click(1, 1, True)])
    assert len(spy.calls) == 1 and model.encoder_calls == 1
    model.set_image(other)
    assert len(spy.calls) == 2
    model.set_image(image)  # still in the LRU cache
    assert len(spy.calls) == 2 and model.encoder_calls == 2


def test_multimask_returns_candidates_and_policies_pick_what_they_claim(image):
    model, net = make_model()
    spy = Spy(net.prompt_encoder)
    model.set_image(image)
    clicks = [Click(50, 30, True)]
    pred = model.predict(clicks, multimask=True)
    assert pred.candidates.shape == (3, 60, 100) and pred.candidates.dtype == np.float32
    assert pred.scores.shape == (3,)
    assert pred.state["low_res"].shape == (3, 1, 256, 256)
    best = int(np.argmax(pred.scores))
    np.testing.assert_array_equal(pred.prob, pred.candidates[best])

    # score policy: highest predicted IoU
    by_score = apply_policy(pred, "score", np.zeros((60, 100), bool), None, 1)
    np.testing.assert_array_equal(by_score.prob, pred.candidates[best])

    # oracle policy: best IoU against a gt equal to one non-best candidate's mask
    masks = pred.candidates > 0.5
    target = next((k for k in range(3) if k != best and not np.array_equal(masks[k], masks[best])), None)
    if target is None:
        pytest.skip("random network produced identical candidate masks")
    gt = masks[target]
    naive_iou = [np.logical_and(gt, m).sum() / max(np.logical_or(gt, m).sum(), 1) for m in masks]
    chosen = apply_policy(pred, "oracle", gt, None, 1)
    np.testing.assert_array_equal(chosen.prob, pred.candidates[int(np.argmax(naive_iou))])

    # the chosen candidate's logits are what gets fed back on the next click
    model.predict([Click(50, 30, True), Click(5, 5, False)], chosen)
    fed = spy.calls[-1]["kwargs"]["masks"].numpy()[0]
    np.testing.assert_array_equal(fed, pred.state["low_res"][int(np.argmax(naive_iou))])
    # and also when a policy swapped prob without slicing the state
    from dataclasses import replace

    swapped = replace(pred, prob=pred.candidates[target])
    model.predict([Click(50, 30, True), Click(5, 5, False)], swapped)
    np.testing.assert_array_equal(spy.calls[-1]["kwargs"]["masks"].numpy()[0], pred.state["low_res"][target])


def test_sam_rule_asks_multimask_for_the_first_click_only(image, grabcut):
    from rclicks.registry import build_clicker
    from rclicks.runner import run_trajectory

    model, net = make_model()
    flags = []
    net.mask_decoder.register_forward_pre_hook(
        lambda m, a, kw: flags.append(kw["multimask_output"]), with_kwargs=True)
    sample = grabcut[0]
    run_trajectory(model, sample, build_clicker("baseline"), max_clicks=3, rng=np.random.default_rng(0), policy="sam")
    assert flags == [True, False, False]
    assert [wants_multimask("sam", n) for n in (1, 2)] == [True, False]


def test_bad_calls_raise_clear_errors(image):
    model, _ = make_model()
    with pytest.raises(RClicksError, match="set_image"):
        model.predict([Click(1, 1, True)])
    model.set_image(image)
    with pytest.raises(RClicksError, match="outside"):
        model.predict([Click(100, 10, True)])  # x == W is outside
    with pytest.raises(RClicksError, match="at least one click"):
        model.predict([])
    with pytest.raises(RClicksError, match="unknown variant"):
        build_sam("vit_x", checkpoint="random")


def test_torch_logits_match_predict_and_their_gradients_match_finite_differences(image, check_torch_logits):
    model, _ = make_model()
    model.set_image(image)
    check_torch_logits(model, (30.0, 10.0), (70.0, 40.0), step=0.1)


def test_whitebox_attack_runs_through_the_sam_adapter(image):
    from rclicks.attacks.adversarial import attack_trajectory, is_valid
    from rclicks.metrics.mask import iou
    from rclicks.types import Sample

    model, _ = make_model()
    mask = np.zeros(image.shape[:2], bool)
    mask[15:45, 25:75] = True
    sample = Sample(image=image, mask=mask, name="rect", dataset="toy", instance_id=0)
    for direction in ("min", "max"):
        traj, used = attack_trajectory(model, sample, direction, max_clicks=2)
        assert used == "whitebox" and model.differentiable
        prev, pred = None, np.zeros_like(mask)
        for k, click in enumerate(traj.clicks):
            assert is_valid(click, sample, pred, traj.clicks[:k]), (direction, k, click)
            prev = model.predict(traj.clicks[: k + 1], prev)
            pred = prev.mask
            assert traj.ious[k] == pytest.approx(iou(mask, pred))
    assert model.encoder_calls == 1


def test_missing_checkpoint_says_how_to_get_one(tmp_path, monkeypatch):
    monkeypatch.setenv("RCLICKS_CACHE", str(tmp_path))
    with pytest.raises(RClicksError, match=r"--checkpoint PATH.*sam_vit_b_01ec64\.pth"):
        build_sam("vit_b")
    with pytest.raises(RClicksError, match="not found"):
        build_sam("vit_b", checkpoint=str(tmp_path / "nope.pth"))


@pytest.mark.slow
def test_random_vit_b_from_the_registry_encodes_once_per_trajectory(grabcut):
    """The real ``sam_model_registry['vit_b'](checkpoint=None)`` network behind ``build_model``."""
    from rclicks.registry import build_clicker
    from rclicks.runner import run_trajectory
    from rclicks.registry import build_model

    model = build_model("sam:vit_b", checkpoint="random", device="cpu")
    assert model.name == "sam:vit_b" and model.weights_sha256 == "random-init:seed=0"
    assert type(model.net.image_encoder).__name__ == "ImageEncoderViT" and len(model.net.image_encoder.blocks) == 12
    spy = Spy(model.net.image_encoder)
    sample = grabcut[0]
    traj = run_trajectory(model, sample, build_clicker("baseline"), max_clicks=4, rng=np.random.default_rng(0),
                          policy="score")
    run_trajectory(model, sample, build_clicker("gto99"), max_clicks=2, rng=np.random.default_rng(1))
    assert len(traj) == 4 and len(spy.calls) == 1 and model.encoder_calls == 1


def test_batched_prompts_equal_one_by_one(image):
    model, _net = make_model()
    model.set_image(image)
    prompts = [[Click(10, 10, True)], [Click(50, 30, True), Click(5, 5, False)], [Click(99, 0, True)],
               [Click(70, 40, False), Click(20, 50, True)]]
    for multimask in (False, True):
        batched = model.predict_many(prompts, multimask=multimask, batch_size=3)
        for clicks, got in zip(prompts, batched):
            ref = model.predict(clicks, multimask=multimask)
            np.testing.assert_allclose(got.prob, ref.prob, atol=1e-5)
            np.testing.assert_allclose(got.state["low_res"], ref.state["low_res"], atol=1e-4)
            if multimask:
                np.testing.assert_allclose(got.scores, ref.scores, atol=1e-5)

"""SAM 2 adapter with the package's smallest config (``sam2.1_hiera_t``, random weights).

Observed through torch hooks on the package's own modules. One Hiera-T encoder call
takes ~10 s on 2 CPU cores, so the module is marked slow (it still runs in CI).
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("sam2")

from rclicks.models.multimask import apply_policy
from rclicks.types import Click

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::FutureWarning"),
              pytest.mark.filterwarnings("ignore::UserWarning")]


class Spy:
    def __init__(self, module):
        self.calls = []
        module.register_forward_pre_hook(lambda m, a, kw: self.calls.append(dict(kw, _args=a)), with_kwargs=True)


@pytest.fixture(scope="module")
def setup():
    from rclicks.registry import build_model

    model = build_model("sam2.1:hiera_t", checkpoint="random", device="cpu")
    image = np.random.default_rng(0).integers(0, 256, size=(60, 100, 3), dtype=np.uint8)
    encoder = Spy(model.net.image_encoder)
    prompt = Spy(model.net.sam_prompt_encoder)
    model.set_image(image)
    return model, image, encoder, prompt


def test_built_from_the_package_config(setup):
    model, *_ = setup
    assert model.name == "sam2.1:hiera_t" and model.weights_sha256 == "random-init:seed=0"
    assert type(model.net).__name__ == "SAM2Base"


def test_prompt_plumbing_coordinates_labels_and_feedback(setup):
    model, _image, _, prompt = setup
    first = model.predict([Click(30, 10, True)])
    assert prompt.calls[-1]["masks"] is None
    second = model.predict([Click(30, 10, True), Click(99, 59, False)], first)
    coords, labels = prompt.calls[-1]["points"]
    # SAM 2 normalises by (W, H) and scales to its 1024 input: x/W·1024, y/H·1024
    np.testing.assert_allclose(coords.numpy(), [[[30 / 100 * 1024, 10 / 60 * 1024],
                                                 [99 / 100 * 1024, 59 / 60 * 1024]]], rtol=1e-5)
    assert labels.tolist() == [[1, 0]]
    fed = prompt.calls[-1]["masks"]
    assert tuple(fed.shape) == (1, 1, 256, 256)
    np.testing.assert_allclose(fed.numpy()[0], first.state["low_res"], atol=1e-6)
    assert second.prob.shape == (60, 100) and second.prob.dtype == np.float32


def test_prob_matches_the_official_predictor(setup):
    from sam2.sam2_image_predictor import SAM2ImagePredictor

    model, image, *_ = setup
    pred = model.predict([Click(50, 30, True), Click(5, 5, False)])
    ref = SAM2ImagePredictor(model.net)
    with torch.inference_mode():
        ref.set_image(image)
        logits, _, _ = ref.predict(np.array([[50, 30], [5, 5]]), np.array([1, 0]), multimask_output=False,
                                   return_logits=True)
    np.testing.assert_allclose(pred.prob, 1 / (1 + np.exp(-logits[0].astype(np.float64))), atol=1e-5)


def test_multimask_and_selected_candidate_feedback(setup):
    model, _image, _, prompt = setup
    pred = model.predict([Click(50, 30, True)], multimask=True)
    assert pred.candidates.shape == (3, 60, 100) and pred.scores.shape == (3,)
    assert pred.state["low_res"].shape == (3, 1, 256, 256)
    np.testing.assert_array_equal(pred.prob, pred.candidates[int(np.argmax(pred.scores))])
    worst = int(np.argmin(pred.scores))
    gt = pred.candidates[worst] > 0.5
    chosen = apply_policy(pred, "oracle", gt, None, 1)
    ious = [np.logical_and(gt, c > 0.5).sum() / max(np.logical_or(gt, c > 0.5).sum(), 1) for c in pred.candidates]
    k = int(np.argmax(ious))
    np.testing.assert_array_equal(chosen.prob, pred.candidates[k])
    model.predict([Click(50, 30, True), Click(5, 5, False)], chosen)
    np.testing.assert_allclose(prompt.calls[-1]["masks"].numpy()[0], pred.state["low_res"][k], atol=1e-6)


def test_embedding_once_per_image(setup):
    model, image, encoder, _ = setup
    before = len(encoder.calls)
    pred = None
    for k in range(1, 4):
        pred = model.predict([Click(10 * k, 5 * k, True)], pred)
    model.set_image(image.copy())
    assert len(encoder.calls) == before and model.encoder_calls == 1
    model.set_image(image[:, ::-1].copy())
    model.set_image(image)
    assert len(encoder.calls) == before + 1 and model.encoder_calls == 2


def test_batched_prompts_equal_one_by_one(setup):
    model, *_ = setup
    prompts = [[Click(10, 10, True)], [Click(50, 30, True)], [Click(50, 30, True), Click(5, 5, False)]]
    for got, clicks in zip(model.predict_many(prompts, multimask=True), prompts):
        ref = model.predict(clicks, multimask=True)
        np.testing.assert_allclose(got.prob, ref.prob, atol=1e-4)
        np.testing.assert_allclose(got.scores, ref.scores, atol=1e-4)


def test_torch_logits_match_predict_and_their_gradients_match_finite_differences(setup, check_torch_logits):
    model, *_ = setup
    # the random Hiera-T logit surface is curved: 0.1 px steps are too coarse for central differences
    check_torch_logits(model, (50.0, 30.0), (10.0, 50.0), step=0.01)

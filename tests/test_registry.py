"""The one registry: typed entries whose declared parameters, variants and needs are those of the implementations."""

from __future__ import annotations

import inspect

import pytest

from rclicks import registry
from rclicks.errors import RClicksError
from rclicks.models import minisam, onnx_model, sam2


def _keywords(fn) -> tuple[set[str], bool]:
    """Keyword parameters of ``fn`` (minus ``self``/``variant``) and whether it takes ``**kwargs``."""
    params = inspect.signature(fn).parameters.values()
    names = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)} - {"self", "variant"}
    return names, any(p.kind is p.VAR_KEYWORD for p in params)


#: Factories that forward ``**kwargs``: the function their keywords end up in, and the names they add or consume.
FORWARDED = {
    "sam2.1": (sam2.build_sam2, {"version"}, set()),
    "minisam-torch": (minisam.MiniSAM.__init__, set(), set()),
    "onnx": (onnx_model.OnnxContractModel.__init__, {"folder"}, {"folder", "checkpoint"}),
}
#: Factory parameters an entry withholds on purpose (``sam2``'s release is the entry, not an option).
WITHHELD = {"sam2": {"version"}}


@pytest.mark.parametrize("entry", [*registry.MODELS.values(), *registry.CLICKERS.values(), *registry.CLICKMAPS.values()],
                         ids=lambda e: f"{e.kind}:{e.name}")
def test_declared_params_are_the_factorys(entry):
    names, open_ended = _keywords(entry.factory)
    if entry.name in FORWARDED and entry.kind == "model":
        target, consumed, added = FORWARDED[entry.name]
        inner, _ = _keywords(target)
        names = (names - {"folder", "checkpoint"}) | (inner - consumed) | added
        open_ended = False
    assert not open_ended, f"{entry.name}: a factory taking **kwargs needs its target in FORWARDED"
    assert set(entry.params) == names - WITHHELD.get(entry.name, set()), entry.name
    assert len(entry.params) == len(set(entry.params))


def test_unknown_parameters_are_refused_in_one_line_listing_the_accepted_ones():
    with pytest.raises(RClicksError, match=r"^model 'grabcut' does not accept 'bogus'; it accepts: box_margin, "
                                           r"iterations, max_side, radius$"):
        registry.build_model("grabcut", bogus=1)
    with pytest.raises(RClicksError, match="model 'sam:vit_b' does not accept 'threads'; it accepts: checkpoint"):
        registry.build_model("sam:vit_b", threads=2)
    with pytest.raises(RClicksError, match="clicker 'baseline' does not accept 'clickmap'; it accepts: no options"):
        registry.build_clicker("baseline", clickmap="uniform")
    with pytest.raises(RClicksError, match="clickmap 'uniform' does not accept 'path'"):
        registry.build_clickmap("uniform", path="x")
    from rclicks.registry import build_model

    with pytest.raises(RClicksError, match="does not accept 'radiuss'"):
        build_model("random_walker", radiuss=3)  # the package functions delegate to the registry


def test_names_resolve_to_entries_and_variants():
    sam = registry.MODELS["sam"]
    assert registry.model_entry("sam") == (sam, None) and registry.model_entry("sam:vit_l") == (sam, "vit_l")
    assert registry.model_entry("onnx:/some/folder") == (registry.MODELS["onnx"], "/some/folder")
    with pytest.raises(RClicksError, match="unknown model 'sam:hiera_t': unknown variant; choose one of vit_b, vit_l"):
        registry.model_entry("sam:hiera_t")
    with pytest.raises(RClicksError, match="model 'grabcut' has no variants"):
        registry.model_entry("grabcut:x")
    with pytest.raises(RClicksError, match="unknown model 'nope'; known models: grabcut, minisam"):
        registry.model_entry("nope")
    with pytest.raises(RClicksError, match="unknown clicker 'nope'; known clickers: baseline"):
        registry.build_clicker("nope")
    with pytest.raises(RClicksError, match="unknown click map 'nope'; known click maps: distance"):
        registry.build_clickmap("nope")
    assert sam.names() == ["sam:vit_b", "sam:vit_l", "sam:vit_h"] and registry.MODELS["onnx"].names() == ["onnx:DIR"]


def test_protocol_options_reach_only_the_clickers_that_declare_them():
    opts = {"clickmap": "uniform", "blur": True}
    assert registry.CLICKERS["baseline"].accepted(opts) == {}
    assert registry.CLICKERS["g3"].accepted(opts) == opts
    assert registry.model_accepts("minisam", "threads") and registry.model_accepts("onnx:/x", "threads")
    assert not registry.model_accepts("sam:vit_b", "threads") and not registry.model_accepts("no-such", "threads")


def test_capabilities_are_declared_and_consistent():
    m = registry.MODELS
    assert m["minisam"].capabilities == registry.Capabilities(multimask=True, needs_weights=True)
    assert m["minisam-torch"].differentiable and m["sam"].differentiable and not m["minisam"].differentiable
    assert m["grabcut"].weight_free and not m["grabcut"].multimask
    assert m["onnx"].capabilities.proposes_clicks and m["onnx"].given
    assert registry.CLICKMAPS["saliency"].weights == ("u2netp",) and registry.CLICKMAPS["distance"].weight_free
    assert all(e.stochastic for n, e in registry.CLICKERS.items() if n.startswith("g") and n != "gto99")
    with pytest.raises(ValueError, match="needs_weights must be True"):
        registry.Entry("model", "x", lambda: None, "x", weights=("minisam",))
    with pytest.raises(ValueError, match="checkpoints must name exactly its variants"):
        registry.Entry("model", "x", lambda: None, "x", checkpoints={"a": "a.pt"},
                       capabilities=registry.Capabilities(needs_weights=True))


def test_submission_kinds_come_from_the_registry():
    from rclicks_leaderboard.requests import KINDS
    from rclicks_leaderboard.submit import RITM_KINDS, SAM_KINDS

    assert SAM_KINDS == ("sam", "sam2", "sam2.1", "mobilesam", "samhq") and RITM_KINDS == ("ritm",)
    assert set(KINDS) == {"onnx", *SAM_KINDS, *RITM_KINDS, "builtin"}


def test_the_registry_is_the_only_lookup():
    """The packages hold implementations and their protocols only; building and listing go through rclicks.registry."""
    import rclicks.clickers
    import rclicks.clickmaps
    import rclicks.models

    for pkg, names in ((rclicks.models, ("build_model", "available_models", "register_model", "ModelSpec")),
                       (rclicks.clickers, ("build_clicker", "available_clickers", "register_clicker", "ClickerSpec")),
                       (rclicks.clickmaps, ("build_clickmap", "available_clickmaps", "register_clickmap"))):
        assert not any(hasattr(pkg, n) for n in names), pkg.__name__
    assert registry.build_clicker("g2", clickmap="uniform").name == "g2@uniform"


def test_a_proposer_suffix_builds_the_pseudoclick_variant(minisam_dir):
    """``NAME+disagreement`` is the model wrapped in the click proposer: the same rows as ``evaluate(..., proposer=)``."""
    import pandas as pd

    from rclicks.data import load_dataset
    from rclicks.models.proposer import DisagreementProposer
    from rclicks.runner import evaluate

    assert registry.split_proposer("minisam+disagreement") == ("minisam", "disagreement")
    assert registry.split_proposer("onnx:/tmp/a+b") == ("onnx:/tmp/a+b", None)  # a path's '+' is not a proposer
    m = registry.build_model("minisam+disagreement")
    assert isinstance(m, DisagreementProposer) and m.name == "minisam+disagreement" and m.proposes_clicks
    with pytest.raises(RClicksError, match="one mask.*multi-mask models: .*minisam"):
        registry.build_model("random_walker+disagreement")
    sample = load_dataset("grabcut")[0]
    named = evaluate("minisam+disagreement", [sample], ["baseline"], max_clicks=2, progress=False)
    wrapped = evaluate("minisam", [sample], ["baseline"], max_clicks=2, proposer="disagreement", progress=False)
    assert (named["source"] == "model").any() and set(named["model"]) == {"minisam+disagreement"}
    cols = ["model", "click", "x", "y", "positive", "iou", "source"]
    pd.testing.assert_frame_equal(named[cols].astype(str), wrapped[cols].astype(str))

"""The ONNX validator walks every graph: external data and custom domains hidden in Constant nodes,
Loop/If subgraphs, local functions and sparse initializers (and onnxruntime's in-memory marker)
are refused with a message naming the node, before onnxruntime sees the file."""

from __future__ import annotations

import pytest

pytest.importorskip("onnx")

from rclicks.errors import RClicksError
from rclicks.models.onnx_contract import validate_submission
from tests.hostile_models import hidden_model


@pytest.mark.parametrize("where, needle", [
    ("constant", "node 'evil_constant' (Constant) attribute 'value': external data location '../../../etc/passwd'"),
    ("loop", "node 'evil_loop' (Loop) subgraph 'body': initializer 'bias': external data"),
    ("sparse", "sparse initializer 'sv': external data location"),
    ("ort_mem", "_ORT_MEM_ADDR_"),
    ("if_custom", "_branch': node 'evil_"),
    ("function", "function local.fns.Helper node 'inside_fn' (RunMyCode) uses custom operator domain 'com.example.evil'"),
])
def test_hidden_problems_are_refused_naming_the_node(tmp_path, where, needle):
    folder = hidden_model(tmp_path / where, where)
    with pytest.raises(RClicksError) as info:
        validate_submission(folder)
    assert needle in str(info.value)
    if where == "if_custom":
        assert "node 'evil_if' (If) subgraph" in str(info.value) and "custom operator domain" in str(info.value)


def test_absolute_location_in_a_subgraph_is_refused(tmp_path):
    with pytest.raises(RClicksError, match="leaves the submission folder"):
        validate_submission(hidden_model(tmp_path / "abs", "loop", location="/etc/passwd"))

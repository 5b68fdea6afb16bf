"""Hostile ONNX-contract submissions built inside the tests (no files shipped): a Loop that never ends,
an output of 50000² floats, external data and custom domains hidden in subgraphs, functions and constants."""

from __future__ import annotations

import json
from pathlib import Path
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
S = 32
def manifest():
    return {"contract": 1, "name": "hostile", "license": "MIT", "files": {"model": "model.onnx"},
            "input": {"size": S, "resize": "longest_side", "mean": [0, 0, 0], "std": [255, 255, 255]},
            "clicks": {"encoding": "disks", "radius": 3}, "previous_mask": "none",
            "output": {"type": "logits", "size": "input"}, "io": {"masks": "mask"}}
def io():
    return [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, S, S]),
            helper.make_tensor_value_info("click_maps", TensorProto.FLOAT, [1, 2, S, S])]
def save(folder, nodes, out_shape, inits=()):
    folder = Path(folder); folder.mkdir(parents=True, exist_ok=True)
    g = helper.make_graph(nodes, "g", io(), [helper.make_tensor_value_info("mask", TensorProto.FLOAT, out_shape)], initializer=list(inits))
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), folder / "model.onnx")
    (folder / "rclicks.json").write_text(json.dumps(manifest()))
    return folder
def loop_model(folder, trips=10**12):
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]), helper.make_node("Identity", ["v_in"], ["v_out"])], "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []), helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_in", TensorProto.FLOAT, [1, 2, S, S])],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []), helper.make_tensor_value_info("v_out", TensorProto.FLOAT, [1, 2, S, S])])
    inits = [numpy_helper.from_array(np.array(trips, np.int64), "M"), numpy_helper.from_array(np.array(True), "C"),
             numpy_helper.from_array(np.array([0], np.int64), "s"), numpy_helper.from_array(np.array([1], np.int64), "e"),
             numpy_helper.from_array(np.array([1], np.int64), "a")]
    nodes = [helper.make_node("Loop", ["M", "C", "click_maps"], ["v"], body=body),
             helper.make_node("Slice", ["v", "s", "e", "a"], ["mask"])]
    return save(folder, nodes, [1, 1, S, S], inits)
def huge_output_model(folder, side=50000):
    inits = [numpy_helper.from_array(np.array([1, 1, side, side], np.int64), "shape")]
    nodes = [helper.make_node("ConstantOfShape", ["shape"], ["mask"], value=numpy_helper.from_array(np.array([0.5], np.float32)))]
    return save(folder, nodes, [1, 1, side, side], inits)

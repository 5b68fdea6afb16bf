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


def _external(name: str, location: str, dims=(1,)) -> "onnx.TensorProto":
    t = onnx.TensorProto(name=name, data_type=TensorProto.FLOAT, dims=list(dims), data_location=TensorProto.EXTERNAL)
    t.external_data.add(key="location", value=location)
    return t


def _passthrough() -> list:
    """Nodes producing ``mask`` [1,1,S,S] from ``click_maps`` (the contract's output)."""
    return [helper.make_node("Slice", ["click_maps", "s0", "e1", "a1"], ["mask"])]


def _slice_inits() -> list:
    return [numpy_helper.from_array(np.array([0], np.int64), "s0"), numpy_helper.from_array(np.array([1], np.int64), "e1"),
            numpy_helper.from_array(np.array([1], np.int64), "a1")]


def hidden_model(folder, where: str, location: str = "../../../etc/passwd"):
    """A contract folder whose only problem is hidden in ``where``: constant, loop, function, sparse, ort_mem, if_custom."""
    nodes, inits, functions, sparse = _passthrough(), _slice_inits(), [], []
    if where == "constant":
        nodes.append(helper.make_node("Constant", [], ["k"], name="evil_constant", value=_external("kv", location)))
    elif where == "ort_mem":
        inits.append(_external("w", "*/_ORT_MEM_ADDR_/*"))
    elif where == "sparse":
        sp = onnx.SparseTensorProto(values=_external("sv", location), indices=numpy_helper.from_array(np.array([0], np.int64), "si"),
                                    dims=[4])
        sparse.append(sp)
    elif where in ("loop", "if_custom"):
        if where == "loop":
            inner = [helper.make_node("Identity", ["cond_in"], ["cond_out"]),
                     helper.make_node("Add", ["v_in", "bias"], ["v_out"], name="inner_add")]
            body = helper.make_graph(inner, "body",
                                     [helper.make_tensor_value_info("i", TensorProto.INT64, []),
                                      helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
                                      helper.make_tensor_value_info("v_in", TensorProto.FLOAT, [1])],
                                     [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
                                      helper.make_tensor_value_info("v_out", TensorProto.FLOAT, [1])],
                                     initializer=[_external("bias", location)])
            inits += [numpy_helper.from_array(np.array(1, np.int64), "M"), numpy_helper.from_array(np.array(True), "C"),
                      numpy_helper.from_array(np.zeros(1, np.float32), "v0")]
            nodes.append(helper.make_node("Loop", ["M", "C", "v0"], ["v"], name="evil_loop", body=body))
        else:
            branch = lambda n: helper.make_graph(  # noqa: E731
                [helper.make_node("RunMyCode", [], [f"o{n}"], domain="com.example.evil", name=f"evil_{n}")], f"b{n}", [],
                [helper.make_tensor_value_info(f"o{n}", TensorProto.FLOAT, [1])])
            inits.append(numpy_helper.from_array(np.array(True), "C"))
            nodes.append(helper.make_node("If", ["C"], ["r"], name="evil_if", then_branch=branch(0), else_branch=branch(1)))
    elif where == "function":
        body = [helper.make_node("RunMyCode", ["x"], ["y"], domain="com.example.evil", name="inside_fn")]
        functions.append(helper.make_function("local.fns", "Helper", ["x"], ["y"], body,
                                              [helper.make_opsetid("", 17), helper.make_opsetid("com.example.evil", 1)]))
        nodes.append(helper.make_node("Helper", ["click_maps"], ["h"], domain="local.fns", name="calls_helper"))
    else:
        raise ValueError(where)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    g = helper.make_graph(nodes, "g", io(), [helper.make_tensor_value_info("mask", TensorProto.FLOAT, [1, 1, S, S])],
                          initializer=inits, sparse_initializer=sparse)
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid("local.fns", 1)] if functions else [])
    onnx.save(helper.make_model(g, opset_imports=opsets, functions=functions), folder / "model.onnx")
    (folder / "rclicks.json").write_text(json.dumps(manifest()))
    return folder

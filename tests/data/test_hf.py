"""A Hugging Face `datasets` table with image/mask columns, built locally (no Hub)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

datasets = pytest.importorskip("datasets")

from rclicks.data.hf import HFDataset  # noqa: E402
from rclicks.errors import RClicksError  # noqa: E402


def _table():
    img = np.zeros((10, 12, 3), np.uint8)
    img[..., 0] = 200
    mask = np.zeros((10, 12), np.uint8)
    mask[2:5, 3:9] = 255
    mask[9, :] = 3
    feats = datasets.Features({"image": datasets.Image(), "mask": datasets.Image(), "id": datasets.Value("string")})
    return datasets.Dataset.from_dict({"image": [Image.fromarray(img)], "mask": [Image.fromarray(mask)], "id": ["obj1"]}, features=feats)


def test_reads_samples_and_fingerprint(tmp_path):
    ds = HFDataset(_table(), name="toy", name_column="id", ignore_value=3)
    s = ds[0]
    assert s.image.shape == (10, 12, 3) and s.image[0, 0, 0] == 200
    assert s.mask.sum() == 18 and s.ignore.sum() == 12 and s.name == "obj1"
    _table().save_to_disk(tmp_path / "saved")
    again = HFDataset(str(tmp_path / "saved"), name="toy", name_column="id")
    assert again[0].mask.sum() == 18 and len(again.fingerprint()) == 64


def test_missing_column():
    with pytest.raises(RClicksError, match="missing column"):
        HFDataset(_table(), mask_column="segmentation")

"""Loaders for every RITM layout, on folders the tests build, plus the bundled real data."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from scipy.io import savemat

from rclicks.data import load_dataset
from rclicks.data.datasets import FolderDataset
from rclicks.errors import RClicksError


def _img(path, h=12, w=16, seed=0):
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(path)


def _grey(path, arr):
    Image.fromarray(arr.astype(np.uint8)).save(path)


def test_bundled_grabcut_has_ignore_band(grabcut):
    assert len(grabcut) == 50
    s = grabcut[0]
    assert s.image.dtype == np.uint8 and s.image.shape[2] == 3 and s.mask.dtype == bool
    assert sum(grabcut[i].ignore is not None for i in range(len(grabcut))) > 30
    with_band = next(grabcut[i] for i in range(len(grabcut)) if grabcut[i].ignore is not None)
    assert not (with_band.mask & with_band.ignore).any()
    assert len(grabcut.fingerprint()) == 64 and grabcut.fingerprint() == load_dataset("grabcut").fingerprint()


def test_bundled_davis():
    d = load_dataset("davis")
    assert len(d) == 345 and d[0].image.shape == (480, 854, 3) and d[0].mask.any()


def test_grabcut_layout_decoding(tmp_path):
    (tmp_path / "data_GT").mkdir()
    (tmp_path / "boundary_GT").mkdir()
    _img(tmp_path / "data_GT" / "a.jpg")
    m = np.zeros((12, 16), np.uint8)
    m[2:6, 2:6] = 255
    m[6, 2:6] = 128
    _grey(tmp_path / "boundary_GT" / "a.bmp", m)
    s = load_dataset(tmp_path)[0]
    assert s.mask.sum() == 16 and s.ignore.sum() == 4 and s.name == "a"


def test_berkeley_and_davis_layouts(tmp_path):
    b = tmp_path / "b"
    (b / "images").mkdir(parents=True)
    (b / "masks").mkdir()
    _img(b / "images" / "x.jpg")
    _grey(b / "masks" / "x.png", np.pad(np.full((4, 4), 255), ((2, 6), (2, 10))))
    ds = load_dataset(b)
    assert ds.layout == "berkeley" and ds[0].mask.sum() == 16
    d = tmp_path / "d"
    (d / "img").mkdir(parents=True)
    (d / "gt").mkdir()
    _img(d / "img" / "f.jpg")
    colour = np.zeros((12, 16, 3), np.uint8)
    colour[0:3, 0:3, 1] = 200  # any non-zero channel is object (RITM DAVIS rule)
    Image.fromarray(colour).save(d / "gt" / "f.png")
    ds = load_dataset(d)
    assert ds.layout == "davis" and ds[0].mask.sum() == 9


def test_pascal_instances_and_void(tmp_path):
    (tmp_path / "JPEGImages").mkdir()
    (tmp_path / "SegmentationObject").mkdir()
    (tmp_path / "ImageSets" / "Segmentation").mkdir(parents=True)
    (tmp_path / "ImageSets" / "Segmentation" / "val.txt").write_text("p1\n")
    _img(tmp_path / "JPEGImages" / "p1.jpg")
    ids = np.zeros((12, 16), np.uint8)
    ids[1:4, 1:4] = 1
    ids[6:10, 6:12] = 2
    ids[5, :] = 255
    pal = Image.fromarray(ids, mode="P")
    pal.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0] + [0] * (252 * 3) + [224, 224, 192])
    pal.save(tmp_path / "SegmentationObject" / "p1.png")
    ds = load_dataset(tmp_path)
    assert ds.layout == "pascal" and len(ds) == 2
    assert [s.mask.sum() for s in ds] == [9, 24]
    assert ds[1].instance == "p1#2" and ds[1].ignore.sum() == 16
    # index_of finds a sample by its key without reading files; the keys are the decoded samples' own
    assert [ds.index_of(s.instance) for s in ds] == [0, 1] and ds.index_of("p1#3") is None
    assert [it.instance for it in ds.items] == ["p1#1", "p1#2"]


def test_sbd_instances(tmp_path):
    (tmp_path / "img").mkdir()
    (tmp_path / "inst").mkdir()
    _img(tmp_path / "img" / "s1.jpg")
    seg = np.zeros((12, 16), np.uint8)
    seg[0:2, 0:2] = 1
    seg[5:8, 5:8] = 3
    gtinst = np.zeros((1, 1), dtype=[("Segmentation", "O"), ("Boundaries", "O"), ("Categories", "O")])
    gtinst[0, 0]["Segmentation"] = seg
    savemat(tmp_path / "inst" / "s1.mat", {"GTinst": gtinst})
    ds = load_dataset(tmp_path)
    assert ds.layout == "sbd" and [(s.instance_id, s.mask.sum()) for s in ds] == [(1, 4), (3, 9)]


def test_generic_folder_threshold_and_ignore(tmp_path):
    (tmp_path / "im").mkdir()
    (tmp_path / "mk").mkdir()
    _img(tmp_path / "im" / "a.png")
    m = np.zeros((12, 16), np.uint8)
    m[0, 0:5] = [0, 100, 128, 200, 7]
    _grey(tmp_path / "mk" / "a.png", m)
    s = FolderDataset(tmp_path, images_dir="im", masks_dir="mk", threshold=127, ignore_value=7)[0]
    assert s.mask[0, :5].tolist() == [False, False, True, True, False]
    assert s.ignore[0, 4] and s.ignore.sum() == 1


def test_bad_inputs_name_the_file(tmp_path, monkeypatch):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    _img(tmp_path / "images" / "a.jpg", 12, 16)
    _grey(tmp_path / "masks" / "a.png", np.zeros((10, 16)))
    with pytest.raises(RClicksError, match=r"a\.png.*mask is 16×10 but image a\.jpg is 16×12"):
        load_dataset(tmp_path)[0]
    (tmp_path / "images" / "b.jpg").write_bytes(b"not a jpeg at all")
    _grey(tmp_path / "masks" / "b.png", np.zeros((12, 16)))
    with pytest.raises(RClicksError, match=r"b\.jpg.*not a readable image"):
        load_dataset(tmp_path)[1]
    _img(tmp_path / "images" / "c.jpg")
    with pytest.raises(RClicksError, match=r"c\.jpg.*no mask named c"):
        load_dataset(tmp_path)
    (tmp_path / "images" / "c.jpg").unlink()
    monkeypatch.setenv("RCLICKS_MAX_PIXELS", "100")
    with pytest.raises(RClicksError, match="exceeds the limit"):
        load_dataset(tmp_path)[0]


def test_unknown_layout_and_missing_dataset(tmp_path, monkeypatch):
    with pytest.raises(RClicksError, match="unknown dataset layout"):
        load_dataset(tmp_path)
    monkeypatch.setenv("RCLICKS_DATA", str(tmp_path))
    with pytest.raises(RClicksError, match="set RCLICKS_DATA"):
        load_dataset("berkeley")


def test_index_of_matches_every_bundled_sample(grabcut):
    """Each bundled GrabCut sample is found at its own index by its key, twice (no state kept between calls)."""
    for _ in range(2):
        assert [grabcut.index_of(it.instance) for it in grabcut.items] == list(range(len(grabcut)))
    assert grabcut.index_of(grabcut[7].instance) == 7 and grabcut.index_of("no such image") is None

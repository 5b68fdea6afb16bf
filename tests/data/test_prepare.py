"""`rclicks datasets prepare` on archives the tests build in each dataset's official layout (Berkeley.zip, COCO_MVal,
SBD's benchmark.tgz, the VOC2012 trainval tar, the RClicks authors' TETRIS folder): run as a user runs it, then read
back with the project's own loaders, pixel for pixel; hostile and wrong inputs are refused and leave nothing behind."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.io import savemat

from rclicks.cli import main
from rclicks.data import load_dataset
from rclicks.data.datasets import PREPARED_FILE, PascalVOCDataset

REPO = Path(__file__).resolve().parents[2]
H, W = 12, 16


def _jpg(seed: int, h: int = H, w: int = W) -> bytes:
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(buf, format="JPEG")
    return buf.getvalue()


def _png(arr: np.ndarray, palette: bool = False) -> bytes:
    im = Image.fromarray(arr.astype(np.uint8), mode="P" if palette else None)
    if palette:  # VOC's colour map: 0 black, 1.. colours, 255 the cream "void" boundary
        im.putpalette([0, 0, 0, 128, 0, 0, 0, 128, 0, 128, 128, 0] + [0] * (251 * 3) + [224, 224, 192])
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def _mat(**variables) -> bytes:
    buf = io.BytesIO()
    savemat(buf, variables)
    return buf.getvalue()


def _gtinst(seg: np.ndarray) -> np.ndarray:
    """SBD's ``GTinst`` struct (Segmentation, Boundaries, Categories), as ``inst/*.mat`` holds it."""
    g = np.zeros((1, 1), dtype=[("Segmentation", "O"), ("Boundaries", "O"), ("Categories", "O")])
    g[0, 0]["Segmentation"] = seg.astype(np.uint8)
    g[0, 0]["Boundaries"] = np.zeros((max(int(seg.max()), 1), 1), dtype=object)
    g[0, 0]["Categories"] = np.arange(1, max(int(seg.max()), 1) + 1, dtype=np.uint8)[:, None]
    return g


def _box(y0, y1, x0, x1, value=255) -> np.ndarray:
    m = np.zeros((H, W), np.uint8)
    m[y0:y1, x0:x1] = value
    return m


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def _tar(path: Path, files: dict[str, bytes], mode: str = "w:gz", links: dict[str, str] | None = None) -> Path:
    with tarfile.open(path, mode) as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tf.addfile(info)
    return path


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`rclicks …` in a fresh process, as a user types it."""
    return subprocess.run([sys.executable, "-m", "rclicks", *args], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})}, timeout=300)


BERKELEY_MASKS = {"42049": _box(2, 8, 3, 11), "12003": _box(0, 5, 0, 4)}


def _berkeley_files(masks=BERKELEY_MASKS) -> dict[str, bytes]:
    files = {}
    for i, (stem, m) in enumerate(masks.items()):
        files[f"Berkeley/images/{stem}.jpg"] = _jpg(i)
        files[f"Berkeley/masks/{stem}.png"] = _png(m)
    files["__MACOSX/Berkeley/images/._42049.jpg"] = b"resource fork"  # macOS zips carry these; never copied
    return files


@pytest.fixture
def data(tmp_path, monkeypatch):
    """An empty $RCLICKS_DATA (for this process and the `rclicks` processes the test starts)."""
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("RCLICKS_DATA", str(root))
    return root


def _nothing_left(data: Path) -> None:
    assert sorted(p.name for p in data.iterdir()) == [], "no output and no work folder may remain"


def test_berkeley_zip_is_prepared_where_dataset_berkeley_finds_it(tmp_path, data):
    archive = _zip(tmp_path / "Berkeley.zip", _berkeley_files())
    proc = _cli("datasets", "prepare", "berkeley", "--from", str(archive))
    assert proc.returncode == 0, proc.stderr
    assert "berkeley: 2 instances in 2 images, layout berkeley" in proc.stdout
    assert "rclicks evaluate --dataset berkeley" in proc.stdout
    assert sorted(p.name for p in data.iterdir()) == ["Berkeley"]
    assert sorted(p.name for p in (data / "Berkeley" / "images").iterdir()) == ["12003.jpg", "42049.jpg"]
    ds = load_dataset("berkeley")
    assert ds.layout == "berkeley" and [s.name for s in ds] == ["12003", "42049"]
    for s in ds:
        assert np.array_equal(s.mask, BERKELEY_MASKS[s.name] == 255) and s.image.shape == (H, W, 3) and s.ignore is None
    # the masks are the archive's bytes: the prepared folder has a hand-unpacked folder's fingerprint
    with zipfile.ZipFile(archive) as zf:
        assert (data / "Berkeley" / "masks" / "42049.png").read_bytes() == zf.read("Berkeley/masks/42049.png")
        zf.extractall(tmp_path / "by-hand")
    assert load_dataset(tmp_path / "by-hand" / "Berkeley").fingerprint() == ds.fingerprint()


def test_a_prepared_dataset_evaluates_by_its_name(tmp_path, data):
    assert main(["datasets", "prepare", "berkeley", "--from", str(_zip(tmp_path / "Berkeley.zip", _berkeley_files()))]) == 0
    ds = load_dataset("berkeley")
    out = tmp_path / "r.parquet"
    assert main(["evaluate", "--model", "random_walker", "--dataset", "berkeley", "--max-clicks", "1", "--limit", "1",
                 "--out", str(out), "--no-progress"]) == 0
    import pandas as pd

    df = pd.read_parquet(out)
    assert set(df["dataset"]) == {"berkeley"} and set(df["dataset_fingerprint"]) == {ds.fingerprint()}


def test_coco_mval_tar_gz(tmp_path, data, capsys):
    masks = {"000001": _box(1, 4, 1, 6), "000002": _box(5, 12, 8, 16, value=1)}  # 0/255 and 0/1: any non-zero is object
    files = {f"COCO_MVal/img/{k}.jpg": _jpg(i) for i, k in enumerate(masks)}
    files |= {f"COCO_MVal/gt/{k}.png": _png(m) for k, m in masks.items()}
    archive = _tar(tmp_path / "COCO_MVal.tar.gz", files)
    assert main(["datasets", "prepare", "COCO-MVal", "--from", str(archive)]) == 0
    assert "coco_mval: 2 instances in 2 images, layout davis" in capsys.readouterr().out
    ds = load_dataset("coco_mval")
    assert [(s.name, int(s.mask.sum())) for s in ds] == [("000001", 15), ("000002", 56)]
    for s in ds:
        assert np.array_equal(s.mask, masks[s.name] > 0)


def test_sbd_benchmark_tgz(tmp_path, data, capsys):
    seg_a = np.zeros((H, W), np.uint8)
    seg_a[0:3, 0:4] = 1
    seg_a[6:10, 5:12] = 2
    seg_b = np.zeros((H, W), np.uint8)
    seg_b[2:5, 2:5] = 3  # ids need not start at 1
    seg_t = _box(0, 12, 0, 16, value=1)
    ds_dir = "benchmark_RELEASE/dataset"
    files = {f"{ds_dir}/val.txt": b"2008_000002\n2008_000003\n", f"{ds_dir}/train.txt": b"2008_000010\n",
             "benchmark_RELEASE/benchmark_code_RELEASE/README": b"evaluation code"}
    for i, (stem, seg) in enumerate({"2008_000002": seg_a, "2008_000003": seg_b, "2008_000010": seg_t}.items()):
        files[f"{ds_dir}/img/{stem}.jpg"] = _jpg(i)
        files[f"{ds_dir}/inst/{stem}.mat"] = _mat(GTinst=_gtinst(seg))
        files[f"{ds_dir}/cls/{stem}.mat"] = _mat(GTcls=_gtinst(seg > 0))
    archive = _tar(tmp_path / "benchmark.tgz", files)
    assert main(["datasets", "prepare", "sbd", "--from", str(archive)]) == 0
    assert "sbd: 3 instances in 2 images, layout sbd" in capsys.readouterr().out
    root = data / "SBD"
    assert sorted(p.name for p in root.iterdir()) == [PREPARED_FILE, "img", "inst", "train.txt", "val.txt"]  # no cls/
    ds = load_dataset("sbd")
    assert [s.instance for s in ds] == ["2008_000002#1", "2008_000002#2", "2008_000003#3"]
    expected = {"2008_000002": seg_a, "2008_000003": seg_b}
    for s in ds:
        assert np.array_equal(s.mask, expected[s.name] == s.instance_id)


def test_pascalvoc_trainval_tar(tmp_path, data, capsys):
    a = np.zeros((H, W), np.uint8)
    a[1:5, 1:5] = 1
    a[7:11, 8:14] = 2
    a[5, :] = 255  # VOC's void boundary: ignored, never object
    b = np.zeros((H, W), np.uint8)
    b[3:9, 3:9] = 1
    b[2, 3:9] = 255
    voc = "VOCdevkit/VOC2012"
    files = {f"{voc}/JPEGImages/2007_000032.jpg": _jpg(0), f"{voc}/JPEGImages/2007_000033.jpg": _jpg(1),
             f"{voc}/JPEGImages/2008_000001.jpg": _jpg(2),  # detection-only image: not copied
             f"{voc}/SegmentationObject/2007_000032.png": _png(a, palette=True),
             f"{voc}/SegmentationObject/2007_000033.png": _png(b, palette=True),
             f"{voc}/SegmentationClass/2007_000032.png": _png((a > 0) * 15, palette=True),
             f"{voc}/ImageSets/Segmentation/train.txt": b"2007_000032\n",
             f"{voc}/ImageSets/Segmentation/val.txt": b"2007_000033\n",
             f"{voc}/ImageSets/Segmentation/trainval.txt": b"2007_000032\n2007_000033\n",
             f"{voc}/Annotations/2008_000001.xml": b"<annotation/>"}
    archive = _tar(tmp_path / "VOCtrainval_11-May-2012.tar", files, mode="w")
    assert main(["datasets", "prepare", "pascalvoc", "--from", str(archive)]) == 0
    assert "pascalvoc: 1 instances in 1 images, layout pascal" in capsys.readouterr().out
    root = data / "PascalVOC"
    assert sorted(p.name for p in (root / "JPEGImages").iterdir()) == ["2007_000032.jpg", "2007_000033.jpg"]
    (s,) = load_dataset("pascalvoc")  # the val split
    assert s.instance == "2007_000033#1" and np.array_equal(s.mask, b == 1) and np.array_equal(s.ignore, b == 255)
    train = PascalVOCDataset(root, split="train")
    assert [(t.instance_id, int(t.mask.sum()), int(t.ignore.sum())) for t in train] == [(1, 16, 16), (2, 24, 16)]


def _rgb_ids(ids: np.ndarray, colours: dict[int, tuple[int, int, int]]) -> np.ndarray:
    out = np.zeros((*ids.shape, 3), np.uint8)
    for k, rgb in colours.items():
        out[ids == k] = rgb
    return out


def test_tetris_rgb_packed_instances(tmp_path, data, capsys):
    ids = np.zeros((H, W), np.uint8)
    ids[0:4, 0:5] = 1
    ids[6:12, 6:16] = 2
    # RClicks' TETRIS loader: OpenCV's B·65536 + G·256 + R of each pixel is its object id
    colours = {1: (255, 0, 0), 2: (0, 128, 64)}
    want = {255: ids == 1, 64 * 65536 + 128 * 256: ids == 2}
    single = _box(2, 9, 2, 9, value=1)
    files = {"TETRIS/images/photo_a.uuid-1.jpg": _jpg(0), "TETRIS/masks/photo_a.uuid-1.png": _png(_rgb_ids(ids, colours)),
             "TETRIS/images/-Xy_z.jpg": _jpg(1), "TETRIS/masks/-Xy_z.png": _png(_rgb_ids(single, {1: (1, 2, 3)})),
             "TETRIS/images/train_only.jpg": _jpg(2), "TETRIS/masks/train_only.png": _png(_rgb_ids(single, {1: (9, 9, 9)})),
             "TETRIS_val.txt": b"photo_a.uuid-1\n-Xy_z\n"}  # beside the folder, as in the RClicks repository
    archive = _zip(tmp_path / "tetris.zip", files)
    assert main(["datasets", "prepare", "tetris", "--from", str(archive)]) == 0
    assert "tetris: 3 instances in 2 images, layout tetris" in capsys.readouterr().out
    ds = load_dataset("tetris")
    assert [s.instance for s in ds] == ["photo_a.uuid-1#255", "photo_a.uuid-1#4227072", "-Xy_z#197121"]
    for s in ds[:2]:
        assert np.array_equal(s.mask, want[s.instance_id])
    assert np.array_equal(ds[2].mask, single == 1)
    # a prepared folder names its layout, so a path finds the TETRIS reading without --layout
    assert load_dataset(data / "TETRIS").layout == "tetris"


def test_an_unpacked_folder_is_copied_and_left_untouched(tmp_path, data, capsys):
    src = tmp_path / "downloads"
    for name, blob in _berkeley_files().items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(blob)
    before = sorted(p.relative_to(src) for p in src.rglob("*"))
    out = tmp_path / "elsewhere" / "Berkeley"
    assert main(["datasets", "prepare", "berkeley", "--from", str(src), "--out", str(out)]) == 0
    assert f"rclicks evaluate --dataset {out}" in capsys.readouterr().out
    assert sorted(p.relative_to(src) for p in src.rglob("*")) == before
    assert len(load_dataset(out)) == 2 and list(data.iterdir()) == []


def test_an_url_is_downloaded_to_a_temporary_file(tmp_path, data, monkeypatch, capsys):
    import urllib.request

    blob = _zip(tmp_path / "Berkeley.zip", _berkeley_files()).read_bytes()
    seen = []

    class Response(io.BytesIO):
        headers = {"Content-Length": str(len(blob))}

    def fake_urlopen(request, timeout=None):
        seen.append(request.full_url)
        return Response(blob)

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    url = "https://github.com/saic-vul/fbrs_interactive_segmentation/releases/download/v1.0/Berkeley.zip"
    assert main(["datasets", "prepare", "berkeley", "--from", url]) == 0
    assert seen == [url] and len(load_dataset("berkeley")) == 2
    assert sorted(p.name for p in data.iterdir()) == ["Berkeley"]  # the download is gone
    assert main(["datasets", "prepare", "berkeley", "--from", "ftp://example.org/Berkeley.zip", "--force"]) == 1
    assert "only http(s) URLs" in capsys.readouterr().err


HOSTILE = {
    "dotdot.zip": lambda p: _zip(p, {"Berkeley/images/a.jpg": _jpg(0), "../evil": b"pwned"}),
    "absolute.zip": lambda p: _zip(p, {"Berkeley/images/a.jpg": _jpg(0), "/tmp/rclicks-evil-absolute": b"pwned"}),
    "dotdot.tar.gz": lambda p: _tar(p, {"Berkeley/images/a.jpg": _jpg(0), "Berkeley/../../evil": b"pwned"}),
    "symlink-out.tar": lambda p: _tar(p, {"Berkeley/images/a.jpg": _jpg(0)}, mode="w",
                                      links={"Berkeley/masks": "../../outside"}),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_a_hostile_archive_is_refused_and_leaves_no_output(tmp_path, data, kind):
    archive = HOSTILE[kind](tmp_path / kind)
    proc = _cli("datasets", "prepare", "berkeley", "--from", str(archive))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("rclicks: error: ") and proc.stderr.count("\n") == 1
    assert "refused" in proc.stderr and kind in proc.stderr
    _nothing_left(data)
    assert not (tmp_path / "evil").exists() and not (data.parent.parent / "evil").exists()
    assert not Path("/tmp/rclicks-evil-absolute").exists()


def test_twice_without_force_is_an_error_and_force_replaces(tmp_path, data, capsys):
    first = _zip(tmp_path / "Berkeley.zip", _berkeley_files())
    assert main(["datasets", "prepare", "berkeley", "--from", str(first)]) == 0
    fingerprint = load_dataset("berkeley").fingerprint()
    capsys.readouterr()
    assert main(["datasets", "prepare", "berkeley", "--from", str(first)]) == 1
    err = capsys.readouterr().err
    assert "already exists (prepared from" in err and "pass --force to replace it" in err
    assert load_dataset("berkeley").fingerprint() == fingerprint
    bigger = _zip(tmp_path / "Berkeley2.zip", _berkeley_files({**BERKELEY_MASKS, "3096": _box(4, 6, 4, 6)}))
    assert main(["datasets", "prepare", "berkeley", "--from", str(bigger), "--force"]) == 0
    assert len(load_dataset("berkeley")) == 3
    assert sorted(p.name for p in data.iterdir()) == ["Berkeley"]
    # --force replaces a dataset folder, never some other folder given as --out by mistake (the data root itself)
    assert main(["datasets", "prepare", "berkeley", "--from", str(first), "--out", str(data), "--force"]) == 1
    assert "is not a berkeley folder" in capsys.readouterr().err and len(load_dataset("berkeley")) == 3


def test_a_folder_in_the_wrong_layout_says_what_was_expected(tmp_path, data, capsys):
    (tmp_path / "mine" / "pics").mkdir(parents=True)
    (tmp_path / "mine" / "labels").mkdir()
    assert main(["datasets", "prepare", "berkeley", "--from", str(tmp_path / "mine")]) == 1
    err = capsys.readouterr().err
    assert "not in the berkeley layout; expected images/*.jpg + masks/*.png" in err and "found labels/, pics/" in err
    assert err.count("\n") == 1
    _nothing_left(data)


def test_bad_names_and_sources_get_one_clear_line(tmp_path, data, capsys):
    assert main(["datasets", "prepare", "kitti", "--from", str(tmp_path)]) == 1
    assert "choose one of berkeley, coco_mval, davis, grabcut, sbd, pascalvoc, tetris" in capsys.readouterr().err
    assert main(["datasets", "prepare", "sbd", "--from", str(tmp_path / "missing.tgz")]) == 1
    assert "no such file or folder; give the official benchmark.tgz" in capsys.readouterr().err
    (tmp_path / "notes.txt").write_text("not an archive")
    assert main(["datasets", "prepare", "sbd", "--from", str(tmp_path / "notes.txt")]) == 1
    assert "not a .zip, .tar, .tar.gz or .tgz archive, nor a folder" in capsys.readouterr().err
    _nothing_left(data)


def test_a_fault_found_while_verifying_leaves_nothing(tmp_path, data, capsys):
    files = _berkeley_files()
    files["Berkeley/images/orphan.jpg"] = _jpg(5)
    assert main(["datasets", "prepare", "berkeley", "--from", str(_zip(tmp_path / "Berkeley.zip", files))]) == 1
    err = capsys.readouterr().err
    assert "Berkeley.zip/Berkeley/images/orphan.jpg: no mask named orphan.*" in err
    _nothing_left(data)
    files = _berkeley_files({"a": _box(0, 3, 0, 3)})
    files["Berkeley/images/a.jpg"] = _jpg(0, h=H + 2)
    assert main(["datasets", "prepare", "berkeley", "--from", str(_zip(tmp_path / "B2.zip", files))]) == 1
    assert "mask is 16×12 but image a.jpg is 16×14" in capsys.readouterr().err
    _nothing_left(data)


def test_empty_masks_are_reported_and_inside_links_skipped(tmp_path, data, capsys):
    files = _berkeley_files({"a": _box(0, 3, 0, 3), "blank": np.zeros((H, W), np.uint8)})
    files.pop("__MACOSX/Berkeley/images/._42049.jpg")
    archive = _tar(tmp_path / "Berkeley.tgz", files, links={"Berkeley/masks/alias.png": "a.png"})
    assert main(["datasets", "prepare", "berkeley", "--from", str(archive)]) == 0
    out = capsys.readouterr().out
    assert "warning: 1 instance(s) with an empty mask, skipped at evaluation: blank" in out
    assert "note: 1 link(s) inside the archive were not created" in out
    assert not (data / "Berkeley" / "masks" / "alias.png").exists()


def test_the_unpacked_size_is_capped(tmp_path, data, monkeypatch, capsys):
    monkeypatch.setenv("RCLICKS_PREPARE_MAX_BYTES", "2000")
    files = _berkeley_files()
    files["Berkeley/images/zeros.bmp"] = bytes(50_000)
    assert main(["datasets", "prepare", "berkeley", "--from", str(_zip(tmp_path / "Berkeley.zip", files))]) == 1
    err = capsys.readouterr().err
    assert "Berkeley.zip: unpacks to" in err and "more than 2000 bytes; refused as too large" in err
    assert "RCLICKS_PREPARE_MAX_BYTES" in err and err.count("\n") == 1
    _nothing_left(data)


def test_without_a_data_folder_the_default_output_is_refused(tmp_path, monkeypatch, capsys):
    import rclicks.data.prepare as prep
    from rclicks.settings import SAMPLES_ROOT

    monkeypatch.delenv("RCLICKS_DATA", raising=False)
    monkeypatch.setattr(prep, "data_root", lambda: SAMPLES_ROOT)  # a clean clone: only the Space's own samples
    assert main(["datasets", "prepare", "berkeley", "--from", str(_zip(tmp_path / "B.zip", _berkeley_files()))]) == 1
    assert "set RCLICKS_DATA to the folder that should hold the datasets" in capsys.readouterr().err
    assert not (SAMPLES_ROOT / "Berkeley").exists()

"""Dataset loaders for the RITM folder layouts the field uses, yielding one Sample per object.

| layout   | images            | masks                          | object / ignore rule                          |
|----------|-------------------|--------------------------------|-----------------------------------------------|
| grabcut  | ``data_GT/``      | ``boundary_GT/<stem>.*``        | >128 object, ==128 ignore (RITM)               |
| berkeley | ``images/``       | ``masks/<stem>.*``              | same as grabcut (RITM's BerkeleyDataset)        |
| davis    | ``img/``          | ``gt/<stem>.*``                 | >0 object (RITM's DavisDataset); COCO_MVal too |
| pascal   | ``JPEGImages/``   | ``SegmentationObject/<stem>.png`` | palette ids 1..254 = instances, 255 ignore   |
| sbd      | ``img/``          | ``inst/<stem>.mat``             | ``GTinst.Segmentation`` ids = instances        |
| tetris   | ``images/``       | ``masks/<stem>.png``            | RGB-packed ids ``B·65536+G·256+R`` = instances |
| folder   | any images dir    | any masks dir, matched by stem  | > ``threshold`` object, optional ignore value   |

Samples are read lazily: a Dataset holds paths only (it pickles cheaply to workers).
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from rclicks.data.io import IMAGE_SUFFIXES, check_pair, object_mask, read_image, read_mask_raw
from rclicks.errors import RClicksError
from rclicks.types import Sample, instance_key


@dataclass(frozen=True)
class Item:
    """One object instance on disk: its image, its mask file and the instance id inside it."""

    image: Path
    mask: Path
    name: str
    instance_id: int = 0

    @property
    def instance(self) -> str:
        """The key its Sample will have (``Sample.instance``), known without reading a file."""
        return instance_key(self.name, self.instance_id)


def _list_images(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise RClicksError(f"{folder}: images folder not found")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))
    if not files:
        raise RClicksError(f"{folder}: no images ({', '.join(IMAGE_SUFFIXES)}) found")
    return files


def _masks_by_stem(folder: Path, suffixes: Sequence[str] | None = None) -> dict[str, Path]:
    if not folder.is_dir():
        raise RClicksError(f"{folder}: masks folder not found")
    return {p.stem: p for p in sorted(folder.iterdir()) if p.is_file() and (suffixes is None or p.suffix.lower() in suffixes)}


def _read_split(path: Path) -> list[str] | None:
    return [ln.strip() for ln in path.read_text().splitlines() if ln.strip()] if path.is_file() else None


class Dataset(Sequence[Sample]):
    """A sequence of Samples (one per object instance) read lazily from a folder layout."""

    layout = "folder"

    def __init__(self, root: str | os.PathLike, name: str | None = None) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise RClicksError(f"{self.root}: dataset folder not found")
        self.name = name or self.root.name
        self.items: list[Item] = self._scan()
        if not self.items:
            raise RClicksError(f"{self.root}: no samples found in the {self.layout} layout")
        self._fingerprint: str | None = None

    def _scan(self) -> list[Item]:
        raise NotImplementedError

    def _decode(self, raw: np.ndarray, item: Item) -> tuple[np.ndarray, np.ndarray | None]:
        """Stored mask values → (object mask, ignore mask or None)."""
        raise NotImplementedError

    def _read_mask(self, item: Item) -> np.ndarray:
        return read_mask_raw(item.mask)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        item = self.items[index]
        image = read_image(item.image)
        raw = self._read_mask(item)
        check_pair(image, raw, item.image, item.mask)
        mask, ignore = self._decode(raw, item)
        if ignore is not None and not ignore.any():
            ignore = None
        return Sample(image=image, mask=mask, name=item.name, dataset=self.name, instance_id=item.instance_id, ignore=ignore)

    def index_of(self, instance: str) -> int | None:
        """The index of the sample whose ``instance`` key is ``instance``, or None; no image or mask is read."""
        return next((i for i, it in enumerate(self.items) if it.instance == instance), None)

    def __iter__(self) -> Iterator[Sample]:
        for i in range(len(self)):
            yield self[i]

    def files(self) -> list[Path]:
        """Every image and mask file the dataset reads, sorted and unique."""
        return sorted({p for it in self.items for p in (it.image, it.mask)})

    def fingerprint(self) -> str:
        """sha256 over the layout, each file's path relative to the root, and its bytes."""
        if self._fingerprint is None:
            h = hashlib.sha256(self.layout.encode())
            for path in self.files():
                h.update(b"\0" + path.relative_to(self.root).as_posix().encode() + b"\0")
                with open(path, "rb") as fh:
                    for chunk in iter(lambda: fh.read(1 << 20), b""):
                        h.update(chunk)
            self._fingerprint = h.hexdigest()
        return self._fingerprint

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, root={str(self.root)!r}, samples={len(self)})"


class PairedFolderDataset(Dataset):
    """Images in one folder, one binary mask per image in another, matched by file stem."""

    images_dir = "images"
    masks_dir = "masks"

    def _scan(self) -> list[Item]:
        masks = _masks_by_stem(self.root / self.masks_dir)
        items = []
        for img in _list_images(self.root / self.images_dir):
            if img.stem not in masks:
                raise RClicksError(f"{img}: no mask named {img.stem}.* in {self.root / self.masks_dir}")
            items.append(Item(img, masks[img.stem], img.stem))
        return items


class GrabCutDataset(PairedFolderDataset):
    """GrabCut (``data_GT/`` + ``boundary_GT/``): 255 object, 128 uncertain band (ignored), 0 background."""

    layout = "grabcut"
    images_dir = "data_GT"
    masks_dir = "boundary_GT"

    def _decode(self, raw: np.ndarray, item: Item) -> tuple[np.ndarray, np.ndarray | None]:
        # one reading for every layout (0/1, 0/255, 0/128/255 with the band ignored, alpha): rclicks.data.io.object_mask
        return object_mask(raw, ignore_value=128, what=str(item.mask))


class BerkeleyDataset(GrabCutDataset):
    """Berkeley (``images/`` + ``masks/``), decoded like GrabCut (RITM's BerkeleyDataset)."""

    layout = "berkeley"
    images_dir = "images"
    masks_dir = "masks"


class DavisDataset(PairedFolderDataset):
    """DAVIS / COCO_MVal (``img/`` + ``gt/``): any non-zero value is object."""

    layout = "davis"
    images_dir = "img"
    masks_dir = "gt"

    def _decode(self, raw: np.ndarray, item: Item) -> tuple[np.ndarray, np.ndarray | None]:
        return raw > 0, None


class FolderDataset(PairedFolderDataset):
    """Generic images + masks folders; mask value > ``threshold`` is object (None: ``object_mask``'s rule — 0/1, 0/255,
    alpha), ``ignore_value`` ignored."""

    layout = "folder"

    def __init__(
        self,
        root: str | os.PathLike,
        name: str | None = None,
        images_dir: str = "images",
        masks_dir: str = "masks",
        threshold: int | None = None,
        ignore_value: int | None = None,
    ) -> None:
        self.images_dir, self.masks_dir = images_dir, masks_dir
        self.threshold, self.ignore_value = threshold, ignore_value
        super().__init__(root, name)

    def _decode(self, raw: np.ndarray, item: Item) -> tuple[np.ndarray, np.ndarray | None]:
        return object_mask(raw, self.threshold, self.ignore_value, what=str(item.mask))


class PascalVOCDataset(Dataset):
    """PascalVOC (``JPEGImages/`` + ``SegmentationObject/``): one Sample per instance id, 255 ignored.

    Uses ``ImageSets/Segmentation/<split>.txt`` when present, else every object mask.
    """

    layout = "pascal"

    def __init__(self, root: str | os.PathLike, name: str | None = None, split: str = "val") -> None:
        self.split = split
        super().__init__(root, name)

    def _scan(self) -> list[Item]:
        return _instance_items(self, "JPEGImages", "SegmentationObject", ".png",
                               self.root / "ImageSets" / "Segmentation" / f"{self.split}.txt", lambda i: 0 < i < 255)

    def _decode(self, raw: np.ndarray, item: Item) -> tuple[np.ndarray, np.ndarray | None]:
        return raw == item.instance_id, raw == 255


class SBDDataset(Dataset):
    """SBD (``img/`` + ``inst/<stem>.mat``): one Sample per instance of ``GTinst.Segmentation``.

    Uses ``<split>.txt`` at the root when present, else every ``.mat`` file.
    """

    layout = "sbd"

    def __init__(self, root: str | os.PathLike, name: str | None = None, split: str = "val") -> None:
        self.split = split
        super().__init__(root, name)

    def _read_mask(self, item: Item) -> np.ndarray:
        from scipy.io import loadmat

        try:
            mat = loadmat(str(item.mask))
            return np.asarray(mat["GTinst"][0][0]["Segmentation"], dtype=np.int32)
        except (OSError, KeyError, ValueError, IndexError, TypeError) as exc:
            raise RClicksError(f"{item.mask}: not an SBD instance .mat file with GTinst.Segmentation ({exc})") from exc

    def _scan(self) -> list[Item]:
        return _instance_items(self, "img", "inst", ".mat", self.root / f"{self.split}.txt", lambda i: i > 0)

    def _decode(self, raw: np.ndarray, item: Item) -> tuple[np.ndarray, np.ndarray | None]:
        return raw == item.instance_id, None


class TETRISDataset(Dataset):
    """TETRIS (``images/`` + ``masks/<stem>.png``): one Sample per object of an RGB-packed instance mask.

    As the RClicks authors' loader (``isegm/data/datasets/tetris.py``): the mask is decoded like an image (OpenCV, any
    alpha dropped) and each pixel's id is ``B·65536 + G·256 + R``; every non-zero id is one object and becomes the
    Sample's ``instance_id``. Uses ``<split>.txt`` at the root when present (their ``TETRIS_val.txt``), else every
    image. Images keep their full resolution (their loader shrinks the longest side to 2048 px when it reads them).
    """

    layout = "tetris"

    def __init__(self, root: str | os.PathLike, name: str | None = None, split: str = "val") -> None:
        self.split = split
        super().__init__(root, name)

    def _read_mask(self, item: Item) -> np.ndarray:
        rgb = read_image(item.mask).astype(np.int32)
        return (rgb[:, :, 2] << 16) | (rgb[:, :, 1] << 8) | rgb[:, :, 0]

    def _scan(self) -> list[Item]:
        images = {p.stem: p for p in _list_images(self.root / "images")}
        masks = _masks_by_stem(self.root / "masks", (".png",))
        split_file = self.root / f"{self.split}.txt"
        items = []
        for stem in _read_split(split_file) or sorted(images):
            if stem not in images:
                raise RClicksError(f"{self.root / 'images'}: no image {stem}.* for {stem} listed in {split_file.name}")
            if stem not in masks:
                raise RClicksError(f"{images[stem]}: no mask named {stem}.png in {self.root / 'masks'}")
            ids = np.unique(self._read_mask(Item(images[stem], masks[stem], stem)))
            items += [Item(images[stem], masks[stem], stem, int(i)) for i in ids if i > 0]
        return items

    def _decode(self, raw: np.ndarray, item: Item) -> tuple[np.ndarray, np.ndarray | None]:
        return raw == item.instance_id, None


def _instance_items(ds: Dataset, images_dir: str, masks_dir: str, suffix: str, split_file: Path, is_instance) -> list[Item]:
    """One Item per instance id (``is_instance(id)``) of every image listed in ``split_file`` (else every mask)."""
    masks = _masks_by_stem(ds.root / masks_dir, (suffix,))
    stems = _read_split(split_file) or sorted(masks)
    items = []
    for stem in stems:
        if stem not in masks:
            raise RClicksError(f"{ds.root / masks_dir}: no {stem}{suffix} for {stem} listed in {split_file.name}")
        img = ds.root / images_dir / f"{stem}.jpg"
        if not img.is_file():
            raise RClicksError(f"{img}: image listed in {split_file.name} not found")
        ids = np.unique(ds._read_mask(Item(img, masks[stem], stem)))
        items += [Item(img, masks[stem], stem, int(i)) for i in ids if is_instance(i)]
    return items


LAYOUTS: dict[str, type[Dataset]] = {
    "grabcut": GrabCutDataset,
    "berkeley": BerkeleyDataset,
    "davis": DavisDataset,
    "pascal": PascalVOCDataset,
    "sbd": SBDDataset,
    "tetris": TETRISDataset,
    "folder": FolderDataset,
}


#: Written by ``rclicks datasets prepare`` into the folder it made: its layout, source and counts.
PREPARED_FILE = ".rclicks-prepared.json"


def detect_layout(root: Path) -> str:
    """The layout of a dataset folder: the one ``rclicks datasets prepare`` recorded there, else a guess from its
    sub-folders (TETRIS's ``images/`` + ``masks/`` reads as Berkeley unless prepared or given ``layout="tetris"``)."""
    try:
        recorded = json.loads((root / PREPARED_FILE).read_text()).get("layout")
    except (OSError, ValueError, AttributeError):
        recorded = None
    if isinstance(recorded, str) and recorded in LAYOUTS:
        return recorded
    has = lambda d: (root / d).is_dir()  # noqa: E731
    if has("data_GT") and has("boundary_GT"):
        return "grabcut"
    if has("JPEGImages") and has("SegmentationObject"):
        return "pascal"
    if has("img") and has("inst"):
        return "sbd"
    if has("img") and has("gt"):
        return "davis"
    if has("images") and has("masks"):
        return "berkeley"
    raise RClicksError(
        f"{root}: unknown dataset layout; expected one of data_GT/+boundary_GT/ (GrabCut), images/+masks/ "
        "(Berkeley; TETRIS with --layout tetris), img/+gt/ (DAVIS, COCO_MVal), JPEGImages/+SegmentationObject/ (PascalVOC), "
        "img/+inst/ (SBD); `rclicks datasets prepare NAME --from ARCHIVE` makes one from an official archive"
    )


def warn_empty(sample: Sample) -> bool:
    """Warn (naming the sample) and return True when its object mask is empty."""
    if sample.mask.any():
        return False
    warnings.warn(f"{sample.dataset}/{sample.instance}: empty object mask, skipped", stacklevel=2)
    return True

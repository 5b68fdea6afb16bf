"""A Hugging Face ``datasets`` dataset with image and mask columns, as a sequence of Samples.

Loading by name from the Hub is optional and needs the network; tests pass a local
``datasets.Dataset`` (or a folder saved with ``save_to_disk``).
"""

from __future__ import annotations

import hashlib
import os
from typing import Any, Iterator, Sequence

import numpy as np

from rclicks.errors import RClicksError
from rclicks.types import Sample


def _to_array(value: Any, column: str, index: int) -> np.ndarray:
    if value is None:
        raise RClicksError(f"row {index}: column {column!r} is empty")
    if hasattr(value, "convert"):  # PIL image
        return np.asarray(value)
    return np.asarray(value)


class HFDataset(Sequence[Sample]):
    """Samples from a ``datasets.Dataset``: ``image_column`` (RGB) and ``mask_column`` (object > ``threshold``).

    Optional ``ignore_value``: mask value marking ignored pixels. ``name_column``: per-row
    sample name (default: the row index).
    """

    layout = "hf"

    def __init__(
        self,
        source: Any,
        name: str | None = None,
        split: str | None = None,
        image_column: str = "image",
        mask_column: str = "mask",
        name_column: str | None = None,
        threshold: int = 127,
        ignore_value: int | None = None,
    ) -> None:
        self.ds = self._open(source, split)
        missing = [c for c in (image_column, mask_column, name_column) if c and c not in self.ds.column_names]
        if missing:
            raise RClicksError(f"Hugging Face dataset {name or source!r}: missing column(s) {missing}; has {self.ds.column_names}")
        self.name = name or (source if isinstance(source, str) else "hf")
        self.image_column, self.mask_column, self.name_column = image_column, mask_column, name_column
        self.threshold, self.ignore_value = threshold, ignore_value

    @staticmethod
    def _open(source: Any, split: str | None):
        try:
            import datasets
        except ImportError as exc:
            raise RClicksError("loading a Hugging Face dataset needs `pip install rclicks[hf]`") from exc
        if isinstance(source, (datasets.Dataset,)):
            return source
        if isinstance(source, datasets.DatasetDict):
            if split is None:
                raise RClicksError(f"dataset has splits {list(source)}; pass split=")
            return source[split]
        if isinstance(source, (str, os.PathLike)) and os.path.isdir(source):
            loaded = datasets.load_from_disk(os.fspath(source))
            return HFDataset._open(loaded, split)
        return datasets.load_dataset(str(source), split=split or "validation")

    def __len__(self) -> int:
        return len(self.ds)

    def __getitem__(self, index: int) -> Sample:  # type: ignore[override]
        row = self.ds[int(index)]
        image = _to_array(row[self.image_column], self.image_column, index)
        if image.ndim == 2:
            image = np.repeat(image[:, :, None], 3, axis=2)
        image = np.ascontiguousarray(image[:, :, :3]).astype(np.uint8)
        raw = _to_array(row[self.mask_column], self.mask_column, index)
        if raw.ndim == 3:
            raw = raw.max(axis=2)
        if raw.shape != image.shape[:2]:
            raise RClicksError(f"{self.name} row {index}: mask {raw.shape[::-1]} and image {image.shape[1::-1]} sizes differ")
        ignore = raw == self.ignore_value if self.ignore_value is not None else None
        mask = raw > self.threshold if raw.dtype != bool else raw.copy()
        if ignore is not None:
            mask &= ~ignore
            ignore = ignore if ignore.any() else None
        name = str(row[self.name_column]) if self.name_column else f"{index:06d}"
        return Sample(image=image, mask=mask, name=name, dataset=self.name, ignore=ignore)

    def __iter__(self) -> Iterator[Sample]:
        for i in range(len(self)):
            yield self[i]

    def fingerprint(self) -> str:
        """The datasets library's own fingerprint of the table, hashed with the column choice."""
        base = getattr(self.ds, "_fingerprint", None) or str(len(self.ds))
        return hashlib.sha256(f"hf:{base}:{self.image_column}:{self.mask_column}".encode()).hexdigest()

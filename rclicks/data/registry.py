"""Resolve a dataset name (bundled or known benchmark) or a folder path to a Dataset."""

from __future__ import annotations

import os
from pathlib import Path

from rclicks.settings import data_root
from rclicks.data.datasets import LAYOUTS, Dataset, detect_layout
from rclicks.errors import RClicksError

#: Known benchmark names → (folder under $RCLICKS_DATA, layout, description).
KNOWN: dict[str, tuple[str, str, str]] = {
    "grabcut": ("GrabCut", "grabcut", "GrabCut, 50 images, ignore band (bundled)"),
    "davis": ("DAVIS", "davis", "DAVIS 2016 val, 345 frames (bundled)"),
    "berkeley": ("Berkeley", "berkeley", "Berkeley, 100 objects (rclicks datasets prepare berkeley --from Berkeley.zip)"),
    "coco_mval": ("COCO_MVal", "davis", "COCO MVal, 800 objects (rclicks datasets prepare coco_mval --from COCO_MVal.zip)"),
    "tetris": ("TETRIS", "tetris", "TETRIS, 2000 objects (rclicks datasets prepare tetris --from PATH)"),
    "sbd": ("SBD", "sbd", "SBD val instances (rclicks datasets prepare sbd --from benchmark.tgz)"),
    "pascalvoc": ("PascalVOC", "pascal",
                  "PascalVOC 2012 val instances (rclicks datasets prepare pascalvoc --from VOCtrainval_11-May-2012.tar)"),
}


def load_dataset(name_or_path: str | os.PathLike, layout: str | None = None, **kwargs) -> Dataset:
    """A Dataset by known name (``grabcut``, ``davis``, … under ``$RCLICKS_DATA``) or by folder path.

    ``layout`` forces a layout (see ``rclicks.data.datasets.LAYOUTS``); otherwise it is
    detected from the folder's sub-folders.
    """
    key = str(name_or_path)
    if key.lower() in KNOWN:
        folder, known_layout, _ = KNOWN[key.lower()]
        root = data_root() / folder
        if not root.is_dir():
            raise RClicksError(
                f"dataset {key!r} not found at {root}; set RCLICKS_DATA to the folder holding {folder}/ "
                f"(in the RITM layout), pass the dataset folder path, or make it from the official archive with "
                f"`rclicks datasets prepare {key.lower()} --from PATH_OR_URL`"
            )
        return LAYOUTS[layout or known_layout](root, name=key.lower(), **kwargs)
    root = Path(name_or_path).expanduser()
    if not root.is_dir():
        raise RClicksError(f"dataset {key!r}: not a known dataset name ({', '.join(KNOWN)}) nor an existing folder")
    chosen = layout or detect_layout(root)
    if chosen not in LAYOUTS:
        raise RClicksError(f"unknown layout {chosen!r}; choose one of {', '.join(LAYOUTS)}")
    return LAYOUTS[chosen](root, **kwargs)


def list_datasets() -> list[dict]:
    """Known datasets with where they are expected and whether they are present."""
    root = data_root()
    return [
        {"name": name, "layout": layout, "path": str(root / folder), "present": (root / folder).is_dir(), "description": desc}
        for name, (folder, layout, desc) in KNOWN.items()
    ]

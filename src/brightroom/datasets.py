"""Where benchmark and training images live: named sets under BRIGHTROOM_DATA, or any folder."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import BrightroomError
from .io import READABLE_SUFFIXES

DATA_ENV = "BRIGHTROOM_DATA"


def data_root() -> Path:
    """The shared datasets folder: $BRIGHTROOM_DATA, else ``../shared/datasets``.

    >>> import os; os.environ["BRIGHTROOM_DATA"] = "/data"; str(data_root())
    '/data'
    """
    return Path(os.environ.get(DATA_ENV, "../shared/datasets"))


def resolve_dataset(name_or_path: str) -> Path:
    """A set's folder: a path to any folder of images, or a name under the data root
    (``Set5``, ``test/Set5``, ``train/bsds400``)."""
    candidate = Path(name_or_path).expanduser()
    if candidate.is_dir():
        return candidate
    for prefix in ("test", "", "real", "train"):
        folder = data_root() / prefix / name_or_path
        if folder.is_dir():
            return folder
    raise BrightroomError(
        f"no dataset '{name_or_path}': it is not a folder, nor a set under '{data_root()}' "
        f"(set {DATA_ENV} to the datasets folder)."
    )


def dataset_name(name_or_path: str) -> str:
    """The short name rows are labelled with.

    >>> dataset_name("/somewhere/test/Kodak24/")
    'Kodak24'
    """
    return Path(name_or_path.rstrip("/")).name


def image_files(folder: Path, limit: int | None = None) -> list[Path]:
    """A folder's images, sorted by name, the first ``limit`` of them if given."""
    files = sorted(p for p in Path(folder).iterdir() if p.suffix.lower() in READABLE_SUFFIXES)
    if not files:
        raise BrightroomError(f"the folder '{folder}' has no images.")
    return files[:limit] if limit else files

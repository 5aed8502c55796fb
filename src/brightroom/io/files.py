"""File-system rules shared by every reader and writer.

Inputs: a clear sentence for a missing, empty or unreadable path. Outputs: never
overwrite the input, never overwrite anything without permission, and write
atomically so that a failure leaves no partial file behind.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

from ..errors import BrightroomError


def check_input_file(path: Path) -> None:
    """Raise BrightroomError unless ``path`` is a non-empty regular file we may read."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise BrightroomError(f"cannot read '{path}': no such file.") from None
    except PermissionError:
        raise BrightroomError(f"cannot read '{path}': permission denied.") from None
    except OSError as exc:
        raise BrightroomError(f"cannot read '{path}': {_reason(exc)}.") from None
    if stat.S_ISDIR(info.st_mode):
        raise BrightroomError(f"cannot read '{path}': it is a folder, not an image file.")
    if not stat.S_ISREG(info.st_mode):
        raise BrightroomError(f"cannot read '{path}': it is not a regular file.")
    if info.st_size == 0:
        raise BrightroomError(f"cannot read '{path}': the file is empty.")


def read_head(path: Path, size: int) -> bytes:
    """The first ``size`` bytes of a file, for format detection."""
    try:
        with open(path, "rb") as fh:
            return fh.read(size)
    except OSError as exc:
        raise BrightroomError(f"cannot read '{path}': {_reason(exc)}.") from None


def check_output_path(path: Path, *, overwrite: bool, protected: Path | None = None) -> None:
    """Raise BrightroomError unless writing ``path`` is allowed.

    ``protected`` (the input image) is never overwritten, whatever ``overwrite`` says.
    """
    folder = path.parent
    if not folder.is_dir():
        raise BrightroomError(f"cannot write '{path}': the folder '{folder}' does not exist.")
    if path.is_dir():
        raise BrightroomError(f"cannot write '{path}': it is a folder.")
    if protected is not None and _same_file(path, protected):
        raise BrightroomError(f"refusing to overwrite the input image '{path}'; choose a different output name.")
    if path.exists() and not overwrite:
        raise BrightroomError(f"'{path}' already exists; pass --overwrite (overwrite=True) to replace it.")


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder.

    The temporary file is renamed over ``path`` only once it is complete, so a
    reader never sees a half-written image; on failure it is removed.
    """
    temporary = _create_temporary(path)
    try:
        with open(temporary, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        if isinstance(exc, OSError):
            raise BrightroomError(f"cannot write '{path}': {_reason(exc)}.") from exc
        raise


def _create_temporary(path: Path) -> Path:
    # Created with O_EXCL and the usual 0o666 & ~umask mode (mkstemp would give 0o600,
    # which the final file would inherit).
    for _ in range(100):
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        except OSError as exc:
            raise BrightroomError(f"cannot write '{path}': {_reason(exc)}.") from exc
        os.close(fd)
        return temporary
    raise BrightroomError(f"cannot write '{path}': could not create a temporary file beside it.")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def _reason(exc: OSError) -> str:
    return (exc.strerror or str(exc) or type(exc).__name__).rstrip(".").lower()

"""One photo of a batch, run where the engine puts it (a pool process or a Ray worker): the
per-photo path of ``pipeline.process_photo``, an output left by an earlier run skipped, and
every failure recorded as a row instead of raised."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import BrightroomError
from ..io import read_image
from ..pipeline import Recipe, process_photo

DONE, SKIPPED, FAILED = "done", "skipped", "failed"


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one photo: status 'done', 'skipped' (a valid output was there) or 'failed'."""

    source: Path
    output: Path
    status: str
    message: str = ""
    seconds: float = 0.0

    def as_row(self) -> dict:
        return {"source": str(self.source), "output": str(self.output), "status": self.status,
                "message": self.message, "seconds": self.seconds}

    @classmethod
    def from_row(cls, row: dict) -> FileOutcome:
        return cls(Path(row["source"]), Path(row["output"]), row["status"], row["message"], float(row["seconds"]))


def process_file(source: str, output: str, recipe: Recipe, max_pixels: int | None = None, *,
                 overwrite: bool = False, note: str = "") -> dict:
    """Process one photo into ``output`` (replacing one there only with ``overwrite``: the runner
    decides, from its manifest); never raises.

    Returns a row: source, output, status ('done', 'failed'), message, seconds.
    """
    started = time.perf_counter()
    source_path, output_path = Path(source), Path(output)

    def row(status: str, message: str = "") -> dict:
        return FileOutcome(source_path, output_path, status, message, time.perf_counter() - started).as_row()

    try:
        output_path.parent.mkdir(parents=True, exist_ok=True)
        result = process_photo(source_path, output_path, recipe, overwrite=overwrite, max_pixels=max_pixels)
        return row(DONE, f"{note}; {result.message}" if note else result.message)
    except BrightroomError as error:
        return row(FAILED, str(error))
    except MemoryError:
        return row(FAILED, "not enough memory to process this photo.")
    except Exception as error:  # a bug; recorded, and the run goes on
        return row(FAILED, f"internal error: {error.__class__.__name__}: {error}")


def is_valid_output(path: Path) -> bool:
    """True if ``path`` is a file that decodes as an image (a finished earlier output)."""
    if not path.is_file():
        return False
    try:
        read_image(path, max_pixels=2**62)
    except BrightroomError:
        return False
    return True

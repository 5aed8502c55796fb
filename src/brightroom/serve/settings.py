"""The web service's limits, in one place."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from ..errors import BrightroomError

MB = 1024 * 1024


@dataclass(frozen=True)
class Settings:
    """Limits of the web service; every field is checked on construction.

    - ``max_upload_bytes``: the largest upload accepted (larger: 413).
    - ``max_pixels``: the largest image, width x height, read from its header (larger: 413).
    - ``workers``: photos processed at once (threads; numpy, OpenCV and torch release the GIL).
    - ``queue_limit``: photos waiting beyond those; past it a request gets 503 with Retry-After.
    - ``ttl_seconds``: how long uploads and results are kept after a job finishes.
    - ``small_image_pixels``: the largest image ``POST /v1/enhance`` answers directly;
      larger ones go through ``POST /v1/jobs``.
    - ``memory_budget_bytes``: the memory all running jobs may take together, each job's need
      estimated from its header before decoding (``pipeline.estimated_peak_bytes``): a job waits
      until its share is free; one that alone needs more gets 413. Default: half the machine's RAM.
    - ``work_dir``: where uploads and results live (a fresh folder inside it,
      removed at shutdown); None for the system's temporary folder.
    - ``weights``: (name, path) of the operator's own checkpoints (public architectures, through
      spandrel), registered at start as denoising or upscaling methods of that name; a request
      names them, never a file.

    >>> Settings(workers=2, queue_limit=4).workers
    2
    >>> Settings(workers=0)
    Traceback (most recent call last):
    ...
    brightroom.errors.BrightroomError: workers must be a whole number of at least 1, not 0.
    """

    max_upload_bytes: int = 50 * MB
    max_pixels: int = 50_000_000
    workers: int = max(1, (os.cpu_count() or 2) // 2)
    queue_limit: int = 16
    ttl_seconds: float = 600.0
    small_image_pixels: int = 1_000_000
    memory_budget_bytes: int = field(default_factory=lambda: _physical_memory() // 2)
    work_dir: Path | None = None
    weights: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        minimums = {"max_upload_bytes": 1, "max_pixels": 1, "workers": 1, "queue_limit": 0, "small_image_pixels": 1,
                    "memory_budget_bytes": 64 * MB}
        for name, minimum in minimums.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise BrightroomError(f"{name} must be a whole number of at least {minimum}, not {value!r}.")
        ttl = self.ttl_seconds
        if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not ttl > 0:
            raise BrightroomError(f"ttl_seconds must be a positive number of seconds, not {ttl!r}.")
        if self.work_dir is not None:
            object.__setattr__(self, "work_dir", Path(self.work_dir))

    def describe(self) -> str:
        """One line of the limits in force, for the server's log."""
        return ", ".join(f"{item.name}={getattr(self, item.name)}" for item in fields(self))


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--host``, ``--port`` and one option per setting (sizes in MB and megapixels) to a parser.

    Importing this does not import FastAPI, so a command line can offer it cheaply.

    >>> parser = argparse.ArgumentParser()
    >>> add_serve_arguments(parser)
    >>> settings_from_args(parser.parse_args(["--workers", "2", "--max-megapixels", "24"])).max_pixels
    24000000
    """
    defaults = Settings()
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on (default: this computer only)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=defaults.workers, help="photos processed at once")
    parser.add_argument("--queue-limit", type=int, default=defaults.queue_limit,
                        help="photos waiting beyond those; more get 503 with Retry-After")
    parser.add_argument("--max-upload-mb", type=float, default=defaults.max_upload_bytes / MB)
    parser.add_argument("--max-megapixels", type=float, default=defaults.max_pixels / 1e6)
    parser.add_argument("--small-megapixels", type=float, default=defaults.small_image_pixels / 1e6,
                        help="the largest photo POST /v1/enhance answers directly")
    parser.add_argument("--memory-budget-gb", type=float, default=defaults.memory_budget_bytes / 1024 / MB,
                        help="memory all running photos may take together (default: half the RAM)")
    parser.add_argument("--ttl", type=float, default=defaults.ttl_seconds,
                        help="seconds uploads and results are kept after a job ends")
    parser.add_argument("--work-dir", default=None, help="where uploads and results live (default: the system's temp)")
    parser.add_argument("--weights", action="append", default=[], metavar="NAME=PATH",
                        help="your own checkpoint (DnCNN, Real-ESRGAN, SwinIR...: spandrel), offered as the method "
                             "NAME for denoising or upscaling (repeatable)")


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Settings from the options of ``add_serve_arguments``; a bad value is a BrightroomError."""
    return Settings(
        max_upload_bytes=int(args.max_upload_mb * MB),
        max_pixels=int(args.max_megapixels * 1e6),
        workers=args.workers,
        queue_limit=args.queue_limit,
        ttl_seconds=args.ttl,
        small_image_pixels=int(args.small_megapixels * 1e6),
        memory_budget_bytes=int(args.memory_budget_gb * 1024 * MB),
        work_dir=args.work_dir,
        weights=tuple(_named_weights(item) for item in args.weights),
    )


def _named_weights(item: str) -> tuple[str, str]:
    """'NAME=PATH' from ``--weights``.

    >>> _named_weights("dncnn=models/dncnn.pth")
    ('dncnn', 'models/dncnn.pth')
    """
    name, separator, path = item.partition("=")
    if not separator or not name.strip() or not path.strip():
        raise BrightroomError(f"--weights takes NAME=PATH (e.g. dncnn=dncnn_color.pth), not '{item}'.")
    return name.strip(), path.strip()


def _physical_memory() -> int:
    """The machine's RAM in bytes (8 GB where the system does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 8 * 1024 * MB

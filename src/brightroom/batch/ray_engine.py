"""The 'ray' batch engine: the same per-photo work as the local engine, as a Ray Data job.

Each row of the dataset is one photo (its source and output paths); a map task
runs ``process_file`` on it. The paths must be visible from every Ray node (a
shared file system), and every node needs Brightroom installed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

from ..errors import BrightroomError, quiet_logger
from ..pipeline import Recipe
from .worker import process_file

# One photo per block keeps the progress bar moving and the work evenly spread,
# up to this many blocks (beyond it, blocks hold several photos).
MAX_BLOCKS = 2_000
LOCAL_OBJECT_STORE_BYTES = 256 * 1024**2  # rows are paths, not pixels: a small store is plenty


def run_on_ray(
    tasks: list[dict],
    recipe: Recipe,
    *,
    address: str | None = None,
    workers: int | None = None,
    max_pixels: int | None = None,
) -> Iterator[dict]:
    """Start (or join) Ray, then yield one result row per task as the Ray Data job finishes them.

    Without ``address`` a local Ray is started with ``workers`` CPUs (default:
    all cores) and stopped at the end; with one, the cluster there is joined and
    ``workers`` caps how many photos run at once. A Ray already initialised by
    the caller is used as it is and left running.

    >>> from brightroom.pipeline import parse_recipe
    >>> list(run_on_ray([], parse_recipe("auto"), workers=1))
    []
    """
    if not tasks:
        return iter(())
    try:
        import ray
        import ray.data
    except ImportError:
        raise BrightroomError("engine 'ray' needs Ray; install it with: pip install 'brightroom[ray]'.") from None
    started_here = not ray.is_initialized()
    if started_here:
        _start_ray(ray, address, workers)
    return _rows(ray, tasks, recipe, address, workers, max_pixels, started_here)


def _start_ray(ray, address: str | None, workers: int | None) -> None:
    options = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    try:
        if address:
            ray.init(address=address, **options)
        else:
            ray.init(num_cpus=workers or os.cpu_count() or 1, object_store_memory=LOCAL_OBJECT_STORE_BYTES, **options)
    except Exception as error:
        where = f"the Ray cluster at '{address}'" if address else "a local Ray"
        reason = str(error).splitlines()[0] if str(error) else error.__class__.__name__
        raise BrightroomError(f"cannot start or reach {where}: {reason}") from None


def _rows(ray, tasks, recipe, address, workers, max_pixels, started_here) -> Iterator[dict]:
    try:
        with quiet_logger("ray.data"):
            context = ray.data.DataContext.get_current()
            context.enable_progress_bars = False  # Brightroom shows its own bar
            dataset = ray.data.from_items(tasks, override_num_blocks=min(len(tasks), MAX_BLOCKS))
            dataset = dataset.map(
                _process_row,
                fn_kwargs={"recipe": recipe, "max_pixels": max_pixels},
                num_cpus=1,
                concurrency=workers if address and workers else None,
            )
            for row in dataset.iter_rows():
                yield dict(row)
    finally:
        if started_here:
            ray.shutdown()


def _process_row(row: dict, recipe: Recipe, max_pixels: int | None) -> dict:
    return process_file(row["source"], row["output"], recipe, max_pixels, overwrite=row["overwrite"], note=row["note"])

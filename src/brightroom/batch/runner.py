"""Batch processing: one recipe over a folder of photos, resumable, failures collected.

Each photo goes through the same per-photo path as the CLI (``pipeline.process_photo``);
this module only plans, dispatches and counts. The 'local' engine uses a process pool, the 'ray' engine a Ray Data job.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BrightroomError
from ..io import READABLE_SUFFIXES, WRITABLE_SUFFIXES
from ..pipeline import Recipe, output_name, parse_recipe
from .manifest import NOT_WRITTEN_HERE, Manifest, fingerprint
from .worker import DONE, FAILED, SKIPPED, FileOutcome, is_valid_output, process_file

ENGINES = ("local", "ray")


@dataclass
class BatchSummary:
    """The outcome of a batch run, one FileOutcome per photo, sorted by source path.

    >>> summary = BatchSummary([FileOutcome(Path("a.jpg"), Path("out/a.jpg"), "done")], 1.0, "local", "auto")
    >>> summary.ok, summary.counts()
    (True, {'done': 1, 'skipped': 0, 'failed': 0})
    """

    outcomes: list[FileOutcome]
    seconds: float
    engine: str
    recipe: str
    ignored: list[Path] = field(default_factory=list)

    def of_status(self, status: str) -> list[FileOutcome]:
        return [outcome for outcome in self.outcomes if outcome.status == status]

    @property
    def done(self) -> list[FileOutcome]:
        return self.of_status(DONE)

    @property
    def skipped(self) -> list[FileOutcome]:
        return self.of_status(SKIPPED)

    @property
    def failed(self) -> list[FileOutcome]:
        return self.of_status(FAILED)

    @property
    def ok(self) -> bool:
        """True when no photo failed."""
        return not self.failed

    def counts(self) -> dict[str, int]:
        return {status: len(self.of_status(status)) for status in (DONE, SKIPPED, FAILED)}

    def report(self) -> str:
        """A few lines for people: the counts, then each failed photo and why."""
        counts = self.counts()
        total = len(self.outcomes)
        lines = [
            f"{total} photo{'s' if total != 1 else ''} ({self.recipe}, {self.engine} engine) in {self.seconds:.1f} s: "
            f"{counts[DONE]} done, {counts[SKIPPED]} skipped (already done), {counts[FAILED]} failed."
        ]
        if self.ignored:
            lines.append(f"{len(self.ignored)} file(s) without an image suffix were left alone.")
        if self.failed:
            lines.append("failed:")
            for outcome in self.failed:  # most messages name the file already
                named = str(outcome.source) in outcome.message
                lines.append(f"  {outcome.message}" if named else f"  {outcome.source}: {outcome.message}")
        return "\n".join(lines)


def run_batch(
    in_dir: str | Path,
    out_dir: str | Path,
    recipe: str | Recipe = "auto",
    *,
    engine: str = "local",
    address: str | None = None,
    workers: int | None = None,
    progress: bool = True,
    output_format: str | None = None,
    max_pixels: int | None = None,
    overwrite: bool = False,
) -> BatchSummary:
    """Run one recipe over every photo under ``in_dir``, writing the same tree under ``out_dir``.

    Photos are the files whose suffix Brightroom reads (hidden files are left
    alone). Outputs keep the input's format, or ``output_format`` ('png', 'tiff',
    ...); RAW inputs become 16-bit TIFF. The output folder keeps a manifest of what the
    batch wrote: a rerun skips an output made from the same source with the same recipe and
    Brightroom, redoes one made otherwise (saying why), and replaces a file it did not write
    only with ``overwrite``, so an interrupted run resumes where it stopped. A photo
    that fails is recorded in the summary and the run goes on. ``engine`` is
    'local' (a pool of ``workers`` processes, default: one per core) or 'ray'
    (a Ray Data job on the cluster at ``address``, or a local Ray with
    ``workers`` CPUs). ``progress`` shows a tqdm bar on stderr.

    >>> import tempfile, pathlib, numpy as np
    >>> from brightroom.io import write_image
    >>> photos, results = pathlib.Path(tempfile.mkdtemp()), pathlib.Path(tempfile.mkdtemp())
    >>> _ = write_image(photos / "gray.png", np.full((16, 16), 0.5, np.float32))
    >>> summary = run_batch(photos, results, "upscale2", workers=1, progress=False)
    >>> summary.counts(), (results / "gray.png").is_file()
    ({'done': 1, 'skipped': 0, 'failed': 0}, True)
    """
    started = time.perf_counter()
    chosen = parse_recipe(recipe)
    recipe_name = recipe if isinstance(recipe, str) else chosen.describe()
    if engine not in ENGINES:
        raise BrightroomError(f"engine must be 'local' or 'ray', not '{engine}'.")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise BrightroomError(f"workers must be a whole number of at least 1, not {workers!r}.")
    if address is not None and engine != "ray":
        raise BrightroomError("an address applies only to engine='ray'.")
    suffix = _output_suffix(output_format)
    pairs, ignored = plan_batch(in_dir, out_dir, suffix)
    out_root = prepare_output_folder(out_dir)
    manifest = Manifest(out_root)
    tasks, outcomes = [], []
    for source, output in pairs:
        task = _plan_one(source, output, output.relative_to(out_dir).as_posix(), manifest, recipe_name, overwrite)
        if isinstance(task, FileOutcome):
            outcomes.append(task)
        else:
            tasks.append(task)
    if engine == "local":
        rows = _run_local(tasks, chosen, workers, max_pixels)
    else:
        from .ray_engine import run_on_ray

        rows = run_on_ray(tasks, chosen, address=address, workers=workers, max_pixels=max_pixels)
    planned = {task["output"]: task for task in tasks}
    with _progress_bar(len(tasks), recipe_name, progress) as bar:
        for row in rows:
            outcome = FileOutcome.from_row(row)
            outcomes.append(outcome)
            if outcome.status == DONE:
                task = planned[str(outcome.output)]
                manifest.record(task["key"], task["made_with"])
            bar.update(1)
            if outcome.status == FAILED:
                bar.set_postfix(failed=sum(o.status == FAILED for o in outcomes))
    outcomes.sort(key=lambda outcome: str(outcome.source))
    return BatchSummary(outcomes, time.perf_counter() - started, engine, recipe_name, ignored)


def prepare_output_folder(out_dir: str | Path) -> Path:
    """The output folder, created if missing and checked writable before any photo is processed;
    temporary files that a killed run left behind are removed."""
    root = Path(out_dir)
    try:
        if root.exists() and not root.is_dir():
            raise NotADirectoryError(20, "it is a file, not a folder")
        root.mkdir(parents=True, exist_ok=True)
        probe = root / f".brightroom-write-check-{os.getpid()}.tmp"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise BrightroomError(f"cannot write into the output folder '{root}': "
                              f"{(error.strerror or str(error)).lower()}.") from None
    for stale in root.rglob(".*.tmp"):  # atomic_write's temporaries (.NAME.XXXXXXXX.tmp)
        with contextlib.suppress(OSError):
            stale.unlink()
    return root.resolve()


def _plan_one(source: Path, output: Path, key: str, manifest: Manifest, recipe: str,
              overwrite: bool) -> dict | FileOutcome:
    """The task for one photo, or its outcome when there is nothing to run: an output this batch
    made from the same source with the same recipe and Brightroom is skipped; one it made otherwise
    is redone, saying why; a file it did not make is replaced only with ``overwrite``."""
    now = fingerprint(source, recipe)
    task = dict(source=str(source), output=str(output), key=key, made_with=now, overwrite=False, note="")
    if not output.exists():
        return task
    stale = manifest.why_stale(key, now)
    if stale is None and is_valid_output(output):
        return FileOutcome(source, output, SKIPPED)
    if stale == NOT_WRITTEN_HERE and not overwrite:
        return FileOutcome(source, output, FAILED, f"'{output}' already exists and was not written by this batch; "
                                                   "pass --overwrite to replace it.")
    # ours but stale (or unreadable), or a foreign file the user asked to replace
    task.update(overwrite=True, note=f"redone: {stale}" if stale and stale != NOT_WRITTEN_HERE else "")
    return task


def plan_batch(in_dir: str | Path, out_dir: str | Path, suffix: str | None = None) -> tuple[list[tuple[Path, Path]], list[Path]]:
    """Pair each photo under ``in_dir`` with its output path under ``out_dir``; also list ignored files.

    >>> import tempfile, pathlib
    >>> photos = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (photos / "a.DNG").write_bytes(b"raw"), (photos / "notes.txt").write_text("hi")
    >>> pairs, ignored = plan_batch(photos, photos.parent / "out")
    >>> [(source.name, output.name) for source, output in pairs], [path.name for path in ignored]
    ([('a.DNG', 'a.tif')], ['notes.txt'])
    """
    source_root, output_root = Path(in_dir), Path(out_dir)
    if not source_root.is_dir():
        raise BrightroomError(f"the input folder '{source_root}' does not exist or is not a folder.")
    if output_root.exists() and not output_root.is_dir():
        raise BrightroomError(f"the output folder '{output_root}' is a file, not a folder.")
    resolved_in, resolved_out = source_root.resolve(), output_root.resolve()
    if resolved_out == resolved_in or resolved_in in resolved_out.parents:
        raise BrightroomError("the output folder must not be the input folder or inside it; choose another.")
    pairs, ignored, claimed = [], [], {}
    for source in sorted(_files_under(source_root)):
        if source.suffix.lower() not in READABLE_SUFFIXES:
            ignored.append(source)
            continue
        output = output_name(source, "", folder=output_root / source.parent.relative_to(source_root), suffix=suffix)
        key = str(output).lower()
        if key in claimed:
            raise BrightroomError(
                f"'{source}' and '{claimed[key]}' would both be written to '{output}'; "
                "rename one or choose an output format."
            )
        claimed[key] = source
        pairs.append((source, output))
    return pairs, ignored


def _run_local(tasks: list[dict], recipe: Recipe, workers: int | None, max_pixels: int | None) -> Iterator[dict]:
    """Yield result rows as photos finish, from a pool of processes (in-process for one worker)."""
    workers = min(workers or os.cpu_count() or 1, max(len(tasks), 1))
    if workers == 1:
        for task in tasks:
            yield process_file(task["source"], task["output"], recipe, max_pixels, overwrite=task["overwrite"],
                               note=task["note"])
        return
    threads = str(max(1, (os.cpu_count() or 1) // workers))
    context = multiprocessing.get_context("spawn")  # no fork of a process that may hold torch threads
    pending = list(reversed(tasks))
    while pending:
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context, initializer=_limit_threads,
                                                    initargs=(threads, os.getpid())) as pool:
            in_flight: dict[concurrent.futures.Future, dict] = {}
            try:
                while pending or in_flight:
                    while pending and len(in_flight) < 2 * workers:  # bounded: memory stays flat
                        task = pending.pop()
                        in_flight[pool.submit(process_file, task["source"], task["output"], recipe, max_pixels,
                                              overwrite=task["overwrite"], note=task["note"])] = task
                    finished, _ = concurrent.futures.wait(in_flight, return_when=concurrent.futures.FIRST_COMPLETED)
                    for future in finished:
                        in_flight.pop(future)
                        yield future.result()
            except concurrent.futures.process.BrokenProcessPool:
                # A decoder crashed a worker: report what was in flight, start a new pool for the rest.
                for task in in_flight.values():
                    yield FileOutcome(Path(task["source"]), Path(task["output"]), FAILED,
                                      "a worker process crashed while this photo was being processed; "
                                      "run the batch again to retry it.").as_row()


def _limit_threads(threads: str, parent: int) -> None:
    """Give each worker process its share of the cores (set before torch or OpenCV start their pools),
    and tie it to its parent: if the batch process is killed, the kernel ends the workers too."""
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(name, threads)
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # killed while this worker was starting: the signal above came too late
        os._exit(1)


def _output_suffix(output_format: str | None) -> str | None:
    if output_format is None:
        return None
    suffix = "." + output_format.lower().lstrip(".")
    if suffix not in WRITABLE_SUFFIXES:
        names = ", ".join(s.lstrip(".") for s in WRITABLE_SUFFIXES)
        raise BrightroomError(f"output format '{output_format}' is not one Brightroom writes; use one of {names}.")
    return suffix


def _files_under(root: Path) -> Iterable[Path]:
    for folder, folders, files in os.walk(root):
        folders[:] = [name for name in folders if not name.startswith(".")]
        for name in files:
            if not name.startswith("."):
                yield Path(folder) / name


class _progress_bar:
    """A tqdm bar on stderr, or a silent stand-in when progress is off."""

    def __init__(self, total: int, description: str, enabled: bool) -> None:
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=description, unit="photo", dynamic_ncols=True)

    def __enter__(self) -> _progress_bar:
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.close()

    def update(self, count: int) -> None:
        if self.bar is not None:
            self.bar.update(count)

    def set_postfix(self, **values: Callable | int) -> None:
        if self.bar is not None:
            self.bar.set_postfix(**values)

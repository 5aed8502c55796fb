"""Jobs of the web service: uploads checked by decoding, a bounded worker pool, results with a time to live.

Nothing here knows HTTP beyond the status code each failure deserves
(``ServiceError``); the image work is the public API's: probe_image and the
per-photo path, ``pipeline.process_photo``.
"""

from __future__ import annotations

import logging
import math
import re
import secrets
import shutil
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from ..errors import BrightroomError
from ..io import probe_image, write_image
from ..io.files import read_head
from ..io.formats import FORMATS, HEADER_BYTES, SUPPORTED_LABELS, sniff_format
from ..pipeline import Recipe, estimated_peak_bytes, output_name, process_photo
from .settings import MB, Settings

log = logging.getLogger("brightroom.serve")

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
BROWSER_FORMATS = ("png", "jpeg", "webp")  # what every browser shows in an <img>
OUTPUT_FORMATS = ("auto", "png", "jpeg", "webp", "tiff", "heif")
MEDIA_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp", "tiff": "image/tiff",
               "heif": "image/heic", "raw": "application/octet-stream"}
_UNLIMITED_PIXELS = 2**62  # probe without the io limit; the server applies its own, with its own message
_COPY_CHUNK = 1 * MB


class ServiceError(Exception):
    """A failure to report to the client: an HTTP status, one sentence, optional headers."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


@dataclass
class Job:
    """One uploaded photo on its way through a recipe. ``public`` jobs are reachable by id."""

    id: str
    folder: Path
    upload: Path
    name: str
    recipe: Recipe
    output_format: str
    input_format: str
    width: int
    height: int
    public: bool
    memory: int = 0  # the estimated peak, reserved from the server's memory budget while it runs
    status: str = QUEUED
    stage: str = "waiting for a free worker"
    progress: float = 0.0
    steps: list[str] = field(default_factory=list)
    message: str = ""
    error: str | None = None
    error_status: int = 0
    result: Path | None = None
    result_size: tuple[int, int] | None = None
    before_preview: Path | None = None
    after_preview: Path | None = None
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None

    @property
    def finished_ok(self) -> bool:
        return self.status == DONE

    @property
    def result_name(self) -> str:
        """The download's file name: 'beach.jpg' -> 'beach-enhanced.jpg'."""
        return output_name(Path(self.name).name or "photo", "enhanced",
                           suffix=FORMATS[self.output_format].suffixes[0]).name

    def media_type(self, which: str) -> str:
        if which == "result":
            return MEDIA_TYPES[self.output_format]
        if which == "before":
            return MEDIA_TYPES["png"] if self.before_preview != self.upload else MEDIA_TYPES[self.input_format]
        return MEDIA_TYPES["png"] if self.after_preview != self.result else MEDIA_TYPES[self.output_format]


class JobManager:
    """The worker pool, its queue limit, the jobs by id and their time to live.

    ``reserve`` takes a place (a worker or a queue slot) or raises a 503
    ServiceError; ``submit`` starts a job in the place it reserved, which is
    given back when the job ends. ``sweep`` deletes finished jobs older than
    the TTL; ``start`` runs it in the background, ``close`` removes everything.

    >>> manager = JobManager(Settings(workers=1, queue_limit=0))
    >>> manager.reserve(); manager.is_full()
    True
    >>> manager.release(); manager.is_full()
    False
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._places = threading.BoundedSemaphore(settings.workers + settings.queue_limit)
        self._taken = 0
        self._lock = threading.Lock()
        self._jobs: dict[str, Job] = {}
        self._executor = ThreadPoolExecutor(settings.workers, thread_name_prefix="brightroom-worker")
        self._work_dir: Path | None = None
        self._stop = threading.Event()
        self._sweeper: threading.Thread | None = None
        self._average_seconds = 2.0  # a running estimate of one job's time, for Retry-After
        self._memory_free = settings.memory_budget_bytes
        self._memory = threading.Condition()

    # -- places in the pool
    def reserve(self) -> None:
        """Take a place for one job, or raise a 503 ServiceError with Retry-After."""
        if not self._places.acquire(blocking=False):
            seconds = self.retry_after()
            raise ServiceError(503, f"the server is busy ({self.settings.workers} photo(s) in progress and "
                                    f"{self.settings.queue_limit} waiting); try again in {seconds} s.",
                               {"Retry-After": str(seconds)})
        with self._lock:
            self._taken += 1

    def release(self) -> None:
        with self._lock:
            self._taken -= 1
        self._places.release()

    def is_full(self) -> bool:
        return self._taken >= self.settings.workers + self.settings.queue_limit

    def retry_after(self) -> int:
        """Seconds until a place is likely free: the queue's length in rounds of the average job."""
        rounds = max(1, math.ceil(self._taken / self.settings.workers))
        return max(1, min(300, math.ceil(rounds * self._average_seconds)))

    def load(self) -> dict:
        """Counts for /v1/health."""
        with self._lock:
            running = sum(job.status == RUNNING for job in self._jobs.values())
            queued = sum(job.status == QUEUED for job in self._jobs.values())
            kept = len(self._jobs)
        return {"workers": self.settings.workers, "queue_limit": self.settings.queue_limit,
                "running": running, "queued": queued, "jobs_kept": kept}

    # -- accepting an upload
    @property
    def work_dir(self) -> Path:
        """This server's folder for uploads and results, made on first use."""
        with self._lock:
            if self._work_dir is None:
                parent = self.settings.work_dir
                if parent is not None:
                    parent.mkdir(parents=True, exist_ok=True)
                self._work_dir = Path(tempfile.mkdtemp(prefix="brightroom-serve-", dir=parent))
            return self._work_dir

    def accept(self, stream: BinaryIO, filename: str | None, recipe: Recipe, *, output_format: str = "auto",
               develop_raw: bool = True, public: bool = True) -> Job:
        """Save an upload, check it by its content and the limits, and register a queued job.

        Raises ServiceError: 413 too large (bytes or pixels, or too big for a direct
        answer when ``public`` is False), 415 not an image, 422 unreadable or a RAW
        file without ``develop_raw``, 400 an unknown output format.
        """
        if output_format not in OUTPUT_FORMATS:
            raise ServiceError(400, f"format must be one of {', '.join(OUTPUT_FORMATS)}, not '{output_format}'.")
        name = safe_name(filename)
        job_id = secrets.token_urlsafe(12)
        folder = self.work_dir / job_id
        folder.mkdir()
        upload = folder / "upload"  # no suffix: the content decides what it is
        try:
            _copy_limited(stream, upload, self.settings.max_upload_bytes)
            info = self._probe(upload, name)
            pixels = info.width * info.height
            if pixels > self.settings.max_pixels:
                raise ServiceError(413, f"'{name}' has {_megapixels(pixels)} megapixels, over this server's "
                                        f"limit of {_megapixels(self.settings.max_pixels)} MP.")
            if not public and pixels > self.settings.small_image_pixels:
                raise ServiceError(413, f"'{name}' has {_megapixels(pixels)} megapixels, more than /v1/enhance "
                                        f"answers directly ({_megapixels(self.settings.small_image_pixels)} MP); "
                                        "send it to POST /v1/jobs instead.")
            if info.format == "raw" and not develop_raw:
                raise ServiceError(422, f"'{name}' is a RAW file; turn on develop_raw to develop it.")
            need = estimated_peak_bytes(info.width, info.height, recipe, raw=info.format == "raw")
            if need > self.settings.memory_budget_bytes:
                raise ServiceError(413, f"'{name}' would need about {format_bytes(need)} of memory with these "
                                        f"options, over this server's budget of "
                                        f"{format_bytes(self.settings.memory_budget_bytes)}.")
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        chosen = output_format
        if chosen == "auto":
            chosen = info.format if info.format in BROWSER_FORMATS else "png"
        job = Job(job_id, folder, upload, name, recipe, chosen, info.format, info.width, info.height, public, need)
        with self._lock:
            self._jobs[job_id] = job
        return job

    def _probe(self, upload: Path, name: str):
        try:
            return probe_image(upload, max_pixels=_UNLIMITED_PIXELS)
        except BrightroomError as error:
            if sniff_format(read_head(upload, HEADER_BYTES)) is None:
                raise ServiceError(415, f"'{name}' is not an image Brightroom can read "
                                        f"(supported: {SUPPORTED_LABELS}).") from None
            raise ServiceError(422, public_message(error, upload, name)) from None

    # -- running
    def submit(self, job: Job) -> Future:
        """Run a job in the place reserved for it; the place is given back when it ends."""
        try:
            future = self._executor.submit(self._run, job)
        except RuntimeError:  # the pool is shutting down
            self.release()
            raise ServiceError(503, "the server is shutting down; try again in a moment.",
                               {"Retry-After": "5"}) from None
        future.add_done_callback(lambda _: self.release())
        return future

    def _run(self, job: Job) -> None:
        with self._memory:  # admission: wait until this job's estimated peak fits the budget
            self._memory.wait_for(lambda: self._memory_free >= job.memory or self._stop.is_set())
            self._memory_free -= job.memory
        try:
            self._process(job)
        finally:
            with self._memory:
                self._memory_free += job.memory
                self._memory.notify_all()

    def _process(self, job: Job) -> None:
        job.status, job.started, job.stage = RUNNING, time.time(), "reading the photo"
        try:
            def on_read(photo) -> None:
                if job.input_format in BROWSER_FORMATS:
                    job.before_preview = job.upload
                else:
                    job.before_preview = write_image(job.folder / "before.png", photo.pixels, like=photo, bit_depth=8)
                job.stage, job.progress = "choosing the steps", 0.1

            def on_step(description: str) -> None:
                job.steps.append(description)
                job.stage, job.progress = description, min(0.9, job.progress + 0.3)

            suffix = FORMATS[job.output_format].suffixes[0]
            done = process_photo(job.upload, job.folder / f"result{suffix}", job.recipe,
                                 max_pixels=self.settings.max_pixels, on_read=on_read, progress=on_step)
            job.result, job.message = done.output, done.message
            job.result_size = (done.result.pixels.shape[1], done.result.pixels.shape[0])
            if job.output_format in BROWSER_FORMATS:
                job.after_preview = job.result
            else:
                job.after_preview = write_image(job.folder / "after.png", done.result.pixels, like=done.photo,
                                                bit_depth=8)
            del done
            job.status, job.stage, job.progress = DONE, "done", 1.0
        except BrightroomError as error:
            self._fail(job, 422, public_message(error, job.upload, job.name))
        except MemoryError:
            self._fail(job, 503, "the server ran out of memory for this photo; try a smaller one or try later.")
        except Exception:
            log.exception("job %s failed", job.id)
            self._fail(job, 500, "an internal error stopped this job; the server's log has the details.")
        finally:
            job.finished = time.time()
            self._average_seconds = 0.8 * self._average_seconds + 0.2 * (job.finished - job.started)

    @staticmethod
    def _fail(job: Job, status: int, message: str) -> None:
        job.status, job.stage, job.error, job.error_status = FAILED, "failed", message, status

    # -- finding and forgetting
    def get(self, job_id: str) -> Job:
        """A public job by id, or a 404 ServiceError."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or not job.public:
            raise ServiceError(404, f"there is no job with this id; jobs are deleted "
                                    f"{_duration(self.settings.ttl_seconds)} after they finish.")
        return job

    def queue_position(self, job: Job) -> int:
        """How many queued jobs are ahead of this one."""
        with self._lock:
            return sum(other.status == QUEUED and other.created < job.created for other in self._jobs.values())

    def discard(self, job_id: str) -> None:
        """Forget a job and delete its files (a running job's files go once it ends)."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.status in (QUEUED, RUNNING):
                return
            del self._jobs[job_id]
        shutil.rmtree(job.folder, ignore_errors=True)

    def sweep(self, now: float | None = None) -> int:
        """Delete jobs that finished more than the TTL ago, and stray folders; return how many."""
        now = time.time() if now is None else now
        ttl = self.settings.ttl_seconds
        with self._lock:
            expired = [job for job in self._jobs.values() if job.finished is not None and now - job.finished > ttl]
            for job in expired:
                del self._jobs[job.id]
            known = {job.folder.name for job in self._jobs.values()}
            work_dir = self._work_dir
        for job in expired:
            shutil.rmtree(job.folder, ignore_errors=True)
        removed = len(expired)
        if work_dir is not None and work_dir.is_dir():
            for entry in work_dir.iterdir():  # a folder whose job never registered (a failed upload)
                if entry.name not in known and now - _modified(entry) > ttl:
                    shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)
                    removed += 1
        return removed

    def start(self) -> None:
        """Start the background sweeper (at application startup)."""
        if self._sweeper is None:
            interval = min(30.0, max(0.1, self.settings.ttl_seconds / 4))
            self._sweeper = threading.Thread(target=self._sweep_every, args=(interval,), daemon=True,
                                             name="brightroom-sweeper")
            self._sweeper.start()

    def _sweep_every(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.sweep()
            except Exception:  # never let the sweeper die
                log.exception("sweeping expired jobs failed")

    def close(self) -> None:
        """Stop the sweeper and the pool, and delete every upload and result (at shutdown)."""
        self._stop.set()
        with self._memory:  # jobs waiting for memory give up
            self._memory.notify_all()
        self._executor.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            self._jobs.clear()
            work_dir, self._work_dir = self._work_dir, None
        if work_dir is not None:
            shutil.rmtree(work_dir, ignore_errors=True)


def safe_name(filename: str | None) -> str:
    """The client's file name reduced to a safe base name, for messages and downloads.

    >>> safe_name("../../etc/pass wd.JPG"), safe_name('C:\\\\photos\\\\a"b.png'), safe_name(None)
    ('pass wd.JPG', 'a_b.png', 'photo')
    """
    base = re.split(r"[\\/]", filename or "")[-1]
    cleaned = re.sub(r"[^\w .()+-]", "_", base).strip(" .")[:100]
    return cleaned or "photo"


def public_message(error: BrightroomError, path: Path, name: str) -> str:
    """An error's sentence with the server's path replaced by the client's file name."""
    return str(error).replace(str(path), name)


def _copy_limited(stream: BinaryIO, target: Path, limit: int) -> None:
    copied = 0
    with open(target, "wb") as out:
        while chunk := stream.read(_COPY_CHUNK):
            copied += len(chunk)
            if copied > limit:
                raise ServiceError(413, f"the upload is larger than this server's limit of {format_bytes(limit)}.")
            out.write(chunk)
    if copied == 0:
        raise ServiceError(422, "the uploaded file is empty; choose a photo.")


def format_bytes(count: int) -> str:
    """A byte count as people read it.

    >>> format_bytes(50 * MB), format_bytes(2_000)
    ('50 MB', '2,000 bytes')
    """
    return f"{count / MB:.3g} MB" if count >= MB else f"{count:,} bytes"


def _megapixels(count: int) -> str:
    return f"{count / 1e6:.1f}" if count >= 100_000 else f"{count / 1e6:.2g}"


def _duration(seconds: float) -> str:
    return f"{seconds / 60:g} minutes" if seconds >= 120 else f"{seconds:g} seconds"


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


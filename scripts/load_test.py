#!/usr/bin/env python3
"""Load test of the web service, on the loopback interface only.

Starts ``python -m brightroom.serve`` on 127.0.0.1 (a free port, its own work and
temporary folders), sends waves of concurrent small-image requests to POST
/v1/enhance and checks that:

- every request is answered 200 (the image) or 503 (busy, with Retry-After and a JSON error);
- the server's memory stays bounded: the second wave peaks no higher than the first
  (plus a small allowance), and below an absolute ceiling;
- no temporary file of the server remains once the time to live has passed;
- the server's folder is removed when it shuts down.

Bounded in count (``--requests`` per wave, ``--waves`` waves) and in time (``--deadline``).

    .venv/bin/python scripts/load_test.py                 # 2 waves of 50 concurrent requests
    .venv/bin/python scripts/load_test.py --requests 20   # lighter
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import psutil

LOOPBACK = "127.0.0.1"
MB = 1024 * 1024


@dataclass
class LoadReport:
    """What a load test saw; ``problems`` is empty when every check passed."""

    statuses: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    wave_peaks_mb: list[float] = field(default_factory=list)
    baseline_mb: float = 0.0
    leftover_files: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        total = sum(self.statuses.values())
        answered = ", ".join(f"{count} x {status}" for status, count in sorted(self.statuses.items()))
        lines = [f"{total} requests: {answered}"]
        if self.latencies:
            ordered = sorted(self.latencies)
            p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
            lines.append(f"latency: median {statistics.median(ordered):.2f} s, p95 {p95:.2f} s, max {ordered[-1]:.2f} s")
        peaks = ", ".join(f"{peak:.0f} MB" for peak in self.wave_peaks_mb)
        lines.append(f"server memory (RSS): {self.baseline_mb:.0f} MB after warm-up, peak per wave: {peaks}")
        lines.append(f"temporary files left after the TTL: {len(self.leftover_files)}")
        lines.append(f"took {self.seconds:.1f} s")
        lines.append("OK" if self.ok else "FAILED:\n  " + "\n  ".join(self.problems))
        return "\n".join(lines)


def small_png(size: int = 64) -> bytes:
    """A noisy gradient, encoded as PNG in memory."""
    from PIL import Image

    y, x = np.mgrid[0:size, 0:size] / size
    pixels = np.stack([x, y, 0.5 * (x + y)], axis=-1) + np.random.default_rng(0).normal(0, 0.05, (size, size, 3))
    buffer = io.BytesIO()
    Image.fromarray(np.clip(pixels * 255, 0, 255).astype(np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


class MemoryWatch:
    """Samples a process's resident memory every 50 ms, in a thread."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, self.process.memory_info().rss)
            except psutil.Error:
                return
            self._stop.wait(0.05)

    def __enter__(self) -> MemoryWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


async def one_request(client: httpx.AsyncClient, image: bytes, form: dict, report: LoadReport) -> None:
    started = time.monotonic()
    try:
        response = await client.post("/v1/enhance", files={"image": ("load.png", image, "image/png")}, data=form)
    except httpx.HTTPError as error:
        report.problems.append(f"a request failed without an answer: {error.__class__.__name__}: {error}")
        return
    report.latencies.append(time.monotonic() - started)
    report.statuses[response.status_code] = report.statuses.get(response.status_code, 0) + 1
    if response.status_code == 200:
        if not response.headers.get("content-type", "").startswith("image/"):
            report.problems.append("a 200 answer was not an image")
    elif response.status_code == 503:
        body = response.json()
        if "retry-after" not in response.headers or not body.get("error"):
            report.problems.append(f"a 503 lacked Retry-After or its JSON error: {response.headers} {body}")
    else:
        report.problems.append(f"unexpected status {response.status_code}: {response.text[:200]}")


async def wave(base_url: str, image: bytes, form: dict, count: int, timeout: float, report: LoadReport) -> None:
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits) as client:
        await asyncio.gather(*(one_request(client, image, form, report) for _ in range(count)))


def files_under(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if not path.is_dir())


def run_load_test(requests: int = 50, waves: int = 2, workers: int = 2, queue_limit: int = 8, ttl: float = 3.0,
                  method: str = "", deadline: float = 180.0, max_rss_mb: float = 3072.0,
                  growth_allowance_mb: float = 64.0, say=print) -> LoadReport:
    """Start a server, send ``waves`` waves of ``requests`` concurrent requests, check the answers and the clean-up."""
    report = LoadReport()
    started = time.monotonic()
    image = small_png()
    form = {"enhance": "denoise", "method": method} if method else {}
    with tempfile.TemporaryDirectory(prefix="brightroom-load-") as scratch:
        scratch_dir = Path(scratch)
        work_dir, temp_dir = scratch_dir / "work", scratch_dir / "tmp"
        work_dir.mkdir()
        temp_dir.mkdir()
        port = free_port()
        command = [sys.executable, "-m", "brightroom.serve", "--host", LOOPBACK, "--port", str(port),
                   "--workers", str(workers), "--queue-limit", str(queue_limit), "--ttl", str(ttl),
                   "--work-dir", str(work_dir)]
        environment = {**os.environ, "TMPDIR": str(temp_dir)}  # every temporary file of the server lands here
        server = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        base_url = f"http://{LOOPBACK}:{port}"
        try:
            wait_until_up(base_url, server, min(60.0, deadline))
            asyncio.run(wave(base_url, image, form, 1, deadline, report))  # warm-up: loads models once
            report.statuses.clear()
            report.baseline_mb = psutil.Process(server.pid).memory_info().rss / MB
            for number in range(1, waves + 1):
                if time.monotonic() - started > deadline:
                    report.problems.append(f"stopped: the {deadline:g} s deadline passed before wave {number}")
                    break
                with MemoryWatch(server.pid) as watch:
                    remaining = max(5.0, deadline - (time.monotonic() - started))
                    asyncio.run(wave(base_url, image, form, requests, remaining, report))
                report.wave_peaks_mb.append(watch.peak / MB)
                say(f"wave {number}: {dict(sorted(report.statuses.items()))}, peak RSS {watch.peak / MB:.0f} MB")
            check_memory(report, max_rss_mb, growth_allowance_mb)
            if not report.statuses.get(200):
                report.problems.append("no request was answered 200")
            # after the TTL (and one sweep), nothing of the server's may remain on disk
            time.sleep(ttl + min(30.0, max(0.1, ttl / 4)) + 1.0)
            report.leftover_files = files_under(work_dir) + files_under(temp_dir)
            if report.leftover_files:
                report.problems.append(f"files remain after the TTL: {report.leftover_files[:5]}")
        finally:
            stop(server)
        if any(work_dir.iterdir()):
            report.problems.append(f"the server left its folder behind at shutdown: {list(work_dir.iterdir())}")
    report.seconds = time.monotonic() - started
    return report


def wait_until_up(base_url: str, server: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited: {server.stderr.read().decode(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"{base_url}/v1/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer within {timeout:g} s")


def check_memory(report: LoadReport, max_rss_mb: float, growth_allowance_mb: float) -> None:
    peaks = report.wave_peaks_mb
    if peaks and max(peaks) > max_rss_mb:
        report.problems.append(f"the server's memory peaked at {max(peaks):.0f} MB, over {max_rss_mb:.0f} MB")
    if len(peaks) >= 2 and peaks[-1] > peaks[0] * 1.10 + growth_allowance_mb:
        report.problems.append(f"the server's memory grew from wave to wave: {peaks[0]:.0f} -> {peaks[-1]:.0f} MB")


def stop(server: subprocess.Popen) -> None:
    """Stop the server we started (by its own process id), as Ctrl-C would."""
    if server.poll() is None:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=50, help="concurrent requests per wave (at most 200)")
    parser.add_argument("--waves", type=int, default=2, help="waves of requests (at most 10)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--queue-limit", type=int, default=8)
    parser.add_argument("--ttl", type=float, default=3.0, help="the server's time to live for files, seconds")
    parser.add_argument("--method", default="", help="denoise with this method (default: the auto recipe)")
    parser.add_argument("--deadline", type=float, default=180.0, help="give up after this many seconds")
    parser.add_argument("--max-rss-mb", type=float, default=3072.0)
    args = parser.parse_args(argv)
    if not 1 <= args.requests <= 200 or not 1 <= args.waves <= 10:
        parser.error("--requests must be 1-200 and --waves 1-10: this test stays small")
    report = run_load_test(args.requests, args.waves, args.workers, args.queue_limit, args.ttl, args.method,
                           args.deadline, args.max_rss_mb)
    print(report.text())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())

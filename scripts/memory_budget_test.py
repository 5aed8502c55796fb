#!/usr/bin/env python3
"""The server's memory budget under many large photos, on the loopback interface only.

Starts ``python -m brightroom.serve`` with a memory budget, queues ``--jobs`` photos of
``--megapixels`` at once through POST /v1/jobs (the automatic recipe: the real-photo model), waits
for them all, and samples the server's resident memory throughout. Passes when every job finished
and the peak stayed within the memory the server had before the jobs plus its budget.

    .venv/bin/python scripts/memory_budget_test.py                       # 20 jobs of 12 MP, a 3 GB budget
    .venv/bin/python scripts/memory_budget_test.py --jobs 4 --megapixels 2
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import psutil
from load_test import LOOPBACK, MB, MemoryWatch, free_port, stop, wait_until_up  # scripts/load_test.py
from PIL import Image


def noisy_photo(megapixels: float) -> bytes:
    """A JPEG of a smooth synthetic scene with sensor-like noise, about ``megapixels`` large (4:3)."""
    width = int(round((megapixels * 1e6 * 4 / 3) ** 0.5))
    height = int(round(width * 3 / 4))
    rng = np.random.default_rng(0)
    small = rng.random((height // 64 + 2, width // 64 + 2, 3)).astype(np.float32)
    scene = np.asarray(Image.fromarray((small * 255).astype(np.uint8)).resize((width, height), Image.BICUBIC),
                       np.float32)
    noisy = np.clip(scene + rng.normal(0, 12, scene.shape).astype(np.float32), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noisy).save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--megapixels", type=float, default=12.0)
    parser.add_argument("--budget-gb", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--deadline", type=float, default=1200.0)
    args = parser.parse_args()
    if not 1 <= args.jobs <= 50 or not 0.1 <= args.megapixels <= 24:
        parser.error("at most 50 jobs of at most 24 MP: this test stays bounded")
    photo = noisy_photo(args.megapixels)
    print(f"{args.jobs} jobs of {args.megapixels:g} MP ({len(photo) / MB:.1f} MB JPEG each), "
          f"budget {args.budget_gb:g} GB, {args.workers} workers")
    port = free_port()
    base = f"http://{LOOPBACK}:{port}"
    with tempfile.TemporaryDirectory(prefix="brightroom-budget-") as scratch:
        command = [sys.executable, "-m", "brightroom.serve", "--host", LOOPBACK, "--port", str(port),
                   "--workers", str(args.workers), "--queue-limit", str(args.jobs), "--max-megapixels", "50",
                   "--memory-budget-gb", str(args.budget_gb), "--work-dir", str(Path(scratch) / "work")]
        import subprocess

        server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        problems: list[str] = []
        try:
            wait_until_up(base, server, 60.0)
            warm = httpx.post(f"{base}/v1/enhance", files={"image": ("warm.jpg", noisy_photo(0.05), "image/jpeg")},
                              timeout=120)  # loads the models once: part of the baseline
            if warm.status_code != 200:
                problems.append(f"the warm-up request got {warm.status_code}")
            baseline = psutil.Process(server.pid).memory_info().rss
            started = time.monotonic()
            with MemoryWatch(server.pid) as watch:
                ids: list[str] = []
                lock = threading.Lock()

                def submit(number: int) -> None:
                    answer = httpx.post(f"{base}/v1/jobs", files={"image": (f"p{number}.jpg", photo, "image/jpeg")},
                                        timeout=300)
                    with lock:
                        if answer.status_code == 202:
                            ids.append(answer.json()["id"])
                        else:
                            problems.append(f"job {number}: {answer.status_code} {answer.text[:120]}")

                threads = [threading.Thread(target=submit, args=(n,)) for n in range(args.jobs)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                waiting = set(ids)
                while waiting and time.monotonic() - started < args.deadline:
                    for job_id in list(waiting):
                        status = httpx.get(f"{base}/v1/jobs/{job_id}", timeout=30).json()
                        if status["status"] in ("done", "failed"):
                            waiting.discard(job_id)
                            if status["status"] == "failed":
                                problems.append(f"job {job_id} failed: {status.get('error')}")
                    time.sleep(1.0)
                if waiting:
                    problems.append(f"{len(waiting)} jobs unfinished after {args.deadline:g} s")
            seconds = time.monotonic() - started
        finally:
            stop(server)
    ceiling = baseline + args.budget_gb * 1024 * MB
    if watch.peak > ceiling:
        problems.append(f"peak {watch.peak / MB:.0f} MB over the baseline plus the budget ({ceiling / MB:.0f} MB)")
    print(f"finished {len(ids)} jobs in {seconds:.0f} s; server RSS: {baseline / MB:.0f} MB before, "
          f"peak {watch.peak / MB:.0f} MB (ceiling {ceiling / MB:.0f} MB)")
    for problem in problems:
        print(f"- {problem}")
    print("OK" if not problems else "FAILED")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark rows as JSON and as the Markdown tables of BENCHMARKS.md."""

from __future__ import annotations

import json
import os
import platform
import re
from datetime import date
from pathlib import Path

from ..errors import BrightroomError


def machine_summary() -> str:
    """One line naming this machine, printed with every table so numbers keep their context."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    from ..nn.runtime import describe

    # the same CPU name covers AVX2-only and AVX-512 machines, whose network speeds differ by about 2x
    vectors = torch.backends.cpu.get_cpu_capability()
    return f"{cpu} ({vectors}), {os.cpu_count()} cores, {torch.get_num_threads()} threads, networks in {describe()}"


def scored_run(task: str, dataset: str, method: str, cases, run, *, on_image=None) -> dict:
    """Time ``run(input)`` over ``cases`` of (input, reference) and score each output (RGB PSNR and
    SSIM, 8-bit, no crop): one row with the means, seconds per image and output MP/s.

    >>> import numpy as np
    >>> flat = np.full((16, 16, 3), 0.5)
    >>> row = scored_run("real", "toy", "darker", [(flat, flat)], lambda x: x - 10 / 255)
    >>> row["images"], round(row["psnr"], 2)
    (1, 28.13)
    """
    import time

    import numpy as np

    from ..metrics import psnr, ssim

    scores, seconds, megapixels = [], 0.0, 0.0
    for degraded, reference in cases:
        started = time.perf_counter()
        output = np.clip(run(degraded), 0.0, 1.0)
        seconds += time.perf_counter() - started
        megapixels += output.shape[0] * output.shape[1] / 1e6
        scores.append((psnr(output, reference), ssim(output, reference)))
        if on_image:
            on_image()
    return {"task": task, "dataset": dataset, "method": method, "images": len(scores),
            "psnr": round(float(np.mean([s[0] for s in scores])), 3),
            "ssim": round(float(np.mean([s[1] for s in scores])), 4),
            "seconds": round(seconds / len(scores), 4),
            "megapixels_per_second": round(megapixels / seconds, 4) if seconds > 1e-4 else None}


def markdown_table(rows: list[dict]) -> str:
    """A Markdown table of benchmark rows (one task per call).

    >>> print(markdown_table([{"task": "sr", "dataset": "Set5", "method": "bicubic", "scale": 2, "images": 5,
    ...     "psnr": 33.6489, "ssim": 0.9299, "seconds": 0.01, "megapixels_per_second": 12.3}]))
    | dataset | scale | method | images | PSNR (dB) | SSIM | s / image | MP/s |
    |---|---|---|---|---|---|---|---|
    | Set5 | x2 | bicubic | 5 | 33.65 | 0.9299 | 0.010 | 12.3 |
    """
    if not rows:
        return "(no rows)"
    if rows[0]["task"] == "burst":
        from .burst import markdown_burst_table

        return markdown_burst_table(rows)
    if rows[0]["task"] == "jpeg":
        return markdown_jpeg_table(rows)
    if rows[0]["task"] in ("raw", "raw-burst"):
        return markdown_raw_table(rows) if rows[0]["task"] == "raw" else markdown_raw_burst_table(rows)
    if rows[0]["task"] in ("real", "demosaic"):
        return markdown_quality_table(rows)
    if rows[0]["task"].endswith("-speed"):
        from .speed import markdown_speed_table

        return markdown_speed_table(rows)
    setting = "sigma" if "sigma" in rows[0] else "scale"
    lines = [
        f"| dataset | {setting} | method | images | PSNR (dB) | SSIM | s / image | MP/s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        value = f"x{row['scale']}" if setting == "scale" else f"{row['sigma']:g}"
        lines.append(
            f"| {row['dataset']} | {value} | {row['method']} | {row['images']} | {row['psnr']:.2f} "
            f"| {row['ssim']:.4f} | {row['seconds']:.3f} | {row['megapixels_per_second']:.3g} |"
        )
    return "\n".join(lines)


def markdown_quality_table(rows: list[dict]) -> str:
    """The rows (of the real-noise or the demosaicking benchmark) as a Markdown table.

    >>> print(markdown_quality_table([{"task": "real", "dataset": "CC15", "method": "input", "images": 15,
    ...     "psnr": 33.414, "ssim": 0.8, "seconds": 0.0, "megapixels_per_second": None}]))
    | dataset | method | images | PSNR (dB) | SSIM | s / image | MP/s |
    |---|---|---|---|---|---|---|
    | CC15 | input | 15 | 33.41 | 0.8000 | - | - |
    """
    lines = ["| dataset | method | images | PSNR (dB) | SSIM | s / image | MP/s |", "|---|---|---|---|---|---|---|"]
    for row in rows:
        timed = row["method"] != "input" and row["megapixels_per_second"]
        speed = f"{row['seconds']:.3f} | {row['megapixels_per_second']:.3g}" if timed else "- | -"
        lines.append(f"| {row['dataset']} | {row['method']} | {row['images']} | {row['psnr']:.2f} | {row['ssim']:.4f} "
                     f"| {speed} |")
    return "\n".join(lines)


def markdown_raw_table(rows: list[dict]) -> str:
    """The RAW benchmark's rows as a Markdown table.

    >>> print(markdown_raw_table([{"task": "raw", "dataset": "Kodak24", "level": "ISO 800", "a": 0.00075,
    ...     "b": 5.1e-07, "method": "develop", "images": 24, "psnr": 33.1, "ssim": 0.9, "seconds": 0.5,
    ...     "megapixels_per_second": 0.8}]))
    | dataset | level | a | b | method | images | PSNR (dB) | SSIM | s / image |
    |---|---|---|---|---|---|---|---|---|
    | Kodak24 | ISO 800 | 0.00075 | 5.1e-07 | develop | 24 | 33.10 | 0.9000 | 0.500 |
    """
    lines = ["| dataset | level | a | b | method | images | PSNR (dB) | SSIM | s / image |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['dataset']} | {row['level']} | {row['a']:.3g} | {row['b']:.2g} | {row['method']} "
                     f"| {row['images']} | {row['psnr']:.2f} | {row['ssim']:.4f} | {row['seconds']:.3f} |")
    return "\n".join(lines)


def markdown_raw_burst_table(rows: list[dict]) -> str:
    """The RAW burst rows as a Markdown table."""
    lines = ["| dataset | level | frames | method | images | PSNR (dB) | SSIM | s / burst |", "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['dataset']} | {row['level']} (a {row['a']:.3g}) | {row['frames']} | {row['method']} "
                     f"| {row['images']} | {row['psnr']:.2f} | {row['ssim']:.4f} | {row['seconds']:.2f} |")
    return "\n".join(lines)


def markdown_jpeg_table(rows: list[dict]) -> str:
    """The JPEG benchmark's rows as a Markdown table.

    >>> print(markdown_jpeg_table([{"task": "jpeg", "dataset": "classic5", "quality": 10, "gray": True,
    ...     "method": "jpeg", "images": 5, "psnr": 27.821, "ssim": 0.7595, "psnr_b": 25.209, "seconds": 0.0,
    ...     "megapixels_per_second": None}]))
    | dataset | quality | method | images | PSNR (dB) | SSIM | PSNR-B (dB) | s / image | MP/s |
    |---|---|---|---|---|---|---|---|---|
    | classic5 (gray) | 10 | jpeg | 5 | 27.82 | 0.7595 | 25.21 | - | - |

    A re-saved crop's row names both qualities (``first_quality`` then ``quality``: '30 -> 70').
    """
    lines = ["| dataset | quality | method | images | PSNR (dB) | SSIM | PSNR-B (dB) | s / image | MP/s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        timed = row["method"] != "jpeg" and row["megapixels_per_second"]
        name = f"{row['dataset']}{' (gray)' if row['gray'] else ''}"
        quality = f"{row['first_quality']} -> {row['quality']}" if row.get("first_quality") else row["quality"]
        speed = f"{row['seconds']:.3f} | {row['megapixels_per_second']:.3g}" if timed else "- | -"
        lines.append(f"| {name} | {quality} | {row['method']} | {row['images']} | {row['psnr']:.2f} "
                     f"| {row['ssim']:.4f} | {row['psnr_b']:.2f} | {speed} |")
    return "\n".join(lines)


def markdown_section(rows: list[dict], command: str) -> str:
    """A table with the command that produced it and the machine it ran on."""
    return (
        f"Produced by `{command}` on {date.today().isoformat()}; {machine_summary()}.\n"
        f"PSNR and SSIM are means over the images; speed counts output megapixels.\n\n"
        f"{markdown_table(rows)}\n"
    )


def write_json(rows: list[dict], path: str | Path) -> None:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(rows, indent=1) + "\n")
    tmp.replace(path)


def update_report(path: str | Path, section: str, title: str, body: str) -> None:
    """Replace (or append) the section ``section`` of a Markdown report, leaving the others alone.

    >>> import tempfile; p = Path(tempfile.mkdtemp()) / "B.md"
    >>> update_report(p, "a", "A", "alpha"); update_report(p, "a", "A", "beta")
    >>> p.read_text().count("beta"), p.read_text().count("alpha")
    (1, 0)
    """
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", section):
        raise BrightroomError(f"a report section name takes letters, digits, '.', '_' and '-', not '{section}'.")
    path = Path(path)
    text = path.read_text() if path.exists() else "# Benchmarks\n\nEvery table below is written by `brightroom bench`; none is typed by hand.\n"
    block = f"<!-- bench:{section} -->\n## {title}\n\n{body.rstrip()}\n<!-- /bench:{section} -->"
    pattern = re.compile(rf"<!-- bench:{re.escape(section)} -->.*?<!-- /bench:{re.escape(section)} -->", re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)

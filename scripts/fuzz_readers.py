"""Fuzz Brightroom's readers: mutate small seed files of every supported format (bit flips,
truncations, chunk-length lies, huge and zero dimensions) and read each with ``read_image`` in a
worker process under a memory cap and a time limit; a sample also goes through the command line
(``brightroom info`` and ``brightroom denoise -o``) in subprocesses.

Every outcome is classed: ``ok`` (decoded), ``refused`` (a BrightroomError: one sentence), ``bug`` (any
other exception: a traceback a user would see as "internal error"), ``crash`` (the worker died: a
segfault or the memory cap), ``hang`` (over the time limit). For the command line, ``bad_cli`` counts
runs that exited other than 0 or 2, printed more than one line on stderr, or left an output after a
failure. Run from the repo root:

    .venv/bin/python scripts/fuzz_readers.py [--files 10000] [--cli 100] [--seed 0]

Prints a Markdown table (the counts by format and outcome) and the files that were not ok/refused.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

MEMORY_CAP = 3 * 1024**3  # bytes of address space for the worker (the 1.5 GB goal plus PyTorch's own)
TIME_LIMIT = 20.0  # seconds for one file
OUTCOMES = ("ok", "refused", "bug", "crash", "hang")


def make_seeds(folder: Path) -> dict[str, Path]:
    """Small valid files of every format Brightroom reads."""
    from brightroom.io import write_dng, write_image

    rng = np.random.default_rng(0)
    color = rng.random((48, 64, 3)).astype(np.float32)
    gray = rng.random((40, 40, 1)).astype(np.float32)
    seeds = {
        "png8": write_image(folder / "seed8.png", color),
        "png16": write_image(folder / "seed16.png", color, bit_depth=16),
        "png-gray": write_image(folder / "gray.png", gray),
        "jpeg": write_image(folder / "seed.jpg", color),
        "tiff8": write_image(folder / "seed8.tif", color),
        "tiff16": write_image(folder / "seed16.tif", color, bit_depth=16),
        "tiff-float": write_image(folder / "seedf.tif", color, bit_depth=32),
        "webp": write_image(folder / "seed.webp", color),
        "heic": write_image(folder / "seed.heic", color),
        "dng": write_dng(folder / "seed.dng", (rng.random((64, 64)) * 4000 + 200).astype(np.uint16)),
    }
    return {name: Path(path) for name, path in seeds.items()}


def mutate(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    """One mutation of a file's bytes and its name."""
    data = bytearray(data)
    kind = rng.choice(["flip", "truncate", "length_lie", "huge", "zero", "flips"])
    if kind == "flip" or kind == "flips":
        for _ in range(1 if kind == "flip" else int(rng.integers(2, 40))):
            index = int(rng.integers(len(data)))
            data[index] ^= 1 << int(rng.integers(8))
    elif kind == "truncate":
        data = data[: int(rng.integers(1, len(data)))]
    elif kind == "length_lie":  # a 32-bit big- or little-endian length field somewhere made huge
        index = int(rng.integers(0, max(1, len(data) - 4)))
        struct.pack_into(">I" if rng.random() < 0.5 else "<I", data, index, int(rng.integers(2**20, 2**31)))
    else:  # dimensions: 16-bit fields near the header set huge or zero
        value = 0 if kind == "zero" else int(rng.choice([7070, 30000, 65535]))
        for _ in range(2):
            index = int(rng.integers(0, min(len(data) - 2, 400)))
            struct.pack_into(">H" if rng.random() < 0.5 else "<H", data, index, value)
    return bytes(data), str(kind)


def _worker(connection) -> None:
    """Read each path sent; answer the outcome and the message's first line."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
    devnull = os.open(os.devnull, os.O_WRONLY)  # the libraries' own chatter (the CLI silences it too)
    os.dup2(devnull, 2)
    from brightroom.errors import BrightroomError
    from brightroom.io import read_image

    while True:
        path = connection.recv()
        if path is None:
            return
        try:
            read_image(path)
            connection.send(("ok", ""))
        except BrightroomError as error:
            connection.send(("refused", str(error).splitlines()[0] if str(error) else ""))
        except MemoryError:
            connection.send(("crash", "MemoryError"))
        except Exception as error:  # noqa: BLE001  (that is what is being counted)
            connection.send(("bug", f"{error.__class__.__name__}: {error}"[:200]))


class Reader:
    """A worker process that reads files one at a time, restarted after a crash or a hang."""

    def __init__(self) -> None:
        self.context = multiprocessing.get_context("spawn")
        self.process = None
        self.connection = None

    def _start(self) -> None:
        parent, child = self.context.Pipe()
        self.process = self.context.Process(target=_worker, args=(child,), daemon=True)
        self.process.start()
        self.connection = parent

    def read(self, path: Path) -> tuple[str, str]:
        if self.process is None or not self.process.is_alive():
            self._start()
        self.connection.send(str(path))
        if self.connection.poll(TIME_LIMIT):
            try:
                return self.connection.recv()
            except EOFError:
                pass
        outcome = "hang" if self.process.is_alive() else "crash"
        self.process.kill()
        self.process.join()
        self.process = None
        return outcome, f"exit code {self.process.exitcode if self.process else 'killed'}"

    def close(self) -> None:
        if self.process is not None and self.process.is_alive():
            self.connection.send(None)
            self.process.join(timeout=5)


def run_cli(path: Path, folder: Path) -> list[str]:
    """Problems of the command line on one file: exit status, stderr lines, outputs left behind."""
    problems = []
    output = folder / f"out-{path.stem}.png"
    for command in (["info", str(path)], ["denoise", str(path), "-o", str(output), "--sigma", "10"]):
        result = subprocess.run([sys.executable, "-m", "brightroom.cli", *command], capture_output=True, text=True,
                                timeout=120)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        if result.returncode not in (0, 2):
            problems.append(f"{command[0]}: exit {result.returncode}")
        if result.returncode == 2 and (len(lines) != 1 or not lines[0].startswith("brightroom: error:")):
            problems.append(f"{command[0]}: stderr {lines[:3]}")
        if command[0] == "denoise" and result.returncode != 0 and output.exists():
            problems.append("denoise: an output was left after a failure")
        leftovers = [p for p in folder.iterdir() if p.name.endswith(".tmp")]
        if leftovers:
            problems.append(f"{command[0]}: temporary files left: {leftovers}")
        output.unlink(missing_ok=True)
    return problems


def fuzz(files: int, cli: int, seed: int) -> tuple[Counter, list[str], int, list[str]]:
    """Counts by (format, outcome), the notable files, the CLI runs made and their problems."""
    rng = np.random.default_rng(seed)
    counts: Counter = Counter()
    notable, cli_problems, cli_runs = [], [], 0
    with tempfile.TemporaryDirectory(prefix="brightroom-fuzz-") as tmp:
        folder = Path(tmp)
        seeds = make_seeds(folder)
        reader = Reader()
        cli_every = max(1, files // cli) if cli else 0
        try:
            for index in range(files):
                name = list(seeds)[index % len(seeds)]
                data, kind = mutate(seeds[name].read_bytes(), rng)
                path = folder / f"case{index:05d}{seeds[name].suffix}"
                path.write_bytes(data)
                outcome, message = reader.read(path)
                counts[name, outcome] += 1
                if outcome not in ("ok", "refused"):
                    notable.append(f"{name} {kind} #{index}: {outcome}: {message}")
                if cli_every and index % cli_every == 0 and cli_runs < cli:
                    cli_runs += 1
                    cli_problems += [f"#{index} {name} {kind}: {problem}" for problem in run_cli(path, folder)]
                path.unlink()
        finally:
            reader.close()
    return counts, notable, cli_runs, cli_problems


def markdown(counts: Counter) -> str:
    names = sorted({name for name, _ in counts})
    lines = ["| seed | " + " | ".join(OUTCOMES) + " |", "|---" * (len(OUTCOMES) + 1) + "|"]
    for name in names:
        lines.append(f"| {name} | " + " | ".join(str(counts[name, outcome]) for outcome in OUTCOMES) + " |")
    lines.append("| **all** | " + " | ".join(str(sum(counts[n, o] for n in names)) for o in OUTCOMES) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--cli", type=int, default=100, help="files also run through the command line")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = time.time()
    counts, notable, cli_runs, cli_problems = fuzz(args.files, args.cli, args.seed)
    print(markdown(counts))
    print(f"\n{args.files} files in {time.time() - started:.0f} s; command line: {cli_runs} files "
          f"(info and denoise each), {len(cli_problems)} problems")
    for line in notable[:50] + cli_problems[:50]:
        print(f"- {line}")
    return 0 if not notable and not cli_problems else 1


if __name__ == "__main__":
    os.environ.setdefault("BRIGHTROOM_PRECISION", "fp32")
    sys.exit(main())

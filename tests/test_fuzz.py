"""A seeded sample of the reader fuzzing of scripts/fuzz_readers.py: mutated files of every format
are decoded or refused in one sentence, never a traceback, a crash or a hang; through the command
line, one line on stderr and no output left behind."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

import fuzz_readers  # noqa: E402


def test_mutated_files_of_every_format_are_read_or_refused_cleanly():
    counts, notable, cli_runs, cli_problems = fuzz_readers.fuzz(files=300, cli=3, seed=7)
    assert sum(counts.values()) == 300 and cli_runs == 3
    assert notable == [] and cli_problems == []
    seeds = {name for name, _ in counts}
    assert {"png8", "png16", "jpeg", "tiff8", "tiff-float", "webp", "heic", "dng"} <= seeds
    assert counts.total() == sum(counts[name, outcome] for name in seeds for outcome in ("ok", "refused"))


def test_the_mutations_damage_what_they_say():
    import numpy as np

    rng = np.random.default_rng(0)
    data = bytes(range(256)) * 8
    kinds = {}
    for _ in range(60):
        mutated, kind = fuzz_readers.mutate(data, rng)
        kinds[kind] = mutated
    assert len(kinds["truncate"]) < len(data)
    assert all(len(kinds[kind]) == len(data) and kinds[kind] != data for kind in ("flip", "length_lie", "huge"))

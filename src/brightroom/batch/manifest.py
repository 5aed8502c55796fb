"""What a batch wrote, so that a rerun trusts only its own outputs: one JSON line per output
(``.brightroom-batch.jsonl`` in the output folder) with the recipe, Brightroom's version and the
source's size and modification time. Appended as photos finish, so a killed run loses nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .. import __version__

MANIFEST_NAME = ".brightroom-batch.jsonl"
NOT_WRITTEN_HERE = "not written by this batch"


def fingerprint(source: Path, recipe: str) -> dict:
    """What an output depends on: the recipe, this Brightroom, and the source file as it is now."""
    stat = source.stat()
    return {"recipe": recipe, "brightroom": __version__, "source_size": stat.st_size,
            "source_mtime": round(stat.st_mtime, 6)}


class Manifest:
    """The outputs of earlier runs into one folder, by path relative to it.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> Manifest(folder).record("a.png", {"recipe": "auto"})
    >>> Manifest(folder).entries["a.png"]["recipe"]
    'auto'
    """

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / MANIFEST_NAME
        self.entries: dict[str, dict] = {}
        if self.path.is_file():
            for line in self.path.read_text(errors="replace").splitlines():
                try:
                    row = json.loads(line)
                    self.entries[row["output"]] = row["made_with"]
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut by a killed run

    def record(self, output: str, made_with: dict) -> None:
        self.entries[output] = made_with
        with open(self.path, "a") as handle:
            handle.write(json.dumps({"output": output, "made_with": made_with}) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def why_stale(self, output: str, now: dict) -> str | None:
        """None if ``output`` was made by this batch as ``now`` says, else the reason to redo it
        ('not written by this batch' when the manifest does not know it)."""
        before = self.entries.get(output)
        if before is None:
            return NOT_WRITTEN_HERE
        for key, reason in (("recipe", f"the recipe changed (was '{before.get('recipe')}')"),
                            ("brightroom", f"Brightroom changed (was {before.get('brightroom')})"),
                            ("source_size", "the source changed"), ("source_mtime", "the source changed")):
            if before.get(key) != now[key]:
                return reason
        return None

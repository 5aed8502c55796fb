"""Batch processing of whole folders, locally or on Ray, with the recipes the web service shares.

>>> import tempfile, pathlib, numpy as np
>>> from brightroom.io import write_image
>>> photos, results = pathlib.Path(tempfile.mkdtemp()), pathlib.Path(tempfile.mkdtemp())
>>> _ = write_image(photos / "flat.png", np.full((16, 16, 3), 0.5, np.float32))
>>> print(run_batch(photos, results, "upscale2", workers=1, progress=False).counts())
{'done': 1, 'skipped': 0, 'failed': 0}
"""

from ..pipeline import RECIPE_HELP, Recipe, parse_recipe
from .runner import ENGINES, BatchSummary, plan_batch, run_batch
from .worker import FileOutcome, process_file

__all__ = [
    "ENGINES",
    "RECIPE_HELP",
    "BatchSummary",
    "FileOutcome",
    "Recipe",
    "parse_recipe",
    "plan_batch",
    "process_file",
    "run_batch",
]

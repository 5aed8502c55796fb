"""Shared fixtures: small images made on the fly, and the shared datasets when they are present."""

from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from brightroom.datasets import data_root
from brightroom.io import write_image


def smooth_image(height: int, width: int, channels: int, seed: int = 0) -> np.ndarray:
    """A natural-ish test picture: smoothed noise stretched to [0, 1]."""
    rng = np.random.default_rng(seed)
    image = ndimage.gaussian_filter(rng.random((height, width, channels)), (2, 2, 0))
    return ((image - image.min()) / (image.max() - image.min())).astype(np.float32)


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """A folder of three small colour PNGs, as a stand-in dataset."""
    folder = tmp_path / "tiny-set"
    folder.mkdir()
    for index in range(3):
        write_image(folder / f"img{index}.png", smooth_image(40, 48, 3, seed=index))
    return folder


def train_two_steps(tmp_path: Path, task: str, name: str, sections: str):
    """Train a tiny config two steps through the CLI (``sections``: its task, model and data
    sections; the schedule and run sections are added here); the last log record and the exported model."""
    import json

    from brightroom.cli import main
    from brightroom.nn.registry import load_weights

    config = tmp_path / f"{name}.toml"
    config.write_text(sections + f"""
[optim]
steps = 2
lr = 1e-3
lr_min = 1e-5
auxiliary_weight = 0.1
[run]
precision = "fp32"
seed = 0
checkpoint = "{tmp_path / 'ckpt.pt'}"
log = "{tmp_path / 'log.jsonl'}"
output = "{tmp_path / f'{name}.safetensors'}"
checkpoint_every = 2
validate_every = 2
""")
    assert main(["train", task, "--config", str(config)]) == 0
    record = json.loads((tmp_path / "log.jsonl").read_text().splitlines()[-1])
    return record, load_weights(tmp_path / f"{name}.safetensors")


def shared_set(name: str) -> Path:
    """A set of the shared datasets, or skip when the datasets are not beside the repo."""
    folder = data_root() / "test" / name
    if not folder.is_dir():
        pytest.skip(f"the shared dataset {name} is not at {folder}")
    return folder


def shared_raw(name: str) -> Path:
    """A file of the shared real RAW files (../shared/raw), or skip when they are not beside the repo."""
    path = data_root().parent / "raw" / name
    if not path.exists():
        pytest.skip(f"the shared RAW file {name} is not at {path}")
    return path


@pytest.fixture
def precision(monkeypatch):
    """Set BRIGHTROOM_PRECISION for one test (the setting is read once per process, so reset it)."""
    from brightroom.nn.runtime import inference_precision

    def use(value: str) -> str:
        monkeypatch.setenv("BRIGHTROOM_PRECISION", value)
        inference_precision.cache_clear()
        return inference_precision()

    yield use
    monkeypatch.delenv("BRIGHTROOM_PRECISION", raising=False)
    inference_precision.cache_clear()


# Markers for `make test-fast` (pytest -m "not slow and not browser and not datasets"); `make test` runs all.
_SLOW_MODULES = {"test_train.py", "test_serve_load.py", "test_real.py", "test_raw_files.py", "test_learned_denoise.py", "test_learned_sr.py"}
_SLOW_TESTS = {
    "test_denoise_rows_have_the_protocol_fields", "test_the_ray_engine_on_a_local_two_cpu_ray",
    "test_every_method_sees_the_same_noisy_input", "test_limits_cap_images_overall_and_per_method",
    "test_upscale_with_own_weights_through_spandrel", "test_upscale_with_own_weights_errors_clearly",
    "test_burst_benchmark_rows", "test_speed_run_reports_time_size_and_peak_memory",
    "test_killing_the_batch_process_ends_its_workers", "test_mutated_files_of_every_format_are_read_or_refused_cleanly",
}


def pytest_collection_modifyitems(config, items):
    import inspect

    for item in items:
        module = item.path.name
        if module == "test_browser.py":
            item.add_marker(pytest.mark.browser)
        if module in _SLOW_MODULES or getattr(item, "originalname", item.name) in _SLOW_TESTS \
                or "CBSD68" in getattr(item, "name", ""):
            item.add_marker(pytest.mark.slow)
        function = getattr(item, "function", None)
        if function is not None and any(word in inspect.getsource(function) for word in ("shared_set(", "shared_raw(", "CBSD68")):
            item.add_marker(pytest.mark.datasets)

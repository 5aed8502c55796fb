"""Batch processing: a corrupt file among good ones, resuming, recipes, the process pool, the Ray engine."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

from brightroom.batch import BatchSummary, Recipe, parse_recipe, plan_batch, run_batch
from brightroom.errors import BrightroomError
from brightroom.io import read_image, write_dng, write_image
from brightroom.pipeline import default_methods
from conftest import smooth_image

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray")

FAST = Recipe("denoise", method="nlm")  # explicit and quick: the learned default may still be training


def photo(size: tuple[int, int] = (48, 64), seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size[0], 0:size[1]].astype(np.float32)
    clean = np.stack([x / size[1], y / size[0], np.full(size, 0.5, np.float32)], axis=-1)
    return np.clip(clean + rng.normal(0, 0.05, clean.shape), 0, 1).astype(np.float32)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Three good photos (one in a subfolder), one corrupt JPEG, one text file, one hidden file."""
    source = tmp_path / "in"
    (source / "trip").mkdir(parents=True)
    write_image(source / "a.png", photo(seed=1))
    write_image(source / "b.jpg", photo(seed=2))
    write_image(source / "trip" / "c.png", photo(seed=3))
    (source / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"not really a jpeg" * 10)
    (source / "notes.txt").write_text("not a photo")
    (source / ".DS_Store").write_bytes(b"\0" * 10)
    return source


def test_a_corrupt_file_is_reported_and_the_run_goes_on(folder, tmp_path):
    out = tmp_path / "out"
    summary = run_batch(folder, out, FAST, workers=1, progress=False)
    assert summary.counts() == {"done": 3, "skipped": 0, "failed": 1}
    assert not summary.ok
    [failure] = summary.failed
    assert failure.source == folder / "broken.jpg"
    assert "broken.jpg" in failure.message and "corrupt" in failure.message
    for name in ("a.png", "b.jpg", "trip/c.png"):
        assert read_image(out / name).pixels.shape == (48, 64, 3)
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert written == [".brightroom-batch.jsonl", "a.png", "b.jpg", "trip/c.png"]  # nothing for the corrupt file
    assert summary.ignored == [folder / "notes.txt"]
    report = summary.report()
    assert "3 done, 0 skipped (already done), 1 failed" in report and "broken.jpg" in report
    assert "1 file(s) without an image suffix" in report


def test_a_second_run_resumes(folder, tmp_path):
    out = tmp_path / "out"
    run_batch(folder, out, FAST, workers=1, progress=False)
    again = run_batch(folder, out, FAST, workers=1, progress=False)
    assert again.counts() == {"done": 0, "skipped": 3, "failed": 1}
    (out / "a.png").unlink()
    (out / "b.jpg").write_bytes(b"half-written garbage")  # present but not readable: done again
    before = (out / "trip" / "c.png").stat().st_mtime_ns
    third = run_batch(folder, out, FAST, workers=1, progress=False)
    assert {o.source.name: o.status for o in third.outcomes} == {
        "a.png": "done", "b.jpg": "done", "c.png": "skipped", "broken.jpg": "failed"}
    assert read_image(out / "b.jpg").pixels.shape == (48, 64, 3)
    assert (out / "trip" / "c.png").stat().st_mtime_ns == before


def test_recipes_upscale_and_formats(tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    write_image(source / "small.png", photo((16, 24)))
    bayer = (np.random.default_rng(0).random((32, 32)) * 30000 + 10000).astype(np.uint16)
    write_dng(source / "shot.dng", bayer)
    summary = run_batch(source, tmp_path / "out", Recipe("denoise", method="nlm", upscale=2),
                        workers=1, progress=False)
    assert summary.ok, summary.report()
    assert read_image(tmp_path / "out" / "small.png").pixels.shape == (32, 48, 3)
    developed = read_image(tmp_path / "out" / "shot.tif")  # RAW becomes 16-bit TIFF
    assert developed.bit_depth == 16 and developed.pixels.shape[:2] == (64, 64)
    as_webp = run_batch(source, tmp_path / "webp", "upscale4", workers=1, progress=False, output_format="webp")
    assert as_webp.ok and read_image(tmp_path / "webp" / "small.webp").pixels.shape == (64, 96, 3)


def test_the_auto_recipe_on_clean_photos(tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    write_image(source / "flat.png", np.full((24, 32, 3), 0.3, np.float32))
    summary = run_batch(source, tmp_path / "out", "auto", workers=1, progress=False)
    assert summary.ok and summary.recipe == "auto"
    assert np.allclose(read_image(tmp_path / "out" / "flat.png").pixels, 0.3, atol=1 / 255)


def test_the_process_pool_and_the_progress_bar(folder, tmp_path, capsys):
    summary = run_batch(folder, tmp_path / "out", FAST, workers=2, progress=True)
    assert summary.counts() == {"done": 3, "skipped": 0, "failed": 1}
    assert "4/4" in capsys.readouterr().err  # tqdm's bar on stderr


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda d, o: run_batch(d / "missing", o, "auto"), "does not exist"),
        (lambda d, o: run_batch(d, d / "inside", "auto"), "must not be the input folder"),
        (lambda d, o: run_batch(d, d, "auto"), "must not be the input folder"),
        (lambda d, o: run_batch(d, o, "sharpen"), "unknown recipe 'sharpen'"),
        (lambda d, o: run_batch(d, o, "auto+denoise"), "two enhancements"),
        (lambda d, o: run_batch(d, o, "upscale2+upscale4"), "two scales"),
        (lambda d, o: run_batch(d, o, "auto", engine="spark"), "engine must be"),
        (lambda d, o: run_batch(d, o, "auto", workers=0), "workers must be"),
        (lambda d, o: run_batch(d, o, "auto", address="ray://x:1"), "address applies only"),
        (lambda d, o: run_batch(d, o, "auto", output_format="gif"), "output format 'gif'"),
    ],
)
def test_bad_arguments_are_one_sentence(folder, tmp_path, call, words):
    with pytest.raises(BrightroomError, match=words):
        call(folder, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_two_inputs_for_one_output_are_refused(tmp_path):
    source = tmp_path / "in"
    source.mkdir()
    write_image(source / "x.png", photo())
    write_image(source / "x.tif", photo())
    with pytest.raises(BrightroomError, match="both be written"):
        plan_batch(source, tmp_path / "out", ".png")


def test_recipe_names():
    assert parse_recipe("auto") == Recipe("auto")
    assert parse_recipe("upscale4") == Recipe("off", upscale=4)
    assert parse_recipe("Denoise + Upscale2") == Recipe("denoise", upscale=2)
    assert parse_recipe(FAST) is FAST
    steps = Recipe("denoise", sigma=12, method="nlm", upscale=3, upscale_method="lanczos").steps(photo())
    assert [(s.task, s.method, s.options) for s in steps] == [
        ("denoise", "nlm", {"sigma": 12.0}), ("sr", "lanczos", {"scale": 3})]
    assert Recipe("off").steps(photo()) == []
    [upscaler] = Recipe("off", upscale=2).steps(photo())  # unnamed: the pipeline's choice
    assert upscaler.method == default_methods()["sr"]
    with pytest.raises(BrightroomError, match="unknown sr method"):
        Recipe(upscale=2, upscale_method="magic")


def test_a_recipe_change_is_redone_and_a_foreign_file_needs_overwrite(folder, tmp_path):
    out = tmp_path / "out"
    run_batch(folder, out, FAST, workers=1, progress=False)
    redone = run_batch(folder, out, "upscale2", workers=1, progress=False)
    assert redone.counts() == {"done": 3, "skipped": 0, "failed": 1}
    assert all("redone: the recipe changed" in o.message for o in redone.done)
    assert read_image(out / "a.png").pixels.shape == (96, 128, 3)
    assert run_batch(folder, out, "upscale2", workers=1, progress=False).counts()["skipped"] == 3
    other = tmp_path / "other"
    other.mkdir()
    write_image(other / "a.png", photo(seed=9))  # not written by a batch
    foreign = run_batch(folder, other, FAST, workers=1, progress=False)
    assert {o.source.name: o.status for o in foreign.outcomes}["a.png"] == "failed"
    assert "--overwrite" in next(o.message for o in foreign.failed if o.source.name == "a.png")
    forced = run_batch(folder, other, FAST, workers=1, progress=False, overwrite=True)
    assert {o.source.name: o.status for o in forced.outcomes}["a.png"] == "done"


def test_stale_temporaries_go_and_an_unwritable_output_folder_fails_first(folder, tmp_path):
    import os

    out = tmp_path / "out"
    out.mkdir()
    (out / ".a.png.1234abcd.tmp").write_bytes(b"left by a killed run")
    run_batch(folder, out, FAST, workers=1, progress=False)
    assert not list(out.rglob("*.tmp"))
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root writes anywhere: a file in the way instead
            locked.chmod(0o700)
            locked.rmdir()
            locked.write_text("a file, not a folder")
        with pytest.raises(BrightroomError, match="output folder"):
            run_batch(folder, locked, FAST, workers=1, progress=False)
    finally:
        if locked.is_dir():
            locked.chmod(0o700)


def test_summary_of_nothing(tmp_path):
    (tmp_path / "empty").mkdir()
    summary = run_batch(tmp_path / "empty", tmp_path / "out", "auto", progress=False)
    assert isinstance(summary, BatchSummary) and summary.outcomes == [] and summary.ok


# ---------------------------------------------------------------- the Ray engine


def test_the_ray_engine_on_a_local_two_cpu_ray(folder, tmp_path):
    pytest.importorskip("ray.data", reason="Ray Data is not installed (pip install 'brightroom[ray]')")
    import ray

    out = tmp_path / "out"
    run_batch(folder, out, FAST, workers=1, progress=False)
    (out / "a.png").unlink()
    (out / "b.jpg").unlink()  # c.png stays: already done, skipped
    summary = run_batch(folder, out, FAST, engine="ray", workers=2, progress=False)
    assert summary.engine == "ray"
    assert {o.source.name: o.status for o in summary.outcomes} == {
        "a.png": "done", "b.jpg": "done", "c.png": "skipped", "broken.jpg": "failed"}
    assert "corrupt" in summary.failed[0].message
    assert read_image(out / "a.png").pixels.shape == (48, 64, 3)
    assert not ray.is_initialized()  # the Ray it started is stopped again


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except OSError:
                pass
    return found


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_killing_the_batch_process_ends_its_workers(tmp_path):
    import signal
    import subprocess
    import time

    source = tmp_path / "in"
    source.mkdir()
    for index in range(6):
        write_image(source / f"p{index}.png", smooth_image(400, 600, 3, seed=index))
    batch = subprocess.Popen([sys.executable, "-m", "brightroom.cli", "batch", str(source), str(tmp_path / "out"),
                              "--recipe", "upscale2", "--workers", "2"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(_children(batch.pid)) < 3:  # the pool's 2 and its tracker
            time.sleep(0.1)
        workers = _children(batch.pid)
        assert len(workers) >= 2
    finally:
        os.kill(batch.pid, signal.SIGKILL)
        batch.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_running(pid) for pid in workers):
        time.sleep(0.1)
    assert not any(_running(pid) for pid in workers)

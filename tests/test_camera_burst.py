"""Tests for burst alignment and merging, and the burst benchmark (brightroom.camera, brightroom.bench.burst)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data as skdata

from brightroom.bench.burst import (
    BORDER,
    READ_NOISE,
    SHOT_NOISE,
    markdown_burst_table,
    masked_psnr,
    run_burst_benchmark,
    synthesize_burst,
)
from brightroom.camera import (
    align_burst,
    estimate_flow,
    estimate_noise_model,
    merge_bayer,
    merge_burst,
    merge_raw_burst,
    unprocess,
    warp,
    write_raw_dng,
)
from brightroom.camera.raw import develop
from brightroom.degrade import add_poisson_gaussian_noise
from brightroom.errors import BrightroomError
from brightroom.io import write_image
from brightroom.metrics import psnr
from brightroom.pipeline import burst_denoiser

NOISE = (SHOT_NOISE, READ_NOISE)


def scene(size: int = 128, which: str = "astronaut") -> np.ndarray:
    image = getattr(skdata, which)()
    top, left = (image.shape[0] - size) // 2, (image.shape[1] - size) // 2
    return (image[top : top + size, left : left + size] / 255.0).astype(np.float32)


@pytest.fixture(scope="module")
def static_burst():
    return synthesize_burst(scene(160, "coffee"), 8, seed=11)


@pytest.fixture(scope="module")
def moving_burst():
    return synthesize_burst(scene(160, "coffee"), 8, motion=True, seed=12)


# ---------------------------------------------------------------- alignment


@pytest.mark.parametrize("shift", [(0.3, 0.7), (2.6, -1.4), (-9.25, 5.5)])
def test_alignment_recovers_a_known_shift_to_subpixel_accuracy(shift):
    gray = scene(128).mean(axis=2)
    moved = cv2.warpAffine(gray, np.float32([[1, 0, shift[0]], [0, 1, shift[1]]]), (128, 128),
                           flags=cv2.INTER_LANCZOS4, borderMode=cv2.BORDER_REFLECT)
    noisy_ref = add_poisson_gaussian_noise(gray, 0.002, 0.005, seed=1)
    noisy_moved = add_poisson_gaussian_noise(moved, 0.002, 0.005, seed=2)
    flow = estimate_flow(noisy_ref, noisy_moved)
    assert flow.shape == (128, 128, 2)
    inner = flow[24:-24, 24:-24]
    np.testing.assert_allclose(np.median(inner, axis=(0, 1)), shift, atol=0.05)
    errors = np.abs(inner - np.array(shift)).max(axis=2)
    assert np.median(errors) < 0.15


def test_alignment_follows_a_rotation():
    image = scene(160)
    matrix = cv2.getRotationMatrix2D((79.5, 79.5), 1.0, 1.0)
    matrix[:, 2] += (1.5, -0.75)
    moved = cv2.warpAffine(image, matrix, (160, 160), flags=cv2.INTER_LANCZOS4, borderMode=cv2.BORDER_REFLECT)
    aligned = align_burst([image, moved])[1]
    inner = (slice(24, -24), slice(24, -24))
    assert psnr(aligned[inner], image[inner]) > psnr(moved[inner], image[inner]) + 10
    assert psnr(aligned[inner], image[inner]) > 33


def test_warp_moves_content_by_the_flow():
    frame = np.arange(64, dtype=np.float32).reshape(8, 8)
    flow = np.zeros((8, 8, 2), np.float32)
    flow[..., 1] = 2.0  # content two rows further down in the frame
    assert warp(frame, flow)[2, 3] == frame[4, 3]


# ---------------------------------------------------------------- merging


def test_static_merge_gains_nearly_the_ideal_averaging_gain(static_burst):
    burst, truth, _ = static_burst
    reference = psnr(burst[0], truth, crop=BORDER)
    merged = merge_burst(burst, noise_model=NOISE, denoiser=burst_denoiser(3))
    assert merged.shape == truth.shape and merged.dtype == np.float32
    assert 0 <= merged.min() and merged.max() <= 1
    gain = psnr(merged, truth, crop=BORDER) - reference
    assert gain > 10 * np.log10(8) - 1.5  # the target: within 1.5 dB of 9.03 dB
    plain_average = np.mean(align_burst(burst), axis=0)
    assert psnr(merged, truth, crop=BORDER) > psnr(plain_average, truth, crop=BORDER)


def test_merge_measures_the_noise_itself(static_burst):
    burst, truth, _ = static_burst
    blind = psnr(merge_burst(burst, denoiser=burst_denoiser(3)), truth, crop=BORDER)
    informed = psnr(merge_burst(burst, noise_model=NOISE, denoiser=burst_denoiser(3)), truth, crop=BORDER)
    assert blind == pytest.approx(informed, abs=0.5)
    assert blind > psnr(burst[0], truth, crop=BORDER) + 7.5


def test_noise_model_is_measured_from_the_burst(static_burst):
    burst = static_burst[0]
    flows = [estimate_flow(burst[0].mean(axis=2), frame.mean(axis=2)) for frame in burst[1:4]]
    shot, read = estimate_noise_model(burst[0], burst[1:4], flows)
    assert shot == pytest.approx(SHOT_NOISE, rel=0.3)
    # The model at mid-gray (what matters) is within 15%.
    assert np.sqrt(shot * 0.5 + read**2) == pytest.approx(np.sqrt(SHOT_NOISE * 0.5 + READ_NOISE**2), rel=0.15)


def test_moving_object_does_not_ghost(moving_burst):
    burst, truth, mask = moving_burst
    merged = merge_burst(burst, noise_model=NOISE, denoiser=burst_denoiser(3))
    average = np.mean(align_burst(burst), axis=0)
    reference = masked_psnr(burst[0], truth, mask)
    # A plain average smears the object over its path; the robust merge does not.
    assert masked_psnr(average, truth, mask) < reference
    assert masked_psnr(merged, truth, mask) > reference + 4
    assert masked_psnr(merged, truth, mask) > masked_psnr(average, truth, mask) + 6
    # Where the object passed in other frames but the reference shows the background,
    # the merge keeps (almost) no trace of it.
    background = np.all(truth == scene(160, "coffee"), axis=2)
    ghost_zone = mask & background
    assert ghost_zone.mean() > 0.03
    assert masked_psnr(merged, truth, ghost_zone) > masked_psnr(average, truth, ghost_zone) + 4
    assert masked_psnr(merged, truth, ghost_zone) > masked_psnr(burst[0], truth, ghost_zone) + 6


def test_merge_with_a_white_noise_sigma():
    clean = scene(96)
    burst = [add_poisson_gaussian_noise(clean, 0, 20 / 255, seed=s) for s in range(4)]
    merged = merge_burst(burst, noise_sigma=20)
    assert psnr(merged, clean, crop=8) > psnr(burst[0], clean, crop=8) + 5


def test_gray_bursts_merge_too():
    clean = scene(96).mean(axis=2, keepdims=True)
    burst = [add_poisson_gaussian_noise(clean, 0.005, 0.01, seed=s) for s in range(4)]
    merged = merge_burst(burst)
    assert merged.shape == (96, 96, 1)
    assert psnr(merged, clean, crop=8) > psnr(burst[0], clean, crop=8) + 5


def test_merge_takes_frame_paths(tmp_path):
    clean = scene(64)
    paths = [write_image(tmp_path / f"f{i}.png", np.clip(add_poisson_gaussian_noise(clean, 0, 0.03, seed=i), 0, 1),
                         bit_depth=16) for i in range(3)]
    merged = merge_burst(paths)
    first = np.clip(add_poisson_gaussian_noise(clean, 0, 0.03, seed=0), 0, 1)
    assert psnr(merged, clean, crop=8) > psnr(first, clean, crop=8) + 3


def test_bayer_burst_merges_then_develops(tmp_path):
    clean, _, _ = synthesize_burst(scene(128), 6, seed=4, shot=0, read=0)
    raws = [unprocess(np.clip(frame, 0, 1), shot=0.004, read=0.006, seed=i) for i, frame in enumerate(clean)]
    truth = develop(unprocess(clean[0], shot=0, read=0), local_tone=0)
    merged_mosaic = merge_bayer([raw.mosaic for raw in raws])
    assert merged_mosaic.shape == raws[0].mosaic.shape
    paths = [write_raw_dng(tmp_path / f"b{i}.dng", raw) for i, raw in enumerate(raws)]
    merged = merge_raw_burst(paths, local_tone=0)
    single = develop(raws[0], local_tone=0)
    assert merged.shape == (128, 128, 3)
    assert psnr(merged, truth, crop=BORDER) > psnr(single, truth, crop=BORDER) + 4


# ---------------------------------------------------------------- bad input


def test_burst_errors(tmp_path):
    frame = scene(64)
    with pytest.raises(BrightroomError, match="a burst needs at least two frames, not 1"):
        merge_burst([frame])
    with pytest.raises(BrightroomError, match="list of frames"):
        merge_burst(frame)
    with pytest.raises(BrightroomError, match="same size: frame 1 is 64x64 but frame 2 is 64x48"):
        merge_burst([frame, frame[:48]])
    with pytest.raises(BrightroomError, match="all gray or all RGB"):
        merge_burst([frame, frame[..., :1]])
    with pytest.raises(BrightroomError, match="frame 2: .*NaN"):
        merge_burst([frame, np.full_like(frame, np.nan)])
    with pytest.raises(BrightroomError, match="at least 32x32"):
        merge_burst([frame[:20, :20], frame[:20, :20]])
    with pytest.raises(BrightroomError, match="reference frame must be an index from 0 to 1"):
        merge_burst([frame, frame], reference=2)
    with pytest.raises(BrightroomError, match="noise_sigma must be"):
        merge_burst([frame, frame], noise_sigma=-3)
    with pytest.raises(BrightroomError, match="not both"):
        merge_burst([frame, frame], noise_sigma=3, noise_model=(0, 0.01))
    with pytest.raises(BrightroomError, match="robustness must be a positive number"):
        merge_burst([frame, frame], noise_sigma=3, robustness=0)


def test_unreadable_frames_are_named(tmp_path):
    good = write_image(tmp_path / "good.png", scene(64))
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    with pytest.raises(BrightroomError, match="broken.png"):
        merge_burst([good, broken])
    with pytest.raises(BrightroomError, match="no such file"):
        merge_burst([good, tmp_path / "missing.png"])
    with pytest.raises(BrightroomError, match="not a camera RAW file"):
        merge_raw_burst([good, good])
    with pytest.raises(BrightroomError, match="at least two frames"):
        merge_raw_burst([good])


def test_raw_bursts_of_different_sizes_are_refused(tmp_path):
    a = write_raw_dng(tmp_path / "a.dng", unprocess(scene(64), shot=0, read=0))
    b = write_raw_dng(tmp_path / "b.dng", unprocess(scene(80)[:64, :80], shot=0, read=0))
    with pytest.raises(BrightroomError, match=r"same size: frame 1 is 64x64 but frame 2 \('.*b.dng'\) is 80x64"):
        merge_raw_burst([a, b])


# ---------------------------------------------------------------- the benchmark


def test_synthesized_bursts_move_like_a_hand_and_carry_the_noise_model():
    clean = scene(96)
    burst, truth, mask = synthesize_burst(clean, 4, seed=3)
    assert len(burst) == 4 and not mask.any()
    np.testing.assert_array_equal(truth, clean)
    residual = burst[0] - clean
    assert (residual / np.sqrt(SHOT_NOISE * clean + READ_NOISE**2)).std() == pytest.approx(1.0, abs=0.03)
    flow = estimate_flow(clean.mean(axis=2), np.clip(burst[1], 0, 1).mean(axis=2))
    assert 0.05 < np.abs(np.median(flow, axis=(0, 1))).max() < 4.5  # a handheld shift of a few pixels
    moving, truth, mask = synthesize_burst(clean, 4, motion=True, seed=3)
    assert 0.05 < mask.mean() < 0.5


def test_burst_benchmark_rows(image_folder):
    for index, path in enumerate(sorted(image_folder.iterdir())):
        write_image(path, scene(96, ("astronaut", "coffee", "chelsea")[index]), overwrite=True)
    rows = run_burst_benchmark([str(image_folder)], [4], limit=2, methods=("reference", "average", "merge"),
                               show_progress=False)
    assert [(r["method"], r["motion"]) for r in rows] == [
        ("reference", False), ("average", False), ("merge", False),
        ("reference", True), ("average", True), ("merge", True),
    ]
    for row in rows:
        assert row["task"] == "burst" and row["frames"] == 4 and row["images"] == 2
        assert row["dataset"] == "tiny-set" and row["seconds"] >= 0 and row["megapixels_per_second"] > 0
        assert ("psnr_moving" in row) == row["motion"]
    by = {(r["method"], r["motion"]): r for r in rows}
    assert by["merge", False]["psnr"] > by["reference", False]["psnr"] + 4
    assert by["merge", True]["psnr_moving"] > by["reference", True]["psnr_moving"] + 2
    table = markdown_burst_table(rows)
    assert table.count("\n") == len(rows) + 1 and "| tiny-set | 4 | yes | merge | 2 |" in table
    with pytest.raises(BrightroomError, match="frame counts of at least 2"):
        run_burst_benchmark([str(image_folder)], [1])
    with pytest.raises(BrightroomError, match="unknown burst method 'median'"):
        run_burst_benchmark([str(image_folder)], [4], methods=("median",))

"""Tests for HDR from bracketed exposures (brightroom.camera.hdr)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data as skdata

from brightroom.camera import fuse_exposures, merge_hdr, merge_radiance
from brightroom.color import linear_to_srgb, srgb_to_linear
from brightroom.errors import BrightroomError
from brightroom.io import write_image

TIMES = [1 / 400, 1 / 100, 1 / 25]


def hdr_scene() -> np.ndarray:
    """Linear radiance spanning about 12 stops: a photo under light that falls off from right to left."""
    photo = srgb_to_linear((skdata.chelsea()[100:196, 150:278] / 255.0).astype(np.float32))
    light = np.geomspace(1 / 8, 8, photo.shape[1], dtype=np.float32)[None, :, None]
    radiance = photo * light + 1e-3
    return radiance / radiance.max()


def bracket(radiance: np.ndarray, times=TIMES) -> list[np.ndarray]:
    """What a camera with an sRGB response records at each exposure time (clipped, 16-bit levels);
    the shortest exposure just holds the brightest point."""
    return [np.round(linear_to_srgb(np.clip(0.95 * radiance * t / times[0], 0, 1)) * 65535) / 65535 for t in times]


def test_exposure_fusion_range_and_detail():
    frames = bracket(hdr_scene())
    fused = fuse_exposures(frames)
    assert fused.shape == frames[0].shape and fused.dtype == np.float32
    assert fused.min() >= 0 and fused.max() <= 1
    dark, bright = (slice(None), slice(0, 24)), (slice(None), slice(-24, None))
    # Shadows brighter than in the short exposure, highlights less clipped than in the long one.
    assert fused[dark].mean() > 3 * frames[0][dark].mean()
    assert (fused[bright] >= 0.999).mean() < 0.5 * (frames[2][bright] >= 0.999).mean()
    # Local contrast survives in both ends (the fused picture is not flat).
    assert fused[dark].std() > 0.02 and fused[bright].std() > 0.02


def test_exposure_fusion_weights_change_the_result():
    frames = bracket(hdr_scene())
    plain = fuse_exposures(frames)
    well_exposed_only = fuse_exposures(frames, contrast_weight=0, saturation_weight=0)
    assert np.abs(plain - well_exposed_only).mean() > 0.005


def test_radiance_merge_recovers_relative_radiance():
    radiance = hdr_scene()
    recovered = merge_radiance(bracket(radiance), TIMES)
    assert recovered.shape == radiance.shape and np.isfinite(recovered).all()
    # Up to one global scale, the recovered radiance follows the scene over its whole range.
    log_ratio = np.log(recovered[..., 1] + 1e-6) - np.log(radiance[..., 1])
    assert np.std(log_ratio[radiance[..., 1] > 2e-3]) < 0.15
    assert np.corrcoef(np.log(recovered.ravel() + 1e-6), np.log(radiance.ravel()))[0, 1] > 0.98


def test_calibrated_response_also_works():
    radiance = hdr_scene()
    recovered = merge_radiance(bracket(radiance), TIMES, response="calibrate")
    assert np.corrcoef(np.log(recovered.ravel() + 1e-6), np.log(radiance.ravel()))[0, 1] > 0.95


@pytest.mark.parametrize("tone_mapping", ["reinhard", "drago", "mantiuk"])
def test_merge_hdr_output_range(tone_mapping):
    frames = bracket(hdr_scene())
    out = merge_hdr(frames, TIMES, tone_mapping=tone_mapping)
    assert out.shape == frames[0].shape and out.dtype == np.float32
    assert out.min() >= 0 and out.max() <= 1 and np.isfinite(out).all()
    left, right = out[:, :24].mean(), out[:, -24:].mean()
    assert 0.05 < left < right < 0.95  # the 10-stop ramp is compressed into the display range, in order


def test_alignment_of_a_handheld_bracket():
    frames = bracket(hdr_scene())
    # The camera moved between the middle exposure and the others.
    move = np.float32([[1, 0, 3], [0, 1, -2]])
    shifted = [cv2.warpAffine(frame, move, (128, 96), borderMode=cv2.BORDER_REFLECT) for frame in frames]
    shifted[1] = frames[1]
    reference = fuse_exposures(frames)
    inner = (slice(8, -8), slice(8, -8))
    unaligned_error = np.abs(fuse_exposures(shifted) - reference)[inner].mean()
    aligned_error = np.abs(fuse_exposures(shifted, align=True) - reference)[inner].mean()
    assert aligned_error < 0.5 * unaligned_error


def test_gray_brackets_stay_gray():
    frames = [frame.mean(axis=2, keepdims=True) for frame in bracket(hdr_scene())]
    assert fuse_exposures(frames).shape == (96, 128, 1)
    assert merge_hdr(frames, TIMES).shape == (96, 128, 1)


def test_hdr_bad_input(tmp_path):
    frames = bracket(hdr_scene())
    with pytest.raises(BrightroomError, match="an exposure bracket needs at least two frames, not 1"):
        fuse_exposures(frames[:1])
    with pytest.raises(BrightroomError, match="same size"):
        merge_hdr([frames[0], frames[1][:64]], TIMES[:2])
    with pytest.raises(BrightroomError, match="one exposure time per frame: 3 frames but 2 times"):
        merge_hdr(frames, TIMES[:2])
    with pytest.raises(BrightroomError, match="positive numbers of seconds"):
        merge_radiance(frames, [0.01, 0, 0.1])
    with pytest.raises(BrightroomError, match="unknown tone mapping 'filmic'"):
        merge_hdr(frames, TIMES, tone_mapping="filmic")
    with pytest.raises(BrightroomError, match="unknown camera response 'log'"):
        merge_radiance(frames, TIMES, response="log")
    with pytest.raises(BrightroomError, match="contrast_weight must be 0 or more"):
        fuse_exposures(frames, contrast_weight=-1)
    good = write_image(tmp_path / "a.png", frames[0])
    with pytest.raises(BrightroomError, match="no such file"):
        fuse_exposures([good, tmp_path / "b.png"])

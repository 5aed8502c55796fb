"""The shipped learned denoisers: loading, quality on a real photo, tiling, blind mode, bad input."""

import numpy as np
import pytest

from brightroom import denoise
from brightroom.degrade import add_gaussian_noise, add_poisson_gaussian_noise, poisson_gaussian_std
from brightroom.errors import BrightroomError
from brightroom.metrics import psnr, to_8bit_levels
from brightroom.nn.inference import _tile_spans, denoise_tiled, run_padded
from brightroom.nn.registry import read_metadata
from brightroom.nn.zoo import get_model, load_model


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    from skimage import data

    return data.astronaut()[100:356, 120:440].astype(np.float32) / 255.0  # 256 x 320 crop


@pytest.mark.parametrize("name, channels", [("denoise-color", 3), ("denoise-gray", 1)])
def test_shipped_weights_load_with_their_recipe(name, channels):
    model = load_model(name)
    assert model.channels == channels and not model.training
    metadata = read_metadata(get_model(name).weights)
    assert metadata["architecture"] == "NoiseLevelUNet" and int(metadata["steps"]) > 0
    assert get_model(name).weights.stat().st_size < 5_000_000


@pytest.mark.parametrize("channels", [3, 1])
def test_learned_denoiser_beats_nlm_on_a_real_photo(photo, channels):
    clean = photo if channels == 3 else photo.mean(axis=2, keepdims=True)
    noisy = add_gaussian_noise(clean, 25, seed=0)
    learned = psnr(denoise(noisy, 25, method="brightroom"), clean)
    assert learned > psnr(noisy, clean) + 8
    assert learned > psnr(denoise(noisy, 25, method="nlm"), clean) + 1


def test_tiled_and_whole_image_agree_within_one_level(photo, precision):
    precision("fp32")  # the tiling is what is tested: int8 quantises each tile by its own context
    net = load_model("denoise-color")
    noisy = add_gaussian_noise(np.tile(photo, (2, 2, 1)), 30, seed=1)  # 512 x 640
    whole = run_padded(net, noisy, 30 / 255)
    tiled = denoise_tiled(net, noisy, 30 / 255, tile=256, overlap=96, margin=32)
    assert np.abs(to_8bit_levels(whole) - to_8bit_levels(tiled)).max() <= 1


def test_blind_mode_estimates_sigma(photo):
    noisy = add_gaussian_noise(photo, 15, seed=2)
    blind = psnr(denoise(noisy, method="brightroom"), photo)
    informed = psnr(denoise(noisy, 15, method="brightroom"), photo)
    assert blind == pytest.approx(informed, abs=0.3)


def test_signal_dependent_noise_with_a_sigma_map(photo):
    noisy = add_poisson_gaussian_noise(photo, shot=0.01, read=0.01, seed=3)
    sigma_map = poisson_gaussian_std(photo, 0.01, 0.01).mean(axis=2) * 255
    restored = denoise(noisy, method="brightroom", sigma=None)
    from brightroom.tasks import get_method

    mapped = np.clip(get_method("denoise", "brightroom").run(noisy, sigma_map), 0, 1)
    assert psnr(mapped, photo) > psnr(noisy, photo) + 6
    assert psnr(restored, photo) > psnr(noisy, photo) + 5


@pytest.mark.parametrize(
    "image, sigma, message",
    [
        (np.zeros((32, 32, 2), np.float32), 10, "shape"),
        (np.full((32, 32, 3), np.nan, np.float32), 10, "NaN"),
        (np.zeros((32, 32, 3), np.float32), 76, "sigma must be from 0 to 75"),
    ],
)
def test_bad_input_is_a_clear_error(image, sigma, message):
    with pytest.raises(BrightroomError, match=message):
        denoise(image, sigma=sigma, method="brightroom")


@pytest.mark.parametrize("length, tile, overlap, multiple", [(1000, 512, 96, 8), (4000, 1024, 96, 8), (97, 48, 24, 1),
                                                             (2049, 256, 64, 4), (513, 512, 96, 8)])
def test_tiles_cover_the_image_evenly_with_the_overlap(length, tile, overlap, multiple):
    spans = _tile_spans(length, tile, overlap, multiple)
    assert spans[0][0] == 0 and spans[-1][1] == length
    assert all(start % multiple == 0 and end - start < tile + multiple for start, end in spans)
    assert all(spans[i][1] - spans[i + 1][0] >= overlap for i in range(len(spans) - 1))
    # at most one tile more than the overlap forces, and no tile much larger than the others
    assert len(spans) <= -(-(length - overlap) // (tile - overlap)) + 1
    sizes = [end - start for start, end in spans]
    assert max(sizes) - min(sizes) < multiple


@pytest.mark.parametrize("height, width", [(37, 45), (8, 13), (40, 48)])
def test_padding_mirrors_the_bottom_and_right_edges(height, width, precision):
    """run_padded pads to the network's multiple by mirroring without repeating the edge (as
    torch's 'reflect'), repeats the sigma map's edge, and crops back; a constant map is a scalar."""
    import torch
    from torch.nn import functional as F

    from brightroom.nn.denoiser import NoiseLevelUNet

    precision("fp32")  # compared with float32 PyTorch, so no bf16 rounding on CPUs that have it
    torch.manual_seed(0)
    net = NoiseLevelUNet(3, (8, 16, 32), 1).eval()
    image = np.random.default_rng(1).random((height, width, 3)).astype(np.float32)
    pad_h, pad_w = -height % 8, -width % 8
    x = F.pad(torch.from_numpy(image.transpose(2, 0, 1).copy())[None], (0, pad_w, 0, pad_h), mode="reflect")
    with torch.no_grad():
        expected = net(x, torch.full((1, 1, height + pad_h, width + pad_w), 0.1))[0, :, :height, :width]
    out = run_padded(net, image, 0.1)
    assert out.shape == (height, width, 3)
    assert np.abs(out - expected.permute(1, 2, 0).numpy()).max() < 1e-5
    assert np.abs(run_padded(net, image, np.full((height, width), 0.1, np.float32)) - out).max() < 1e-6


def test_bad_tiling_is_refused():
    with pytest.raises(ValueError, match="bad tiling"):
        denoise_tiled(load_model("denoise-color"), np.zeros((64, 64, 3), np.float32), 0.1, tile=100)


def test_the_noise_level_controls_how_much_is_removed(photo):
    untouched = psnr(denoise(photo, 0, method="brightroom"), photo)
    assert untouched > 35  # told there is no noise, a clean photo comes back nearly as it was
    assert untouched > psnr(denoise(photo, 10, method="brightroom"), photo) + 1


def test_bf16_and_fp32_inference_agree(photo, precision):
    noisy = add_gaussian_noise(photo, 25, seed=4)
    results = {}
    for value in ("fp32", "bf16"):
        assert precision(value) == value
        results[value] = psnr(denoise(noisy, 25, method="brightroom"), photo)
    assert results["bf16"] == pytest.approx(results["fp32"], abs=0.05)


def test_a_bad_precision_setting_is_a_clear_error(precision):
    with pytest.raises(BrightroomError, match="BRIGHTROOM_PRECISION must be one of auto, fp32, bf16, int8, not 'fast'"):
        precision("fast")


def test_self_ensemble_is_better_and_turns_sigma_maps_with_the_image(photo):
    noisy = add_gaussian_noise(photo, 15, seed=5)
    single = psnr(denoise(noisy, 15, method="brightroom"), photo)
    assert psnr(denoise(noisy, 15, method="brightroom-ensemble"), photo) > single + 0.05
    # noise on the left half only, and a map that says so: the clean right half is left about
    # as it came (1.1 levels off on average), where a map turned the wrong way smooths it (2.3)
    sigma_map = np.zeros(photo.shape[:2], np.float32)
    sigma_map[:, : photo.shape[1] // 2] = 15
    half = np.where(sigma_map[..., None] > 0, noisy, photo)
    restored = denoise(half, sigma_map, method="brightroom-ensemble")
    right = slice(photo.shape[1] // 2 + 16, None)
    assert np.abs(restored[:, right] - photo[:, right]).mean() < 1.6 / 255
    left = slice(0, photo.shape[1] // 2 - 16)
    assert psnr(restored[:, left], photo[:, left]) > psnr(noisy[:, left], photo[:, left]) + 5


def test_self_ensemble_sizes():
    from brightroom.nn.inference import self_ensemble

    image = np.random.default_rng(0).random((5, 7, 2)).astype(np.float32)
    def column_ramp(view):
        return view + np.arange(view.shape[1], dtype=np.float32)[None, :, None]

    # orientation matters to this function, so the mean over 2 (identity and a vertical flip,
    # which keeps columns) still equals one pass, while 4 (with quarter turns) does not
    np.testing.assert_allclose(self_ensemble(column_ramp, image, 2), column_ramp(image), atol=1e-6)
    assert not np.allclose(self_ensemble(column_ramp, image, 4), column_ramp(image))
    with pytest.raises(BrightroomError, match="1, 2, 4 or 8"):
        self_ensemble(column_ramp, image, 3)


def test_a_published_dncnn_runs_as_a_weights_method_beside_brightroom(tmp_path):
    import importlib.util

    from brightroom.cli import main
    from brightroom.io import read_image, write_image
    from conftest import shared_raw

    anchor = shared_raw("../anchors/dncnn_color_sigma25.pth")
    if importlib.util.find_spec("spandrel") is None:
        pytest.skip("spandrel is not installed")
    clean = read_image(sorted((anchor.parent.parent / "datasets" / "test" / "CBSD68").glob("*.png"))[0]).pixels
    noisy = add_gaussian_noise(clean, 25, seed=0)
    theirs = denoise(noisy, 25, method=f"weights:{anchor}")
    assert psnr(theirs, clean) > psnr(noisy, clean) + 6
    source = write_image(tmp_path / "noisy.png", np.clip(noisy, 0, 1))
    assert main(["denoise", str(source), "--weights", str(anchor), "-o", str(tmp_path / "out.png")]) == 0
    assert psnr(read_image(tmp_path / "out.png").pixels, clean) > psnr(noisy, clean) + 6
    with pytest.raises(BrightroomError, match="not a denoiser|does not exist"):
        denoise(noisy, 25, method=f"weights:{tmp_path / 'missing.pth'}")


def test_tiled_runs_report_each_tile_to_the_context_listener():
    from brightroom.nn.inference import TILE_PROGRESS, run_tiled

    seen = []
    token = TILE_PROGRESS.set(lambda done, total: seen.append((done, total)))
    try:
        run_tiled(lambda crop, rows, cols: crop, np.zeros((100, 70, 1), np.float32), tile=48, overlap=24, margin=4)
    finally:
        TILE_PROGRESS.reset(token)
    assert seen and seen[-1][0] == seen[-1][1] == len(seen)


def test_the_operators_own_weights_are_named_methods_on_the_server_and_in_batch(tmp_path, monkeypatch):
    import importlib.util

    from fastapi.testclient import TestClient

    from brightroom import tasks
    from brightroom.cli import main
    from brightroom.io import read_image, write_image
    from brightroom.serve.app import create_app
    from brightroom.serve.settings import Settings
    from brightroom.tasks import register_weights
    from conftest import shared_raw

    anchor = shared_raw("../anchors/dncnn_color_sigma25.pth")
    if importlib.util.find_spec("spandrel") is None:
        pytest.skip("spandrel is not installed")
    tasks.task_names()  # the registry filled, then copied: the names registered here end with the test
    monkeypatch.setattr(tasks, "_REGISTRY", {task: dict(known) for task, known in tasks._REGISTRY.items()})
    monkeypatch.setattr(tasks, "_NAMED_WEIGHTS", {})
    with TestClient(create_app(Settings(workers=1, weights=(("dncnn25", str(anchor)),)))) as client:
        listed = client.get("/v1/methods").json()["tasks"]["denoise"]
        assert any(m["name"] == "dncnn25" and "DnCNN" in m["summary"] for m in listed)
        # a request names a method, never a file on the server
        answer = client.post("/v1/enhance", files={"image": ("a.png", b"x", "image/png")},
                             data={"method": f"weights:{anchor}"})
        assert answer.status_code == 400 and "never a weights file" in answer.json()["error"]
    with pytest.raises(BrightroomError, match="is taken"):
        register_weights("brightroom-real", anchor)
    with pytest.raises(BrightroomError, match="lower-case letters"):
        register_weights("My Model", anchor)
    folder = tmp_path / "in"
    folder.mkdir()
    clean = np.full((48, 64, 3), 0.5, np.float32)
    write_image(folder / "a.png", np.clip(add_gaussian_noise(clean, 25, seed=1), 0, 1))
    assert main(["batch", str(folder), str(tmp_path / "out"), "--recipe", "denoise", "--weights", str(anchor),
                 "--workers", "1", "--quiet"]) == 0
    assert psnr(read_image(tmp_path / "out" / "a.png").pixels, clean) > 35
    assert main(["batch", str(folder), str(tmp_path / "up"), "--recipe", "upscale2", "--weights", str(anchor)]) == 2

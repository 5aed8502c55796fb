"""The camera commands from the command line: develop, burst, hdr, and their errors."""

import numpy as np
import pytest

from brightroom.camera import unprocess_to_dng
from brightroom.cli import main
from brightroom.degrade import add_gaussian_noise
from brightroom.io import read_image, write_image
from conftest import smooth_image


def test_develop_writes_a_16_bit_tiff_by_default(tmp_path, capsys):
    source = unprocess_to_dng(tmp_path / "scene.dng", smooth_image(64, 80, 3), shot=0.0, read=0.0)
    assert main(["develop", str(source)]) == 0
    output = tmp_path / "scene-developed.tif"
    assert capsys.readouterr().out.strip() == str(output)
    developed = read_image(output)
    assert developed.bit_depth == 16 and developed.pixels.shape == (64, 80, 3)


def test_burst_merges_noisy_frames(tmp_path):
    from skimage import data

    scene = data.astronaut()[100:228, 150:278].astype(np.float32) / 255  # a natural photo: denoisers expect one
    frames = [write_image(tmp_path / f"f{i}.png", np.clip(add_gaussian_noise(scene, 20, seed=i), 0, 1)) for i in range(4)]
    assert main(["burst", *map(str, frames), "-o", str(tmp_path / "merged.png")]) == 0
    merged = read_image(tmp_path / "merged.png").pixels
    assert np.abs(merged - scene).mean() < 0.6 * np.abs(read_image(frames[0]).pixels - scene).mean()


def test_hdr_fuses_bracketed_exposures(tmp_path):
    scene = smooth_image(64, 64, 3)
    frames = [write_image(tmp_path / f"e{i}.png", np.clip(scene * gain, 0, 1)) for i, gain in enumerate((0.5, 1.0, 2.0))]
    assert main(["hdr", *map(str, frames), "-o", str(tmp_path / "hdr.tif")]) == 0
    fused = read_image(tmp_path / "hdr.tif")
    assert fused.pixels.shape == (64, 64, 3) and 0.05 < fused.pixels.mean() < 0.95


@pytest.mark.parametrize("command", ["burst", "hdr"])
def test_camera_commands_refuse_a_single_frame_and_mixed_sizes(tmp_path, capsys, command):
    one = write_image(tmp_path / "one.png", smooth_image(64, 64, 3))
    other = write_image(tmp_path / "other.png", smooth_image(64, 72, 3))
    assert main([command, str(one), "-o", str(tmp_path / "out.png")]) == 2
    assert "at least two frames" in capsys.readouterr().err
    assert main([command, str(one), str(other), "-o", str(tmp_path / "out.png")]) == 2
    assert not (tmp_path / "out.png").exists()


def test_develop_refuses_a_non_raw_file(tmp_path, capsys):
    source = write_image(tmp_path / "photo.png", smooth_image(32, 32, 3))
    assert main(["develop", str(source), "-o", str(tmp_path / "out.tif")]) == 2
    assert "brightroom: error:" in capsys.readouterr().err
    assert not (tmp_path / "out.tif").exists()


def test_bad_white_balance_is_a_clear_error(tmp_path, capsys):
    source = unprocess_to_dng(tmp_path / "scene.dng", smooth_image(32, 32, 3))
    assert main(["develop", str(source), "--white-balance", "1,2"]) == 2
    assert "--white-balance takes" in capsys.readouterr().err


@pytest.mark.parametrize("suffix", [".tif", ".png", ".jpg"])
def test_camera_outputs_carry_the_sources_exif_and_an_srgb_profile(tmp_path, suffix):
    from PIL import Image

    from brightroom.io import write_dng
    from brightroom.io.metadata import icc_profile_name

    mosaic = (np.tile([[0.5, 0.3], [0.3, 0.2]], (32, 40)) * 60000).astype(np.uint16)
    frames = [write_dng(tmp_path / f"f{i}.dng", mosaic, make="TestMake", model="TestCam") for i in range(2)]
    exif = Image.Exif()
    exif[271], exif[272], exif[274] = "PhoneMake", "PhoneCam", 6  # rotated: outputs must say 1
    jpegs = []
    for index, exposure in enumerate((0.3, 0.7)):
        jpegs.append(tmp_path / f"b{index}.jpg")
        Image.fromarray(np.full((48, 64, 3), int(exposure * 255), np.uint8)).save(jpegs[-1], exif=exif.tobytes())
    runs = {
        "develop": (["develop", str(frames[0])], "TestMake"),
        "burst": (["burst", *map(str, frames)], "TestMake"),
        "hdr": (["hdr", *map(str, jpegs)], "PhoneMake"),
    }
    for command, (args, make) in runs.items():
        output = tmp_path / f"{command}{suffix}"
        assert main([*args, "-o", str(output)]) == 0
        with Image.open(output) as written:
            tags = written.getexif()
            assert tags.get(271) == make and tags.get(274, 1) == 1, command
            assert "sRGB" in icc_profile_name(written.info.get("icc_profile")), command


def test_one_raw_path_the_cli_batch_and_server_develop_alike(tmp_path):
    from fastapi.testclient import TestClient

    from brightroom.batch import run_batch
    from brightroom.serve import Settings, create_app

    folder = tmp_path / "raws"
    folder.mkdir()
    source = unprocess_to_dng(folder / "scene.dng", smooth_image(64, 80, 3), shot=0.0, read=0.0)
    assert main(["develop", str(source), "-o", str(tmp_path / "cli.tif")]) == 0
    cli = read_image(tmp_path / "cli.tif").pixels
    assert run_batch(folder, tmp_path / "batch", "develop", workers=1, progress=False).ok
    batch = read_image(tmp_path / "batch" / "scene.tif").pixels
    with TestClient(create_app(Settings(work_dir=tmp_path / "work"))) as client:
        answer = client.post("/v1/enhance", files={"image": ("scene.dng", source.read_bytes())},
                             data={"enhance": "off", "format": "tiff"})
        assert answer.status_code == 200, answer.text
    (tmp_path / "server.tif").write_bytes(answer.content)
    server = read_image(tmp_path / "server.tif").pixels
    assert cli.shape == batch.shape == server.shape == (64, 80, 3)
    assert np.array_equal(cli, batch) and np.array_equal(cli, server)

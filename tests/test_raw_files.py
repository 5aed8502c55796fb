"""Real RAW files that are broken: every stripped file of ../shared/raw/stripped and truncated
copies of a real DNG end in one sentence and exit 2, with no output file and nothing from LibRaw."""

import subprocess
import sys

import pytest

from conftest import shared_raw

STRIPPED = ["CanonRaw.cr2", "CanonRaw.cr3", "CanonRaw.crw", "DNG.dng", "FujiFilm.raf", "KyoceraRaw.raw",
            "Minolta.mrw", "Nikon.nef", "Panasonic.rw2", "PhaseOne.iiq", "Sigma.x3f", "SigmaDP2.x3f"]


def _brightroom(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "brightroom.cli", *args], capture_output=True, text=True, timeout=120)


def _assert_refused(result: subprocess.CompletedProcess, output) -> None:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("brightroom: error: cannot read"), result.stderr
    assert not output.exists()


@pytest.mark.parametrize("name", STRIPPED)
def test_a_stripped_raw_is_refused_by_develop_and_enhance(name, tmp_path):
    source = shared_raw(f"stripped/{name}")
    for command in ("develop", "enhance"):
        output = tmp_path / f"{command}.tif"
        _assert_refused(_brightroom(command, str(source), "-o", str(output)), output)


def test_info_shows_a_stripped_raws_header_then_the_error():
    result = _brightroom("info", str(shared_raw("stripped/Nikon.nef")))
    assert result.returncode == 2 and "NIKON D70" in result.stdout
    assert result.stderr.strip().splitlines() == [line for line in result.stderr.strip().splitlines()
                                                   if line.startswith("brightroom: error:")]


@pytest.mark.parametrize("share", [0.2, 0.5, 0.9, 0.99])
def test_a_truncated_dng_is_refused_never_developed(share, tmp_path):
    data = shared_raw("Blackmagic.dng").read_bytes()
    truncated = tmp_path / "cut.dng"
    truncated.write_bytes(data[: int(len(data) * share)])
    output = tmp_path / "out.tif"
    _assert_refused(_brightroom("develop", str(truncated), "-o", str(output)), output)


def test_a_real_linear_dng_develops_close_to_libraw(tmp_path):
    import numpy as np

    from brightroom.io import read_image

    source = shared_raw("canon_eos_6d.dng")
    output = tmp_path / "6d.png"
    result = _brightroom("develop", str(source), "-o", str(output))
    assert result.returncode == 0, result.stderr
    ours, libraw = read_image(output).pixels, read_image(source).pixels  # read_image: LibRaw's own rendering
    assert ours.shape == libraw.shape == (816, 1224, 3)
    assert np.abs(ours.mean(axis=(0, 1)) - libraw.mean(axis=(0, 1))).max() < 0.02
    assert "denoised after development (brightroom-real" in result.stderr


def test_a_linear_dng_written_as_dng_says_it_is_not_denoised(tmp_path):
    result = _brightroom("develop", str(shared_raw("canon_eos_6d.dng")), "-o", str(tmp_path / "6d.dng"))
    assert result.returncode == 0 and (tmp_path / "6d.dng").is_file(), result.stderr
    assert "not denoised as RAW (the data is not a Bayer mosaic); written as DNG; developed to an image" in result.stderr


def test_the_server_answers_a_stripped_raw_with_a_422(tmp_path):
    import time

    from fastapi.testclient import TestClient

    from brightroom.serve import Settings, create_app

    source = shared_raw("stripped/Nikon.nef")  # its header declares 6 MP: a job, not /v1/enhance
    with TestClient(create_app(Settings(work_dir=tmp_path))) as client:
        job = client.post("/v1/jobs", files={"image": ("photo.nef", source.read_bytes())}).json()
        for _ in range(200):
            status = client.get(f"/v1/jobs/{job['id']}").json()
            if status["status"] in ("done", "failed"):
                break
            time.sleep(0.05)
        answer = client.get(f"/v1/jobs/{job['id']}/result")
    assert status["status"] == "failed" and "truncated or corrupt" in status["error"]
    assert answer.status_code == 422 and str(tmp_path) not in answer.json()["error"]

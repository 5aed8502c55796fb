"""The web service's REST API: every happy path and every error path, through FastAPI's TestClient.

Images are 64 px and explicit recipes use the 'nlm' denoiser, so the whole file runs in seconds.
"""

from __future__ import annotations

import io
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi")
with warnings.catch_warnings():  # Starlette's notice that it prefers httpx2 to httpx for its test client
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from brightroom.errors import BrightroomError
from brightroom.io import write_dng, write_image
from brightroom.serve import Settings, create_app
from brightroom.tasks import methods, task_names

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

FAST = {"enhance": "denoise", "method": "nlm"}


# ---------------------------------------------------------------- helpers


def noisy_pixels(size: int = 64, seed: int = 0) -> np.ndarray:
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    clean = np.stack([x, y, 0.5 * (x + y)], axis=-1)
    noise = np.random.default_rng(seed).normal(0, 0.06, clean.shape).astype(np.float32)
    return np.clip(clean + noise, 0, 1)


def encoded(suffix: str = ".png", size: int = 64, tmp: Path | None = None) -> bytes:
    folder = tmp or Path(__import__("tempfile").mkdtemp())
    return write_image(folder / f"photo{suffix}", noisy_pixels(size), overwrite=True).read_bytes()


PNG = encoded(".png")
JPEG = encoded(".jpg")


def upload(data: bytes = PNG, name: str = "photo.png", media: str = "image/png") -> dict:
    return {"image": (name, data, media)}


@pytest.fixture
def app():
    return create_app(Settings(workers=1, queue_limit=2, ttl_seconds=60))


@pytest.fixture
def client(app):
    with TestClient(app) as test_client:
        yield test_client


def wait_for(client: TestClient, job_id: str, timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(f"/v1/jobs/{job_id}").json()
        if status["status"] in ("done", "failed"):
            return status
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish in {timeout} s")


def assert_error(response, status: int, *words: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["error"]
    message = body["error"]
    assert message.endswith(".") and "\n" not in message and "Traceback" not in message
    assert "/tmp" not in message and "brightroom-serve" not in message  # no server path leaks
    for word in words:
        assert word in message, message
    return message


@pytest.fixture
def blocked_recipes(monkeypatch):
    """Make every job wait at its first step until the test releases it."""
    import brightroom.pipeline as jobs

    gate = threading.Event()
    real = jobs.run_recipe

    def waiting(photo, steps, progress=None):
        assert gate.wait(20), "the test never released the job"
        return real(photo, steps, progress)

    monkeypatch.setattr(jobs, "run_recipe", waiting)
    yield gate
    gate.set()


# ---------------------------------------------------------------- happy paths


def test_enhance_answers_the_image_with_its_steps(client):
    response = client.post("/v1/enhance", files=upload(), data=FAST)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert 'filename="photo-enhanced.png"' in response.headers["content-disposition"]
    assert response.headers["x-brightroom-steps"].startswith("denoise (nlm, sigma=")
    result = np.asarray(Image.open(io.BytesIO(response.content)), np.float32) / 255
    noisy = noisy_pixels()
    assert result.shape == noisy.shape
    assert np.abs(np.diff(result, axis=1)).mean() < np.abs(np.diff(noisy, axis=1)).mean() / 2  # smoother


def test_enhance_keeps_jpeg_and_upscales(client):
    response = client.post("/v1/enhance", files=upload(JPEG, "holiday.jpg", "image/jpeg"),
                           data={"enhance": "off", "upscale": "4", "upscale_method": "bicubic"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(response.content)).size == (256, 256)
    assert response.headers["x-brightroom-steps"] == "sr (bicubic, scale=4)"


def test_enhance_auto_leaves_a_clean_photo_alone(client, tmp_path):
    clean = write_image(tmp_path / "clean.png", np.full((48, 64, 3), 0.4, np.float32)).read_bytes()
    response = client.post("/v1/enhance", files=upload(clean, "clean.png"))
    assert response.status_code == 200
    assert response.headers["x-brightroom-steps"] == "none"
    assert Image.open(io.BytesIO(response.content)).size == (64, 48)


@pytest.mark.parametrize("form, media", [({"format": "webp"}, "image/webp"), ({"format": "tiff"}, "image/tiff")])
def test_enhance_writes_the_chosen_format(client, form, media):
    response = client.post("/v1/enhance", files=upload(), data={**FAST, **form})
    assert response.status_code == 200
    assert response.headers["content-type"] == media
    Image.open(io.BytesIO(response.content)).load()


def test_content_decides_not_the_file_name(client):
    response = client.post("/v1/enhance", files=upload(PNG, "notes.txt", "text/plain"), data=FAST)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert 'filename="notes-enhanced.png"' in response.headers["content-disposition"]


def test_a_job_runs_with_progress_result_previews_and_delete(client):
    response = client.post("/v1/jobs", files=upload(JPEG, "holiday.jpg", "image/jpeg"), data={**FAST, "upscale": "2"})
    assert response.status_code == 202
    created = response.json()
    assert response.headers["location"] == f"/v1/jobs/{created['id']}"
    assert created["status"] in ("queued", "running", "done")
    assert created["input"] == {"name": "holiday.jpg", "format": "jpeg", "width": 64, "height": 64}
    status = wait_for(client, created["id"])
    assert status["status"] == "done" and status["progress"] == 1.0
    assert [step.split(" ")[0] for step in status["steps"]] == ["denoise", "sr"]
    assert status["result"]["width"] == 128 and status["result"]["name"] == "holiday-enhanced.jpg"
    assert 0 < status["expires_in"] <= 60
    result = client.get(status["links"]["result"])
    assert result.status_code == 200 and result.headers["content-type"] == "image/jpeg"
    assert len(result.content) == status["result"]["bytes"]
    assert result.headers["content-disposition"].startswith("inline")
    assert result.headers["x-content-type-options"] == "nosniff"
    assert client.get(status["links"]["download"]).headers["content-disposition"].startswith("attachment")
    before = client.get(status["links"]["before"])
    after = client.get(status["links"]["after"])
    assert Image.open(io.BytesIO(before.content)).size == (64, 64)
    assert Image.open(io.BytesIO(after.content)).size == (128, 128)
    assert client.delete(f"/v1/jobs/{created['id']}").status_code == 204
    assert_error(client.get(f"/v1/jobs/{created['id']}"), 404, "no job")


def test_a_raw_upload_is_developed_and_previewed(client, tmp_path):
    bayer = (np.random.default_rng(1).random((64, 64)) * 20000 + 20000).astype(np.uint16)
    dng = write_dng(tmp_path / "shot.dng", bayer).read_bytes()
    job = client.post("/v1/jobs", files=upload(dng, "shot.dng", "application/octet-stream"),
                      data={"enhance": "off"}).json()
    assert job["input"]["format"] == "raw"
    status = wait_for(client, job["id"])
    assert status["status"] == "done", status
    assert status["result"]["format"] == "png" and status["result"]["name"] == "shot-enhanced.png"
    before = client.get(status["links"]["before"])
    assert before.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(before.content)).size[0] > 0
    refused = client.post("/v1/jobs", files=upload(dng, "shot.dng"), data={"develop_raw": "false"})
    assert_error(refused, 422, "RAW", "develop_raw")


def test_methods_come_from_the_registry(client):
    body = client.get("/v1/methods").json()
    assert sorted(body["tasks"]) == task_names()
    for task in task_names():
        assert [m["name"] for m in body["tasks"][task]] == sorted(methods(task))
    assert body["defaults"]["denoise"] in methods("denoise") and body["defaults"]["sr"] in methods("sr")
    assert body["enhance"] == ["auto", "denoise", "off"]


def test_formats_health_docs_and_page(client):
    formats = client.get("/v1/formats").json()
    assert any(f["name"] == "raw" and ".dng" in f["suffixes"] for f in formats["formats"])
    health = client.get("/v1/health").json()
    assert health["status"] == "ok" and health["workers"] == 1 and health["queue_limit"] == 2
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/docs-assets/swagger-ui-bundle.js" in docs.text  # served locally, no CDN
    assert "SwaggerUIBundle" in client.get("/docs-assets/swagger-ui-bundle.js").text
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/v1/enhance", "/v1/jobs", "/v1/jobs/{job_id}", "/v1/jobs/{job_id}/result", "/v1/methods"):
        assert path in paths
    page = client.get("/")
    assert page.status_code == 200 and "Content-Security-Policy" in page.headers
    for element in ('id="file-input"', 'id="compare"', 'id="divider"', 'id="download"', 'name="upscale"'):
        assert element in page.text
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/static/style.css").status_code == 200


# ---------------------------------------------------------------- errors: the upload


def test_an_upload_over_the_byte_limit_is_413():
    app = create_app(Settings(workers=1, max_upload_bytes=2_000))
    with TestClient(app) as client:
        big = encoded(".png", size=96)
        assert 2_000 < len(big) < 2_000 + 64 * 1024
        # declared Content-Length over the limit plus form overhead: refused before the body is read
        huge = b"\x89PNG\r\n\x1a\n" + bytes(200_000)
        assert_error(client.post("/v1/enhance", files=upload(huge)), 413, "larger than", "limit")
        # within the overhead allowance but over the file limit: refused while saving
        assert_error(client.post("/v1/jobs", files=upload(big)), 413, "larger than")
        assert list(app.state.jobs.work_dir.iterdir()) == []


def test_a_streamed_upload_over_the_limit_is_413():
    app = create_app(Settings(workers=1, max_upload_bytes=1_000))
    boundary = "brightroomboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\n"
            f"Content-Type: image/png\r\n\r\n").encode() + bytes(300_000) + f"\r\n--{boundary}--\r\n".encode()

    def chunks():  # no Content-Length: the limit is enforced while the body streams in
        for start in range(0, len(body), 16_384):
            yield body[start:start + 16_384]

    with TestClient(app) as client:
        response = client.post("/v1/jobs", content=chunks(),
                               headers={"content-type": f"multipart/form-data; boundary={boundary}"})
        assert_error(response, 413, "larger than")


def test_an_image_over_the_pixel_limit_is_413():
    with TestClient(create_app(Settings(workers=1, max_pixels=4_000))) as client:
        assert_error(client.post("/v1/jobs", files=upload(), data=FAST), 413, "'photo.png'", "megapixels", "limit")


def test_a_photo_over_the_memory_budget_is_413_and_jobs_within_it_share_it():
    from brightroom.pipeline import Recipe, estimated_peak_bytes

    with TestClient(create_app(Settings(workers=1, memory_budget_bytes=64 * 2**20))) as client:
        big = Image.new("RGB", (1200, 1000))  # 1.2 MP upscaled x4: about 1.2 GB at its peak
        buffer = io.BytesIO()
        big.save(buffer, "PNG")
        assert_error(client.post("/v1/jobs", files=upload(buffer.getvalue()), data={"upscale": "4"}), 413,
                     "memory", "budget")
        assert client.post("/v1/jobs", files=upload(), data=FAST).status_code == 202
    assert estimated_peak_bytes(1000, 1000, Recipe("off", upscale=2)) > estimated_peak_bytes(1000, 1000, Recipe("off"))
    assert estimated_peak_bytes(1000, 1000, Recipe("auto"), raw=True) >= estimated_peak_bytes(1000, 1000, Recipe("auto"))


def test_enhance_sends_large_images_to_jobs():
    with TestClient(create_app(Settings(workers=1, small_image_pixels=1_000))) as client:
        assert_error(client.post("/v1/enhance", files=upload(), data=FAST), 413, "/v1/jobs")
        assert client.post("/v1/jobs", files=upload(), data=FAST).status_code == 202


def test_not_an_image_is_415(client):
    message = assert_error(client.post("/v1/enhance", files=upload(b"just some text, not a photo", "fake.jpg")), 415,
                           "'fake.jpg'", "not an image")
    assert "supported" in message


def test_a_truncated_image_is_422(client):
    assert_error(client.post("/v1/enhance", files=upload(JPEG[:300], "cut.jpg"), data=FAST), 422, "'cut.jpg'",
                 "truncated or corrupt")


def test_a_corrupt_body_fails_the_job_with_422(client):
    damaged = JPEG[: len(JPEG) // 2]  # the header reads, the pixels do not
    job = client.post("/v1/jobs", files=upload(damaged, "half.jpg"), data=FAST)
    assert job.status_code == 202  # the header is fine: decoding finds the damage
    status = wait_for(client, job.json()["id"])
    assert status["status"] == "failed" and "half.jpg" in status["error"]
    assert_error(client.get(f"/v1/jobs/{status['id']}/result"), 422, "half.jpg")


def test_an_empty_upload_is_422(client):
    assert_error(client.post("/v1/enhance", files=upload(b"", "empty.png")), 422, "empty")


def test_a_missing_image_field_is_400(client):
    assert_error(client.post("/v1/enhance", data=FAST), 400, "'image'")
    assert_error(client.post("/v1/jobs", data={"image": "/etc/passwd"}), 400, "'image'")


def test_a_file_name_cannot_name_a_server_path(client):
    response = client.post("/v1/jobs", files=upload(PNG, "../../etc/passwd"), data=FAST)
    assert response.status_code == 202
    status = wait_for(client, response.json()["id"])
    assert status["input"]["name"] == "passwd"
    assert status["result"]["name"] == "passwd-enhanced.png"
    assert_error(client.get("/v1/jobs/..%2F..%2Fetc%2Fpasswd"), 404)


# ---------------------------------------------------------------- errors: the options


@pytest.mark.parametrize(
    "form, words",
    [
        ({"enhance": "sharpen"}, ["enhance must be one of"]),
        ({"enhance": "denoise", "sigma": "loud"}, ["sigma must be a number"]),
        ({"enhance": "denoise", "sigma": "90"}, ["sigma must be from 0 to 75"]),
        ({"enhance": "auto", "sigma": "10"}, ["sigma applies to enhance 'denoise' only"]),
        ({"enhance": "denoise", "method": "magic"}, ["unknown denoise method 'magic'"]),
        ({"enhance": "off", "method": "nlm"}, ["method applies only"]),
        ({"upscale": "5"}, ["scale must be one of 2, 3, 4"]),
        ({"upscale": "2", "upscale_method": "magic"}, ["unknown sr method 'magic'"]),
        ({"develop_raw": "maybe"}, ["develop_raw must be true or false"]),
        ({"format": "gif"}, ["format must be one of"]),
    ],
)
def test_a_bad_option_is_400(client, app, form, words):
    for path in ("/v1/enhance", "/v1/jobs"):
        assert_error(client.post(path, files=upload(), data=form), 400, *words)
    assert not app.state.jobs.is_full() and list(app.state.jobs.work_dir.iterdir()) == []


# ---------------------------------------------------------------- errors: jobs and the queue


def test_unknown_jobs_are_404(client):
    assert_error(client.get("/v1/jobs/no-such-job"), 404, "no job")
    assert_error(client.get("/v1/jobs/no-such-job/result"), 404, "no job")
    assert_error(client.get("/v1/jobs/no-such-job/preview/before"), 404)
    assert_error(client.delete("/v1/jobs/no-such-job"), 404)
    assert_error(client.get("/v1/nothing"), 404, "/docs")
    assert_error(client.put("/v1/jobs"), 405)


def test_a_result_before_the_job_is_done_is_409(client, blocked_recipes):
    job = client.post("/v1/jobs", files=upload(), data=FAST).json()
    assert_error(client.get(f"/v1/jobs/{job['id']}/result"), 409, "poll")
    assert_error(client.delete(f"/v1/jobs/{job['id']}"), 409, "still running")
    blocked_recipes.set()
    assert wait_for(client, job["id"])["status"] == "done"


def test_a_full_queue_is_503_with_retry_after(blocked_recipes):
    app = create_app(Settings(workers=1, queue_limit=1))
    with TestClient(app) as client:
        first = client.post("/v1/jobs", files=upload(), data=FAST).json()
        second = client.post("/v1/jobs", files=upload(), data=FAST).json()
        deadline = time.monotonic() + 5
        while client.get(f"/v1/jobs/{first['id']}").json()["status"] != "running" and time.monotonic() < deadline:
            time.sleep(0.02)
        queued = client.get(f"/v1/jobs/{second['id']}").json()
        assert queued["status"] == "queued" and queued["queue_position"] == 0
        for path in ("/v1/jobs", "/v1/enhance"):
            response = client.post(path, files=upload(), data=FAST)
            assert_error(response, 503, "busy")
            assert int(response.headers["retry-after"]) >= 1
        assert client.get("/v1/health").json()["queued"] == 1
        blocked_recipes.set()
        assert wait_for(client, first["id"])["status"] == "done"
        assert wait_for(client, second["id"])["status"] == "done"
        assert client.post("/v1/enhance", files=upload(), data=FAST).status_code == 200


def test_the_reservation_is_checked_after_the_body_too(app):
    """A place taken between the early check and the upload still answers 503."""
    with TestClient(app) as client:
        jobs = app.state.jobs
        early_check = jobs.is_full
        jobs.is_full = lambda: False  # the middleware lets the request through...
        try:
            for _ in range(3):  # ...but every place is taken
                jobs.reserve()
            response = client.post("/v1/jobs", files=upload(), data=FAST)
            assert_error(response, 503, "busy")
            assert "retry-after" in response.headers
        finally:
            for _ in range(3):
                jobs.release()
            jobs.is_full = early_check
        assert client.post("/v1/jobs", files=upload(), data=FAST).status_code == 202


def test_a_crash_inside_a_job_is_a_500_without_details(client, monkeypatch):
    import brightroom.pipeline as jobs

    def broken(photo, steps, progress=None):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(jobs, "run_recipe", broken)
    job = client.post("/v1/jobs", files=upload(), data=FAST).json()
    status = wait_for(client, job["id"])
    assert status["status"] == "failed" and "secret" not in status["error"]
    assert_error(client.get(f"/v1/jobs/{job['id']}/result"), 500, "internal error")
    assert_error(client.post("/v1/enhance", files=upload(), data=FAST), 500, "internal error")


# ---------------------------------------------------------------- time to live and clean-up


def test_uploads_and_results_are_deleted_after_the_ttl():
    app = create_app(Settings(workers=1, ttl_seconds=0.5))
    with TestClient(app) as client:
        work_dir = app.state.jobs.work_dir
        job = client.post("/v1/jobs", files=upload(), data=FAST).json()
        assert wait_for(client, job["id"])["status"] == "done"
        assert client.post("/v1/enhance", files=upload(), data=FAST).status_code == 200
        assert any(work_dir.iterdir())
        deadline = time.monotonic() + 5
        while any(work_dir.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert list(work_dir.iterdir()) == []
        assert_error(client.get(f"/v1/jobs/{job['id']}"), 404, "deleted 0.5 seconds after")
    assert not work_dir.exists()  # shutdown removes the server's folder


def test_a_direct_answer_leaves_no_files(app):
    with TestClient(app) as client:
        assert client.post("/v1/enhance", files=upload(), data=FAST).status_code == 200
        assert_error(client.post("/v1/enhance", files=upload(b"nope", "x.png")), 415)
        assert list(app.state.jobs.work_dir.iterdir()) == []


def test_a_custom_work_dir_is_used_and_emptied(tmp_path):
    app = create_app(Settings(workers=1, work_dir=tmp_path / "work"))
    with TestClient(app) as client:
        job = client.post("/v1/jobs", files=upload(), data=FAST).json()
        wait_for(client, job["id"])
        assert app.state.jobs.work_dir.parent == tmp_path / "work"
    assert list((tmp_path / "work").iterdir()) == []


def test_settings_are_checked():
    with pytest.raises(BrightroomError, match="queue_limit"):
        Settings(queue_limit=-1)
    with pytest.raises(BrightroomError, match="ttl_seconds"):
        Settings(ttl_seconds=0)
    with pytest.raises(BrightroomError, match="max_upload_bytes"):
        Settings(max_upload_bytes=1.5)


def test_a_client_that_never_completes_its_request_is_dropped_while_others_are_served():
    import socket

    import uvicorn

    from brightroom.serve import server_config

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(server_config("127.0.0.1", port, Settings(workers=1), log_level="error",
                                          request_timeout=0.5))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(100):
            if server.started:
                break
            time.sleep(0.05)
        slow = [socket.create_connection(("127.0.0.1", port)) for _ in range(20)]
        for connection in slow:
            connection.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n")  # never the blank line
        with socket.create_connection(("127.0.0.1", port), timeout=5) as healthy:
            healthy.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert b"200 OK" in healthy.recv(4096)
        time.sleep(1.0)
        for connection in slow:
            connection.settimeout(2)
            assert connection.recv(4096) == b""  # closed by the server
            connection.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)

"""The page in a real browser: Playwright driving Debian's headless Chromium against a live server.

Set BRIGHTROOM_SCREENSHOTS=docs to refresh the screenshots under docs/ (by default they
go to the test's temporary folder, so a test run leaves the work tree as it was).
"""

from __future__ import annotations

import base64
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium (apt-get install -y chromium) to run the "
                "browser tests", allow_module_level=True)
playwright_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
uvicorn = pytest.importorskip("uvicorn")
expect = playwright_api.expect

from brightroom.degrade import add_poisson_gaussian_noise  # noqa: E402
from brightroom.io import write_image  # noqa: E402
from brightroom.serve import Settings, create_app  # noqa: E402

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1280, "height": 860}


@pytest.fixture(scope="module")
def server():
    """A real uvicorn server on a free loopback port, in a thread; yields its base URL."""
    app = create_app(Settings(workers=1, queue_limit=4, ttl_seconds=120))
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    live = uvicorn.Server(config)
    thread = threading.Thread(target=live.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not live.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    port = live.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    live.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.goto(server)
    yield page
    context.close()
    assert not [p for p in problems if "Failed to load resource" not in p], problems


@pytest.fixture
def slow_jobs(monkeypatch):
    """Slow each job a little, so that the page's progress display can be seen."""
    import brightroom.pipeline as jobs

    real = jobs.run_recipe

    def slower(photo, steps, progress=None):
        time.sleep(1.0)
        return real(photo, steps, progress)

    monkeypatch.setattr(jobs, "run_recipe", slower)


@pytest.fixture(scope="module")
def noisy_photo(tmp_path_factory) -> Path:
    """A real photograph (scikit-image's astronaut, public domain) with sensor-like noise."""
    from skimage import data

    clean = (data.astronaut()[10:410, 60:460] / 255.0).astype(np.float32)
    noisy = np.clip(add_poisson_gaussian_noise(clean, 0.01, 0.03, seed=3), 0, 1)
    return write_image(tmp_path_factory.mktemp("photos") / "astronaut.jpg", noisy, quality=92)


def wait_for_catalog(page) -> None:
    """Wait until the page has loaded the methods from /v1/methods.

    (Selectors, not wait_for_function: the page's Content-Security-Policy forbids eval, and the
    tests keep that policy on so that a violation would show up as a console error.)
    """
    page.wait_for_selector("#method option[value=nlm]", state="attached")


def screenshot_dir(tmp_path: Path) -> Path:
    chosen = os.environ.get("BRIGHTROOM_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_upload_run_compare_and_download(page, noisy_photo, tmp_path, slow_jobs):
    shots = screenshot_dir(tmp_path)
    wait_for_catalog(page)
    assert page.is_visible("#dropzone")
    assert page.is_disabled("#run")

    page.set_input_files("#file-input", str(noisy_photo))
    page.wait_for_selector("#preview-img", state="visible")
    expect(page.locator("#preview-caption")).to_contain_text("400 × 400")  # the browser decoded it
    assert "astronaut.jpg" in page.inner_text("#file-info")
    page.locator(".segmented label", has_text="Denoise").click()
    assert page.is_visible("#strength")
    page.locator(".segmented label", has_text="×2").click()
    if not os.environ.get("BRIGHTROOM_SCREENSHOTS"):  # refreshing the docs: show what people get by default
        page.click(".advanced summary")
        page.select_option("#method", "nlm")  # quick and always there; the default may be a slow fallback
        page.select_option("#upscale-method", "bicubic")
    page.screenshot(path=str(shots / "serve-before.png"))

    page.click("#run")
    page.wait_for_selector("#progress", state="visible")
    expect(page.locator("#stage")).not_to_be_empty()
    page.wait_for_selector("#compare-wrap", state="visible", timeout=120_000)  # the default method may be slow
    assert page.is_hidden("#progress") and page.is_hidden("#error")
    steps = page.inner_text("#steps")
    assert "denoise (" in steps and "sr (" in steps and "scale=2)" in steps
    assert "800 × 800" in page.inner_text("#result-info")

    # the slider: both images loaded, the divider moves with a drag and with the keyboard
    for image in ("#before-img", "#after-img"):
        assert page.evaluate(f"document.querySelector('{image}').naturalWidth") > 0
    box = page.locator("#compare").bounding_box()
    divider = page.locator("#divider")
    assert divider.get_attribute("aria-valuenow") == "50"
    handle = divider.bounding_box()
    page.mouse.move(handle["x"] + handle["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.25, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    assert 20 <= int(divider.get_attribute("aria-valuenow")) <= 30
    divider.focus()
    page.keyboard.press("ArrowRight")
    assert 22 <= int(divider.get_attribute("aria-valuenow")) <= 32

    # zoom in and out
    fit_level = page.inner_text("#zoom-level")
    page.click("#zoom-in")
    assert page.inner_text("#zoom-level") != fit_level
    assert "scale(1.5)" in page.evaluate("document.querySelector('#after-img').style.transform")
    page.click("#zoom-fit")
    assert page.inner_text("#zoom-level") == fit_level

    # the download link serves the result
    link = page.locator("#download")
    assert link.get_attribute("download") == "astronaut-enhanced.jpg"
    assert "astronaut-enhanced.jpg" in page.inner_text("#result-info")
    with page.expect_download() as download_info:
        link.click()
    saved = tmp_path / "downloaded.jpg"
    download_info.value.save_as(saved)
    from PIL import Image

    assert Image.open(saved).size == (800, 800)

    # back to the middle for the picture, then the screenshot of the result
    page.mouse.move(box["x"] + box["width"] * 0.25, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    page.screenshot(path=str(shots / "serve-after.png"))
    assert (shots / "serve-before.png").stat().st_size > 10_000
    assert (shots / "serve-after.png").stat().st_size > 10_000


def test_a_dropped_file_that_is_not_an_image_shows_the_servers_message(page):
    wait_for_catalog(page)
    text = base64.b64encode(b"certainly not a photo").decode()
    page.evaluate(
        """(data) => {
            const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], "holiday.jpg", { type: "image/jpeg" }));
            window.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
        }""",
        text,
    )
    assert "holiday.jpg" in page.inner_text("#file-info")
    page.click("#run")
    page.wait_for_selector("#error", state="visible")
    message = page.inner_text("#error")
    assert "'holiday.jpg' is not an image Brightroom can read" in message
    assert page.is_enabled("#run")  # the person can pick another photo and try again


def test_a_raw_file_shows_the_develop_option(page, tmp_path):
    from brightroom.io import write_dng

    bayer = (np.random.default_rng(0).random((64, 64)) * 30000 + 10000).astype(np.uint16)
    raw = write_dng(tmp_path / "shot.dng", bayer)
    wait_for_catalog(page)
    assert page.is_hidden("#raw-group")
    page.set_input_files("#file-input", str(raw))
    assert page.is_visible("#raw-group") and page.is_checked("#develop-raw")
    assert "RAW file" in page.inner_text("#placeholder-text")
    page.locator(".segmented label", has_text="Off").first.click()
    page.click("#run")
    page.wait_for_selector("#compare-wrap", state="visible")
    assert page.get_attribute("#download", "download") == "shot-enhanced.png"

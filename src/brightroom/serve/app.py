"""The FastAPI application: the page, the REST API, and the error shape every failure shares.

Every error is ``{"error": "one sentence"}`` with its status: 400 a bad option,
404 an unknown job, 409 a result asked for too early, 413 too large, 415 not an
image, 422 an image that cannot be processed, 503 busy (with Retry-After).
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

import fastapi_offline
from fastapi import Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from starlette.background import BackgroundTask
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..errors import BrightroomError
from ..io.formats import FORMATS
from ..pipeline import ENHANCE_MODES, Recipe, default_methods
from ..tasks import FOREIGN_PREFIX, methods, register_weights, task_names
from ..tasks.denoise import Strength
from .jobs import DONE, FAILED, OUTPUT_FORMATS, QUEUED, Job, JobManager, ServiceError, format_bytes
from .settings import Settings

log = logging.getLogger("brightroom.serve")

STATIC = Path(__file__).resolve().parent / "static"
UPLOAD_PATHS = ("/v1/enhance", "/v1/jobs")
FORM_OVERHEAD_BYTES = 64 * 1024  # multipart boundaries, headers and the option fields
PRIVATE_FILE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}  # results are the uploader's only
PAGE_POLICY = ("default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
               "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")


class ErrorBody(BaseModel):
    """Every error answer."""

    error: str


def _errors(*statuses: int) -> dict:
    meaning = {400: "a bad option", 404: "no such job (or it expired)", 409: "the job has not finished",
               413: "the upload or the image is too large", 415: "not an image",
               422: "an image that cannot be processed", 503: "busy: retry after the Retry-After seconds"}
    return {status: {"model": ErrorBody, "description": meaning[status]} for status in statuses}


class Options:
    """The processing options of an upload, checked before any work is queued."""

    def __init__(self, recipe: Recipe, output_format: str, develop_raw: bool) -> None:
        self.recipe, self.output_format, self.develop_raw = recipe, output_format, develop_raw


def read_options(
    enhance: Annotated[str, Form(description="'auto' (denoise when noisy), 'denoise' (always) or 'off'")] = "auto",
    sigma: Annotated[str, Form(description="denoise strength, 0-75 on the 0-255 scale, or 'auto' (estimated); "
                                           "with enhance='denoise'")] = "auto",
    method: Annotated[str, Form(description="denoising method (GET /v1/methods); empty for the best shipped")] = "",
    upscale: Annotated[str, Form(description="1 (none), 2, 3 or 4")] = "1",
    upscale_method: Annotated[str, Form(description="super-resolution method (GET /v1/methods); "
                                                    "empty for the best shipped")] = "",
    strength: Annotated[str, Form(description="the real-photo model's strength: 0 (untouched) to 4, 1 follows its "
                                              "own noise estimate; empty for 1")] = "",
    luma_strength: Annotated[str, Form(description="luminance noise, times strength (0-4); empty for 1")] = "",
    color_strength: Annotated[str, Form(description="colour noise, times strength (0-4); empty for 1")] = "",
    develop_raw: Annotated[str, Form(description="develop a RAW upload (true/false); false refuses RAW files")] = "true",
    raw_denoise: Annotated[str, Form(description="a RAW upload's denoising on its Bayer data before development: "
                                                 "'auto' (the profile measured from the file), 'off' or a strength "
                                                 "from 0 to 4")] = "auto",
    jpeg: Annotated[str, Form(description="JPEG artifact removal: 'auto' (when the photo shows them, with enhance "
                                          "'auto' or 'denoise'), 'on', 'off' or the quality (1-100) it was saved at")
                    ] = "auto",
    jpeg_strength: Annotated[str, Form(description="JPEG artifact removal's strength: 0 (untouched) to 4, 1 follows "
                                                   "the quality; empty for 1")] = "",
    format: Annotated[str, Form(description="output format: " + ", ".join(OUTPUT_FORMATS) +
                                            "; 'auto' keeps PNG, JPEG and WebP, else PNG")] = "auto",
) -> Options:
    """Form fields -> Options; a bad value is a 400 with one sentence."""
    if any(value.strip().startswith(FOREIGN_PREFIX) for value in (method, upscale_method)):
        raise ServiceError(400, "a request names a method (GET /v1/methods), never a weights file; the server's "
                                "operator offers their own models with 'brightroom serve --weights NAME=PATH'.")
    try:
        sigma_value = None if sigma.strip().lower() in ("", "auto") else sigma.strip()
        scale = None if upscale.strip().lower() in ("", "1", "none", "off") else upscale.strip()
        given = {key: value.strip() for key, value in
                 (("overall", strength), ("luma", luma_strength), ("color", color_strength)) if value.strip()}
        recipe = Recipe(enhance=enhance.strip().lower(), sigma=sigma_value, method=method.strip() or None,
                        upscale=scale, upscale_method=upscale_method.strip() or None,
                        strength=Strength(**given) if given else None, raw_denoise=raw_denoise.strip().lower() or "auto",
                        jpeg=jpeg.strip().lower() or "auto", jpeg_strength=jpeg_strength.strip() or 1.0)
    except BrightroomError as error:
        raise ServiceError(400, str(error)) from None
    if format.strip().lower() not in OUTPUT_FORMATS:
        raise ServiceError(400, f"format must be one of {', '.join(OUTPUT_FORMATS)}, not '{format}'.")
    return Options(recipe, format.strip().lower(), _flag(develop_raw, "develop_raw"))


def create_app(settings: Settings | None = None) -> FastAPI:
    """The web service: the page at /, the REST API under /v1, OpenAPI docs at /docs.

    >>> from fastapi.testclient import TestClient
    >>> with TestClient(create_app(Settings(workers=1))) as client:
    ...     sorted(client.get("/v1/methods").json()["tasks"])
    ['denoise', 'jpeg', 'raw', 'sr']
    """
    settings = settings or Settings()
    for name, path in settings.weights:
        register_weights(name, path)
    manager = JobManager(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        log.info("brightroom serve: %s", settings.describe())
        manager.start()
        try:
            yield
        finally:
            manager.close()

    app = FastAPI(
        title="Brightroom",
        version=__version__,
        description="Clean and sharpen photos: denoise, upscale and develop RAW files, one photo or a queue of them.",
        lifespan=lifespan,
        docs_url=None,  # served below from the fastapi-offline package's Swagger UI: no CDN, works offline
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.jobs = manager
    app.add_middleware(UploadGuard, manager=manager, max_body_bytes=settings.max_upload_bytes + FORM_OVERHEAD_BYTES)
    _add_error_handlers(app)

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Content-Security-Policy": PAGE_POLICY,
                                                            "Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.mount("/docs-assets", StaticFiles(directory=Path(fastapi_offline.__file__).parent / "static"), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="Brightroom API",
                                   swagger_js_url="/docs-assets/swagger-ui-bundle.js",
                                   swagger_css_url="/docs-assets/swagger-ui.css",
                                   swagger_favicon_url="/docs-assets/favicon.png")

    @app.get("/v1/methods", summary="The tasks and their methods, from the registry")
    def list_methods() -> dict:
        tasks = {
            task: [{"name": name, "summary": method.summary, "learned": method.learned, "blind": method.blind}
                   for name, method in sorted(methods(task).items())]
            for task in task_names()
        }
        return {"tasks": tasks, "defaults": default_methods(), "enhance": list(ENHANCE_MODES)}

    @app.get("/v1/formats", summary="The image formats read and written, by suffix")
    def list_formats() -> dict:
        return {"formats": [{"name": f.name, "label": f.label, "suffixes": list(f.suffixes), "writable": f.writable}
                            for f in FORMATS.values()],
                "output": list(OUTPUT_FORMATS)}

    @app.get("/v1/health", summary="Liveness and the queue's load")
    def health() -> dict:
        return {"status": "ok", "version": __version__, **manager.load()}

    @app.post("/v1/enhance", summary="Process a small photo and answer the result image",
              response_class=FileResponse,
              responses={200: {"content": {"image/png": {}, "image/jpeg": {}, "image/webp": {}}},
                         **_errors(400, 413, 415, 422, 503)})
    async def enhance(
        image: Annotated[UploadFile, File(description="the photo (any format Brightroom reads)")],
        options: Annotated[Options, Depends(read_options)],
    ) -> Response:
        job = await _accept(manager, image, options, public=False)
        await asyncio.wrap_future(manager.submit(job))
        if job.status == FAILED:
            manager.discard(job.id)
            raise ServiceError(job.error_status, job.error)
        return FileResponse(job.result, media_type=job.media_type("result"), filename=job.result_name,
                            content_disposition_type="inline",
                            headers={"X-Brightroom-Steps": "; ".join(job.steps) or "none", **PRIVATE_FILE},
                            background=BackgroundTask(manager.discard, job.id))

    @app.post("/v1/jobs", status_code=202, summary="Queue a photo of any size; answers the job to poll",
              responses=_errors(400, 413, 415, 422, 503))
    async def create_job(
        image: Annotated[UploadFile, File(description="the photo (any format Brightroom reads)")],
        options: Annotated[Options, Depends(read_options)],
    ) -> JSONResponse:
        job = await _accept(manager, image, options, public=True)
        manager.submit(job)
        return JSONResponse(job_status(job, manager), status_code=202,
                            headers={"Location": f"/v1/jobs/{job.id}"})

    @app.get("/v1/jobs/{job_id}", summary="A job's status and progress", responses=_errors(404))
    def get_job(job_id: str) -> dict:
        return job_status(manager.get(job_id), manager)

    @app.get("/v1/jobs/{job_id}/result", summary="The result image", response_class=FileResponse,
             responses=_errors(404, 409, 422))
    def get_result(job_id: str, download: bool = False) -> FileResponse:
        job = _finished(manager.get(job_id))
        return FileResponse(job.result, media_type=job.media_type("result"), filename=job.result_name,
                            content_disposition_type="attachment" if download else "inline",
                            headers=PRIVATE_FILE)

    @app.get("/v1/jobs/{job_id}/preview/{which}", summary="The photo before or after, in a format browsers show",
             response_class=FileResponse, responses=_errors(404, 409, 422))
    def get_preview(job_id: str, which: str) -> FileResponse:
        if which not in ("before", "after"):
            raise ServiceError(404, "a preview is 'before' or 'after'.")
        job = _finished(manager.get(job_id))
        path = job.before_preview if which == "before" else job.after_preview
        return FileResponse(path, media_type=job.media_type(which), headers=PRIVATE_FILE)

    @app.delete("/v1/jobs/{job_id}", status_code=204, summary="Delete a finished job's files now",
                responses=_errors(404, 409))
    def delete_job(job_id: str) -> Response:
        job = manager.get(job_id)
        if job.status not in (DONE, FAILED):
            raise ServiceError(409, "the job is still running; delete it once it has finished.")
        manager.discard(job.id)
        return Response(status_code=204)

    return app


async def _accept(manager: JobManager, image: UploadFile, options: Options, *, public: bool) -> Job:
    """Reserve a place, then save and check the upload; the place is given back if that fails."""
    manager.reserve()
    try:
        return await run_in_threadpool(manager.accept, image.file, image.filename, options.recipe,
                                       output_format=options.output_format, develop_raw=options.develop_raw,
                                       public=public)
    except BaseException:
        manager.release()
        raise
    finally:
        await image.close()


def _finished(job: Job) -> Job:
    if job.status == FAILED:
        raise ServiceError(job.error_status, job.error)
    if job.status != DONE:
        raise ServiceError(409, f"the job is {job.status} ({job.progress:.0%}); poll /v1/jobs/{job.id} until it is done.")
    return job


def job_status(job: Job, manager: JobManager) -> dict:
    """The JSON a client polls: status, progress (0-1), stage, and links once done."""
    base = f"/v1/jobs/{job.id}"
    status = {
        "id": job.id,
        "status": job.status,
        "progress": round(job.progress, 3),
        "stage": job.stage,
        "recipe": job.recipe.describe(),
        "steps": job.steps,
        "message": job.message,
        "input": {"name": job.name, "format": job.input_format, "width": job.width, "height": job.height},
        "links": {"self": base},
    }
    if job.status == QUEUED:
        status["queue_position"] = manager.queue_position(job)
    if job.finished is not None:
        status["seconds"] = round(job.finished - (job.started or job.created), 3)
        status["expires_in"] = max(0, round(job.finished + manager.settings.ttl_seconds - time.time()))
    if job.status == FAILED:
        status["error"] = job.error
    if job.status == DONE:
        width, height = job.result_size
        status["result"] = {"name": job.result_name, "format": job.output_format,
                            "media_type": job.media_type("result"), "width": width, "height": height,
                            "bytes": job.result.stat().st_size}
        status["links"].update(result=f"{base}/result", download=f"{base}/result?download=true",
                               before=f"{base}/preview/before", after=f"{base}/preview/after")
    return status


def _flag(text: str, name: str) -> bool:
    value = text.strip().lower()
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off", ""):
        return False
    raise ServiceError(400, f"{name} must be true or false, not '{text}'.")


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def service_error(request: Request, error: ServiceError) -> JSONResponse:
        return JSONResponse({"error": error.message}, status_code=error.status, headers=error.headers)

    @app.exception_handler(BrightroomError)
    async def user_error(request: Request, error: BrightroomError) -> JSONResponse:
        return JSONResponse({"error": str(error)}, status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code == 404:
            message = f"there is no {request.url.path} here; the API is described at /docs."
        elif error.status_code == 405:
            message = f"{request.url.path} does not accept {request.method}; the API is described at /docs."
        else:
            message = str(error.detail).rstrip(".") + "."
        return JSONResponse({"error": message}, status_code=error.status_code, headers=error.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": _validation_sentence(error)}, status_code=400)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, error: Exception) -> JSONResponse:
        log.error("internal error on %s %s", request.method, request.url.path, exc_info=error)
        return JSONResponse({"error": "an internal error occurred; the server's log has the details."},
                            status_code=500)


def _validation_sentence(error: RequestValidationError) -> str:
    problems = error.errors()
    if not problems:
        return "the request is not valid; the API is described at /docs."
    first = problems[0]
    field = str(first.get("loc", ("", "?"))[-1])
    if field == "image":
        return "send the photo as a multipart/form-data file field named 'image'."
    if first.get("type") == "missing":
        return f"the request is missing '{field}'."
    return f"'{field}' is not valid: {str(first.get('msg', 'invalid value')).rstrip('.').lower()}."


class UploadGuard:
    """ASGI middleware in front of the upload endpoints: refuse early, before the body is read.

    A full queue answers 503 at once; a declared Content-Length over the limit
    answers 413 at once; a body that grows past the limit while streaming stops
    with 413.
    """

    def __init__(self, app, *, manager: JobManager, max_body_bytes: int) -> None:
        self.app, self.manager, self.max_body_bytes = app, manager, max_body_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in UPLOAD_PATHS:
            await self.app(scope, receive, send)
            return
        if self.manager.is_full():
            seconds = self.manager.retry_after()
            await _send_error(scope, send, 503, f"the server is busy; try again in {seconds} s.", {"Retry-After": str(seconds)})
            return
        limit = self.max_body_bytes
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _send_error(scope, send, 413, self._too_large())
            return
        received = 0

        async def counting_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:  # an HTTPException, which FastAPI's body parsing lets through
                    raise StarletteHTTPException(413, detail=self._too_large())
            return message

        await self.app(scope, counting_receive, send)

    def _too_large(self) -> str:
        return f"the upload is larger than this server's limit of {format_bytes(self.manager.settings.max_upload_bytes)}."


async def _send_error(scope, send, status: int, message: str, headers: dict[str, str] | None = None) -> None:
    async def no_body():
        return {"type": "http.disconnect"}

    await JSONResponse({"error": message}, status_code=status, headers=headers)(scope, no_body, send)

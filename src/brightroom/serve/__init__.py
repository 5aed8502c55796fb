"""The web service: a page with a before/after view, and a REST API, over the public Python API.

FastAPI is imported only when ``create_app`` or ``run`` is used, so the command line can
import ``brightroom.serve.settings`` without it.

>>> from fastapi.testclient import TestClient
>>> with TestClient(create_app(Settings(workers=1, queue_limit=2))) as client:
...     client.get("/v1/health").json()["status"]
'ok'
"""

from __future__ import annotations

from .settings import Settings, add_serve_arguments, settings_from_args

__all__ = ["Settings", "add_serve_arguments", "create_app", "run", "settings_from_args"]


def create_app(settings: Settings | None = None):
    """The FastAPI application (see ``brightroom.serve.app.create_app``).

    >>> create_app(Settings(workers=1)).title
    'Brightroom'
    """
    from .app import create_app as build

    return build(settings)


def run(host: str = "127.0.0.1", port: int = 8000, settings: Settings | None = None, *,
        log_level: str = "info") -> None:
    """Serve the app with uvicorn until interrupted (Ctrl-C); one process, ``settings.workers`` threads.

    >>> run(port=8000)  # doctest: +SKIP
    """
    import uvicorn

    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level, workers=1)

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

__all__ = ["Settings", "add_serve_arguments", "create_app", "run", "server_config", "settings_from_args"]


def create_app(settings: Settings | None = None):
    """The FastAPI application (see ``brightroom.serve.app.create_app``).

    >>> create_app(Settings(workers=1)).title
    'Brightroom'
    """
    from .app import create_app as build

    return build(settings)


REQUEST_TIMEOUT = 5.0  # seconds a connection has to send a complete request head


def run(host: str = "127.0.0.1", port: int = 8000, settings: Settings | None = None, *,
        log_level: str = "info") -> None:
    """Serve the app with uvicorn until interrupted (Ctrl-C); one process, ``settings.workers`` threads.

    >>> run(port=8000)  # doctest: +SKIP
    """
    import uvicorn

    raise_open_file_limit()
    uvicorn.Server(server_config(host, port, settings, log_level=log_level)).run()


def server_config(host: str, port: int, settings: Settings | None = None, *, log_level: str = "info",
                  request_timeout: float = REQUEST_TIMEOUT):
    """uvicorn's configuration: the app, and connections that have not sent a whole request head
    within ``request_timeout`` seconds dropped (uvicorn alone waits for ever: a thousand slow
    half-open clients would take every file descriptor)."""
    import uvicorn

    return uvicorn.Config(create_app(settings), host=host, port=port, log_level=log_level, workers=1,
                          http=_protocol_with_request_timeout(request_timeout))


def raise_open_file_limit() -> int:
    """Raise this process's open-file limit to its hard limit (many clients, each a descriptor);
    returns the limit now in force.

    >>> raise_open_file_limit() > 0
    True
    """
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    return soft


def _protocol_with_request_timeout(seconds: float):
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class TimedH11Protocol(H11Protocol):
        """uvicorn's h11 protocol, closing a connection whose request head is not complete in time."""

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self.loop.call_later(seconds, self._drop_if_no_request)

        def _drop_if_no_request(self) -> None:
            if self.cycle is None and not self.transport.is_closing():
                self.transport.close()

    return TimedH11Protocol

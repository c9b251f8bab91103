"""The web server: a Starlette app over ``Dashboard`` answers, served by uvicorn.

The page is static (``static/``: one HTML file, our scripts and the vendored libraries)
and reads everything from the JSON API below; it follows a running campaign by
polling ``/api/c/{id}/summary`` and ``/recent`` every second.
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from evolve.dashboard.data import Dashboard, NotFound, to_json
from evolve.dashboard.security import Guard, is_loopback, new_token
from evolve.errors import ConfigError

log = logging.getLogger(__name__)
STATIC = Path(__file__).with_name("static")


def _json(value: Any, status: int = 200) -> Response:
    return Response(to_json(value), status, media_type="application/json")


def _int(request: Request, name: str, default: int) -> int:
    try:
        return int(request.query_params.get(name, default))
    except ValueError:
        return default


def build_app(dashboard: Dashboard, token: str | None = None) -> Starlette:
    """The ASGI app. ``token``: required on every request (non-loopback serving)."""

    def api(fn):
        def endpoint(request: Request) -> Response:
            try:
                return _json(fn(request, **{k: int(v) for k, v in request.path_params.items()}))
            except NotFound as e:
                return _json({"error": str(e)}, 404)

        return endpoint

    def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    def download(request: Request) -> Response:
        try:
            code, name = dashboard.code(int(request.path_params["pid"]))
        except NotFound as e:
            return _json({"error": str(e)}, 404)
        return Response(
            code.encode(),
            media_type="text/x-python; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="{name}"'},
        )

    routes = [
        Route("/", index),
        Route("/api/campaigns", api(lambda r: dashboard.campaigns())),
        Route("/api/c/{cid:int}/summary", api(lambda r, cid: dashboard.summary(cid))),
        Route("/api/c/{cid:int}/progress", api(lambda r, cid: dashboard.progress(cid))),
        Route("/api/c/{cid:int}/operators", api(lambda r, cid: dashboard.operators(cid))),
        Route("/api/c/{cid:int}/diversity", api(lambda r, cid: dashboard.diversity(cid))),
        Route("/api/c/{cid:int}/finetune", api(lambda r, cid: dashboard.finetune(cid))),
        Route("/api/c/{cid:int}/top", api(lambda r, cid: dashboard.top(cid, _int(r, "k", 10)))),
        Route("/api/c/{cid:int}/recent", api(lambda r, cid: dashboard.recent(cid, _int(r, "limit", 30)))),
        Route(
            "/api/c/{cid:int}/lineage",
            api(lambda r, cid: dashboard.lineage(cid, _int(r, "k", 10), _int(r, "limit", 1000))),
        ),
        Route("/api/p/{pid:int}", api(lambda r, pid: dashboard.program(pid))),
        Route("/api/p/{pid:int}/neighbours", api(lambda r, pid: dashboard.neighbours(pid))),
        Route("/api/p/{pid:int}/download", download),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    return Starlette(routes=routes, middleware=[Middleware(Guard, token=token)])


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
    except OSError as e:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port} ({e.strerror}): pick another --port or --host") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve(dashboard: Dashboard, host: str = "127.0.0.1", port: int = 8765, path: str = "", announce=print) -> None:
    """Serve until interrupted. A non-loopback ``host`` gets a fresh token, announced
    once with the URL."""
    import uvicorn

    token = None if is_loopback(host) else new_token()
    sock = bind(host, port)
    actual = sock.getsockname()[1]
    shown = f"[{host.strip('[]')}]" if ":" in host else host
    url = f"http://{shown}:{actual}/"
    if token:
        announce(f"Evolve dashboard on {url}?token={token}{path} (read-only; the token is shown only now)")
    else:
        announce(f"Evolve dashboard on {url}{path} (read-only; Ctrl-C to stop)")
    config = uvicorn.Config(build_app(dashboard, token), log_level="warning", access_log=False, lifespan="off")
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()

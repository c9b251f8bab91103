"""Who may talk to the dashboard, and what a page may do.

- Loopback only by default. On a loopback address the ``Host`` header must name the
  loopback too, so a web page elsewhere cannot reach the dashboard through DNS
  rebinding.
- Any other address needs a token, generated at start and printed once. A request
  carries it as ``Authorization: Bearer``, as the ``evolve_token`` cookie (set, HttpOnly
  and SameSite=Strict, when the printed ``/?token=`` link is opened), or as ``?token=``;
  anything else gets 401.
- Every response forbids inline script, every origin but its own, framing, and (with
  Trusted Types) assigning strings as HTML: what candidates and models wrote is shown
  as text, and the browser refuses to do otherwise.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from http.cookies import SimpleCookie

from starlette.datastructures import URL, QueryParams
from starlette.responses import PlainTextResponse, RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

COOKIE = "evolve_token"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1", "[::1]")

CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
        "require-trusted-types-for 'script'",
        "trusted-types 'none'",
    ]
)
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
    "cache-control": "no-store",
}


def is_loopback(host: str) -> bool:
    if host.strip("[]") in ("localhost", *LOOPBACK_NAMES):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def new_token() -> str:
    return secrets.token_urlsafe(24)


def _host_name(scope: Scope) -> str:
    for key, value in scope.get("headers", []):
        if key == b"host":
            host = value.decode("latin-1")
            if host.startswith("["):
                return host[: host.find("]") + 1]
            return host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return ""


class Guard:
    """ASGI middleware: security headers on every response, plus the host check
    (loopback) or the token check (any other address)."""

    def __init__(self, app: ASGIApp, token: str | None):
        self.app, self.token = app, token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.decode().lower() not in HEADERS]
                headers += [(k.encode(), v.encode()) for k, v in HEADERS.items()]
                message = {**message, "headers": headers}
            await send(message)

        if self.token is None:
            if not is_loopback(_host_name(scope)):
                await PlainTextResponse("bad Host header", 400)(scope, receive, send_with_headers)
                return
        else:
            given, via_query = self._presented(scope)
            if given is None or not hmac.compare_digest(given.encode(), self.token.encode()):
                await PlainTextResponse("401: this dashboard needs its access token", 401)(
                    scope, receive, send_with_headers
                )
                return
            if via_query and scope["path"] == "/":  # swap the link's token for a cookie
                response = RedirectResponse(str(URL(scope=scope).remove_query_params("token")), 303)
                response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict")
                await response(scope, receive, send_with_headers)
                return
        await self.app(scope, receive, send_with_headers)

    def _presented(self, scope: Scope) -> tuple[str | None, bool]:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip(), False
        if "cookie" in headers:
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(headers["cookie"])
            except Exception:  # noqa: BLE001 - a malformed cookie header is just no token
                jar = SimpleCookie()
            if COOKIE in jar:
                return jar[COOKIE].value, False
        query = QueryParams(scope.get("query_string", b"").decode("latin-1")).get("token")
        return (query, True) if query else (None, False)

"""Security headers on every response, and session-cookie settings (ASVS V3, V14).

The pages use no inline script or style, so the Content-Security-Policy allows only the
portal's own stylesheet, images and scripts (one small file follows a call's progress), and
requests to the portal itself. Nothing dynamic is cached: every page but the static
files may show patient data, so all of them are ``no-store``.
"""

from __future__ import annotations

from flask import Flask, Response, request

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "style-src 'self'",
        "script-src 'self'",
        "connect-src 'self'",
        "img-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


SECURE_HEADERS = HEADERS | {"Strict-Transport-Security": "max-age=31536000"}
# What "no-store" makes meaningless, removed from every response but the static files'.
CACHE_HEADERS = ("Expires", "Last-Modified", "ETag", "Cache-Control")


def _add_headers(response: Response, secure: bool) -> Response:
    """The headers a response lacks, in one pass over those it has (every webhook's answer
    goes through here too)."""
    headers = response.headers
    present = {name.lower() for name, _ in headers}
    dynamic = request.endpoint != "static"
    if dynamic and present.intersection(name.lower() for name in CACHE_HEADERS):
        for name in CACHE_HEADERS:
            headers.pop(name, None)
    added = [
        (name, value)
        for name, value in (SECURE_HEADERS if secure else HEADERS).items()
        if name.lower() not in present
    ]
    if dynamic:
        added.append(("Cache-Control", "no-store"))
    headers.extend(added)
    return response


def init_app(app: Flask) -> None:
    secure = app.config["ORDOPHONE"].secure_cookies
    app.config.update(
        SESSION_COOKIE_NAME="__Host-ordophone" if secure else "ordophone",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_PATH="/",
    )
    app.after_request(lambda response: _add_headers(response, secure))

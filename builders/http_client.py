"""The one HTTP client of attack-kg: source downloads (builders/sources.py) and the Graph Store
(queries/endpoint.py) both go through it. urllib only, no session state.

The rules it keeps, for every request:

- Only ``http``/``https`` URLs; a URL with ``user:password@`` is refused (and never shown: messages
  carry :func:`without_userinfo`'s form), since urllib would send it along with the request.
- Credentials (``Authorization``) are sent to the URL asked for and never carried across a
  redirect (they are unredirected headers). A redirect to another origin (scheme, host, port)
  also loses any ``Authorization`` header put in the ordinary way: :class:`SameOriginRedirects`.
- Every request has a timeout; an answer is read in chunks up to a cap (512 MiB unless given);
  a body shorter than its ``Content-Length`` is an error.
- Every failure is one :class:`HttpError` whose message is one line.

SPARQLWrapper (remote queries) opens its requests with ``urllib.request.urlopen``, which uses the
opener installed in urllib; :func:`install_redirect_guard` installs one with
:class:`SameOriginRedirects`, the public way SPARQLWrapper itself configures urllib (its digest
authentication and keep-alive install openers the same way).
"""

from __future__ import annotations

import hashlib
import http.client
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from typing import BinaryIO

from attackkg.builders.base import without_userinfo

MAX_BYTES = 512 * 1024 * 1024
CHUNK = 1 << 16
CREDENTIAL_HEADERS = ("authorization", "proxy-authorization", "cookie")


class HttpError(Exception):
    """A request that failed: ``str()`` is one line, without credentials.

    ``kind`` says how: ``url`` (refused before sending), ``http`` (the server answered with an
    error status, in ``status``; its body's start in ``detail``), ``timeout``, ``connect``,
    ``cut`` (a body shorter than announced), ``stalled``, ``transfer``, ``limit`` (over the cap),
    ``write`` (the local file could not be written).
    """

    def __init__(self, message: str, kind: str, status: int | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.kind, self.status, self.detail = kind, status, detail


def check_url(url: str) -> None:
    """Refuse what is not an ``http(s)://host/...`` URL, and any user name or password in it."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise HttpError(f"not an http(s) URL: {without_userinfo(url)!r}", "url")
    if parts.username is not None or parts.password is not None:
        raise HttpError("a user name or password in the URL is not sent; use a URL without one", "url")


def origin(url: str) -> tuple[str, str, int | None]:
    parts = urllib.parse.urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


class SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    """urllib's redirect handling, except that credential headers never go to another origin."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # urllib's own signature
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and origin(newurl) != origin(req.full_url):
            for name in [key for key in new.headers if key.lower() in CREDENTIAL_HEADERS]:
                del new.headers[name]
        return new


def install_redirect_guard() -> None:
    """Make urllib's ``urlopen`` (which SPARQLWrapper calls) drop credentials on a cross-origin redirect."""
    urllib.request.install_opener(urllib.request.build_opener(SameOriginRedirects))


def open_url(
    url: str,
    *,
    method: str = "GET",
    data: BinaryIO | bytes | None = None,
    headers: Mapping[str, str] | None = None,
    credentials: Mapping[str, str] | None = None,
    timeout: float,
) -> http.client.HTTPResponse:
    """Send one request; the response, to be closed by the caller (``with open_url(...) as r``).

    ``credentials`` (``{"Authorization": ...}``) go to ``url`` only, never to where it redirects.
    Raises :class:`HttpError` (an error status, no connection, no answer within ``timeout``).
    """
    check_url(url)
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    for name, value in (credentials or {}).items():
        request.add_unredirected_header(name, value)
    opener = urllib.request.build_opener(SameOriginRedirects)
    try:
        return opener.open(request, timeout=timeout)
    except Exception as error:  # urllib's, http.client's and socket errors alike
        raise failure(error, timeout) from None


def copy(
    response: http.client.HTTPResponse,
    out: BinaryIO,
    *,
    timeout: float,
    limit: int = MAX_BYTES,
    progress: Callable[[int, int | None], None] | None = None,
) -> str:
    """Copy ``response``'s body into ``out`` in chunks, at most ``limit`` bytes; its SHA-256.

    ``progress(received, announced)`` is called after each chunk. Raises :class:`HttpError`.
    """
    length = response.headers.get("Content-Length")
    expected = int(length) if length and length.isdigit() else None
    if expected is not None and expected > limit:
        raise HttpError(f"the server announces {expected} bytes, over the {limit} limit", "limit")
    digest, received = hashlib.sha256(), 0
    try:
        while chunk := response.read(CHUNK):
            if received + len(chunk) > limit:
                raise HttpError(f"more than {limit} bytes; not read further", "limit")
            digest.update(chunk)
            try:
                out.write(chunk)
            except OSError as error:
                raise HttpError(f"cannot write: {error.strerror or error}", "write") from None
            received += len(chunk)
            if progress is not None:
                progress(received, expected)
    except http.client.IncompleteRead as error:
        raise HttpError(f"transfer cut short after {received + len(error.partial)} bytes", "cut") from None
    except TimeoutError:
        raise HttpError(f"stalled: no data for {timeout:g} s after {received} bytes", "stalled") from None
    except (http.client.HTTPException, ConnectionError) as error:
        raise HttpError(f"transfer failed after {received} bytes: {error!r}", "transfer") from None
    if expected is not None and received != expected:
        raise HttpError(f"transfer cut short: received {received} of {expected} bytes", "cut")
    return digest.hexdigest()


def read(response: http.client.HTTPResponse, *, timeout: float, limit: int = MAX_BYTES) -> bytes:
    """The whole body of ``response``, at most ``limit`` bytes (see :func:`copy`)."""
    import io

    body = io.BytesIO()
    copy(response, body, timeout=timeout, limit=limit)
    return body.getvalue()


def failure(error: BaseException, timeout: float) -> HttpError:
    """urllib's, http.client's or a socket's exception as one :class:`HttpError`."""
    if isinstance(error, HttpError):
        return error
    if isinstance(error, urllib.error.HTTPError):
        try:
            detail = error.read(4096).decode("utf-8", "replace")
        except Exception:
            detail = ""
        return HttpError(f"HTTP {error.code} {error.reason}", "http", status=error.code, detail=" ".join(detail.split()))
    reason = getattr(error, "reason", error) if isinstance(error, urllib.error.URLError) else error
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return HttpError(f"no answer within {timeout:g} s (timed out)", "timeout")
    if isinstance(error, urllib.error.URLError):
        return HttpError(f"cannot connect: {getattr(reason, 'strerror', None) or reason}", "connect")
    if isinstance(error, (http.client.HTTPException, ConnectionError)):
        return HttpError(f"the connection failed: {error!r}", "transfer")
    return HttpError(f"the request failed: {error}", "transfer")

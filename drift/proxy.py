"""The V2 pass-through: every request goes to the model server unchanged and its answer comes back unchanged
(status, headers, body, errors included); sampled inference exchanges are handed on for drift work afterwards.

Unchanged means: method, path and query, headers (hop-by-hop ones such as Connection aside, as for any proxy),
body bytes (compressed bodies stay compressed). Nothing is added but for one thing the HTTP library insists on: a
non-empty answer without a Content-Type gets `application/octet-stream` (RFC 9110 8.3; V2 servers always send
one). An unreachable upstream is a 502 and an upstream slower than `upstream_timeout_seconds` a 504, each with a
short V2-style JSON error, never a hang.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable

import aiohttp
from aiohttp import web

from mlinfra.drift.v2 import JSON_LENGTH_HEADER, Body, infer_model

log = logging.getLogger("mlinfra.drift.proxy")

# RFC 9110 7.6.1: meaningful for one connection only, never forwarded
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
                        "te", "trailer", "transfer-encoding", "upgrade"})
# answered by the proxy itself (it reads the body), not asked of the upstream again
PER_HOP_REQUEST = frozenset({"expect"})
# what aiohttp's client would add on its own; a proxied request carries only what the client sent
NO_AUTO_HEADERS = frozenset({"User-Agent", "Accept", "Accept-Encoding", "Content-Type"})
CHUNK = 64 * 1024

# (model, request, response) -> None, never blocking
Offer = Callable[[str, Body, Body], None]


def _forwarded(headers, also: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """Headers minus the hop-by-hop ones, those the Connection header names and `also`."""
    drop = HOP_BY_HOP | also | {h.strip().lower() for v in headers.getall("Connection", []) for h in v.split(",")}
    return [(k, v) for k, v in headers.items() if k.lower() not in drop]


def _body(data: bytes, headers) -> Body:
    return Body(data, headers.get("Content-Encoding", ""), headers.get(JSON_LENGTH_HEADER))


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


class Proxy:
    """The pass-through handler: `sample_rates` says which models are watched and at what rate."""

    def __init__(self, upstream: str, *, timeout: float, connect_timeout: float, max_sample_bytes: int,
                 sample_rates: dict[str, float], offer: Offer, rng: random.Random | None = None):
        self.upstream = upstream.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=connect_timeout)
        self.max_sample_bytes = max_sample_bytes
        self.sample_rates = sample_rates
        self.offer = offer
        self.random = (rng or random.Random()).random
        self.session: aiohttp.ClientSession | None = None

    async def start(self, app: web.Application) -> None:
        connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=60)
        self.session = aiohttp.ClientSession(connector=connector, auto_decompress=False, timeout=self.timeout,
                                             skip_auto_headers=NO_AUTO_HEADERS, cookie_jar=aiohttp.DummyCookieJar())

    async def stop(self, app: web.Application) -> None:
        if self.session is not None:
            await self.session.close()

    def sampled(self, method: str, path: str) -> str | None:
        """The model whose inference exchange this is, when it is watched and this one is sampled."""
        if method != "POST":
            return None
        model = infer_model(path)
        rate = self.sample_rates.get(model or "")
        return model if rate and (rate >= 1 or self.random() < rate) else None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        assert self.session is not None
        model = self.sampled(request.method, request.path)
        length = request.content_length
        body: bytes | aiohttp.StreamReader | None
        response: web.StreamResponse | None = None
        if model and length is not None and length <= self.max_sample_bytes:
            body = await request.read()
        else:
            model = None
            body = request.content if request.body_exists else None
        try:
            async with self.session.request(request.method, self.upstream + request.raw_path,
                                            headers=_forwarded(request.headers, PER_HOP_REQUEST), data=body,
                                            allow_redirects=False) as upstream:
                headers = _forwarded(upstream.headers)
                size = upstream.content_length
                if size is not None and size <= self.max_sample_bytes:  # Content-Length kept: it is the raw body's
                    payload = await upstream.read()
                    response = web.Response(status=upstream.status, reason=upstream.reason, body=payload)
                    response.headers.extend(headers)
                    if model and 200 <= upstream.status < 300:
                        self._offer(model, body, payload, request.headers, upstream.headers)
                    return response
                response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
                response.headers.extend(headers)
                await response.prepare(request)
                async for chunk in upstream.content.iter_chunked(CHUNK):
                    await response.write(chunk)
                await response.write_eof()
                return response
        except (aiohttp.ClientError, TimeoutError) as exc:
            if response is not None and response.prepared:
                raise  # the status is sent: all that is left is to cut the connection, as the upstream did
            return self._failure(exc)

    def _failure(self, exc: Exception) -> web.Response:
        """The 502 (unreachable, broken exchange) or 504 (too slow) for an upstream failure."""
        where = f"drift monitor: the model server at {self.upstream}"
        if isinstance(exc, aiohttp.ClientConnectorError):
            return _error(502, f"{where} is unreachable ({exc.os_error})")
        if isinstance(exc, aiohttp.ConnectionTimeoutError):
            return _error(502, f"{where} accepted no connection within {self.timeout.sock_connect:g} s")
        if isinstance(exc, TimeoutError):
            return _error(504, f"{where} did not answer within {self.timeout.total:g} s")
        return _error(502, f"{where} failed the exchange ({type(exc).__name__}: {exc})")

    def _offer(self, model: str, request_body, response_body: bytes, request_headers, response_headers) -> None:
        """Hand the exchange on; nothing here may fail the request."""
        try:
            self.offer(model, _body(bytes(request_body or b""), request_headers),
                       _body(response_body, response_headers))
        except Exception:  # noqa: BLE001 - drift work never affects a response
            log.exception("drift monitor: sampling %s failed", model)


def proxy_app(proxy: Proxy) -> web.Application:
    """The application on `listen`: every method and path goes through the proxy."""
    app = web.Application(client_max_size=0)  # bodies are streamed or bounded by max_sample_bytes, never capped
    app.on_startup.append(proxy.start)
    app.on_cleanup.append(proxy.stop)
    app.router.add_route("*", "/{tail:.*}", proxy.handle)
    return app

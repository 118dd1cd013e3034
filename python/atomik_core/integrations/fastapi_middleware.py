# SPDX-License-Identifier: Apache-2.0
"""ETag and 304 Not Modified for an ASGI app (FastAPI, Starlette) from the
strong fingerprint of each response body.

    from fastapi import FastAPI
    from atomik_core.integrations.fastapi_middleware import AtomikMiddleware

    app = FastAPI()
    app.add_middleware(AtomikMiddleware)

Every successful (2xx) GET response with a body gets an ETag: the
fingerprint of the body, in quotes. A GET whose If-None-Match names the
current ETag (or "*") gets 304 Not Modified without a body, keeping the
response's other headers (Cache-Control, ...) and dropping Content-Length
and Content-Type, as RFC 9110 asks. A response that already has an ETag,
other methods and non-HTTP scopes (websocket, lifespan) pass through
unchanged. The body is collected before it is sent (needed to fingerprint
it), so streamed responses are buffered.

The optional stats endpoint (default /atomik/stats) answers JSON counters.

Differences from the reference: the reference answered 304 whenever a
body equalled the previous body for the same path, whatever the client
had cached (a new client then got an empty 304); here 304 goes only to a
client that sent the matching If-None-Match, so every client is answered
correctly. fingerprint_width keeps the reference's default, 64, but the
ETag is the strong fingerprint truncated to 64 bits (Fingerprint(width=64)),
not the reference's XOR-fold, which misses swapped chunks; None (or 128)
gives the full 128-bit value.
"""

import json
import time
from collections import OrderedDict

from atomik_core.integrations._fp import fingerprint_of

__all__ = ["AtomikMiddleware"]


def _etag(data, width):
    value, bits = fingerprint_of(data, width)
    return b'"%0*x"' % ((bits + 3) // 4, value)


def _matches(if_none_match, etag):
    """RFC 9110 weak comparison of an If-None-Match value with etag."""
    for tag in if_none_match.split(b","):
        tag = tag.strip()
        if tag == b"*":
            return True
        if tag.startswith(b"W/"):
            tag = tag[2:]
        if tag == etag:
            return True
    return False


class _LRU:
    """The last ETag per (method, path), at most maxsize entries."""

    __slots__ = ("_d", "_max")

    def __init__(self, maxsize):
        self._d = OrderedDict()
        self._max = maxsize

    def swap(self, key, value):
        """Stores value for key; returns the previous one (or None)."""
        old = self._d.pop(key, None)
        self._d[key] = value
        if len(self._d) > self._max:
            self._d.popitem(last=False)
        return old

    def __len__(self):
        return len(self._d)


class AtomikMiddleware:
    """AtomikMiddleware(app, max_entries=10000,
    stats_endpoint="/atomik/stats", fingerprint_width=64)

    max_entries bounds the paths whose last ETag is remembered for the
    `changed` counter; stats_endpoint=None disables the endpoint.
    """

    def __init__(self, app, max_entries=10000, stats_endpoint="/atomik/stats",
                 fingerprint_width=64):
        if max_entries < 1:
            raise ValueError("max_entries must be >= 1")
        fingerprint_of(b"", fingerprint_width)   # reject a bad width now
        self._app = app
        self._cache = _LRU(max_entries)
        self._stats_endpoint = stats_endpoint
        self._fp_width = fingerprint_width
        self._total_requests = 0
        self._tagged = 0
        self._deduplicated = 0
        self._changed = 0
        self._bytes_saved = 0
        self._start_time = time.monotonic()

    def stats(self):
        """Counters: total_requests, tagged (responses given an ETag),
        deduplicated (304s sent), bytes_saved (bodies not sent), changed
        (tagged responses that differ from the path's previous one),
        dedup_rate, cached_paths, uptime_seconds."""
        total = self._total_requests
        rate = self._deduplicated / total * 100 if total else 0.0
        return {
            "total_requests": total,
            "tagged": self._tagged,
            "deduplicated": self._deduplicated,
            "changed": self._changed,
            "bytes_saved": self._bytes_saved,
            "dedup_rate": "%.1f%%" % rate,
            "cached_paths": len(self._cache),
            "uptime_seconds": round(time.monotonic() - self._start_time, 1),
        }

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        path = scope.get("path", "/")
        method = scope.get("method", "GET")
        if self._stats_endpoint and path == self._stats_endpoint:
            await self._send_json(send, self.stats())
            return
        self._total_requests += 1
        if method != "GET":
            await self._app(scope, receive, send)
            return

        start = None
        parts = []
        extra = []                       # other messages, sent after the body

        async def capture(message):
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                parts.append(message.get("body", b""))
            else:
                extra.append(message)

        await self._app(scope, receive, capture)
        if start is None:
            return                       # the app sent nothing
        body = b"".join(parts)
        status = start.get("status", 200)
        headers = list(start.get("headers", []))
        if not (200 <= status < 300) or not body or \
                any(k.lower() == b"etag" for k, _ in headers):
            await send(start)
            await send({"type": "http.response.body", "body": body})
            for m in extra:
                await send(m)
            return

        etag = _etag(body, self._fp_width)
        self._tagged += 1
        previous = self._cache.swap("%s:%s" % (method, path), etag)
        if previous is not None and previous != etag:
            self._changed += 1
        inm = b",".join(v for k, v in scope.get("headers", [])
                        if k.lower() == b"if-none-match")
        if inm and _matches(inm, etag):
            self._deduplicated += 1
            self._bytes_saved += len(body)
            kept = [(k, v) for k, v in headers if k.lower() not in
                    (b"content-length", b"content-type")]
            await send({"type": "http.response.start", "status": 304,
                        "headers": kept + [(b"etag", etag)]})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({**start, "headers": headers + [(b"etag", etag)]})
        await send({"type": "http.response.body", "body": body})
        for m in extra:
            await send(m)

    @staticmethod
    async def _send_json(send, payload):
        body = json.dumps(payload, indent=2).encode("utf-8")
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", b"%d" % len(body))]})
        await send({"type": "http.response.body", "body": body})

    def __repr__(self):
        s = self.stats()
        return "AtomikMiddleware(requests=%d, dedup=%d, saved=%dB)" % (
            s["total_requests"], s["deduplicated"], s["bytes_saved"])

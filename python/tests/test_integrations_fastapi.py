# SPDX-License-Identifier: Apache-2.0
"""atomik_core.integrations.fastapi_middleware on a real FastAPI app through
Starlette's TestClient (httpx)."""
import pytest

fastapi = pytest.importorskip("fastapi")
from fastapi.responses import PlainTextResponse, StreamingResponse  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from atomik_core import Fingerprint  # noqa: E402
from atomik_core.integrations.fastapi_middleware import AtomikMiddleware  # noqa: E402


@pytest.fixture
def app_state():
    state = {"items": [1, 2, 3]}
    app = fastapi.FastAPI()

    @app.get("/items")
    def items():
        return {"items": state["items"]}

    @app.post("/items")
    def add(n: int):
        state["items"].append(n)
        return {"ok": True}

    @app.get("/tagged")
    def tagged():
        return PlainTextResponse("x", headers={"ETag": '"mine"'})

    @app.get("/missing")
    def missing():
        raise fastapi.HTTPException(404)

    @app.get("/stream")
    def stream():
        return StreamingResponse(iter([b"a" * 10, b"b" * 10, b"c"]))

    app.add_middleware(AtomikMiddleware, max_entries=100)
    return app, state


def expected_etag(body, width=64):
    """The strong fingerprint of body, truncated to width bits (the
    middleware's default: 64, as the reference's fingerprint_width)."""
    fp = Fingerprint() if width == 128 else Fingerprint(width=width)
    fp.load(body)
    return '"%0*x"' % (width // 4, fp.value)


def test_etag_and_304(app_state):
    app, state = app_state
    c = TestClient(app)
    r = c.get("/items")
    assert r.status_code == 200 and r.json() == {"items": [1, 2, 3]}
    etag = r.headers["etag"]
    assert etag == expected_etag(r.content)        # the strong fingerprint
    assert len(etag) == 2 + 16                     # 64 bits, in quotes
    r2 = c.get("/items", headers={"If-None-Match": etag})
    assert r2.status_code == 304 and r2.content == b""
    assert r2.headers["etag"] == etag and "content-type" not in r2.headers
    # A client without the ETag still gets the body (never an empty 304).
    assert c.get("/items").status_code == 200
    # Weak and list forms match too.
    assert c.get("/items", headers={"If-None-Match": '"x", W/' + etag}
                 ).status_code == 304
    # A change gives a new ETag; the old one no longer matches.
    assert c.post("/items", params={"n": 4}).status_code == 200
    r3 = c.get("/items", headers={"If-None-Match": etag})
    assert r3.status_code == 200 and r3.json()["items"] == [1, 2, 3, 4]
    assert r3.headers["etag"] != etag
    s = c.get("/atomik/stats").json()
    assert s["deduplicated"] == 2 and s["changed"] == 1
    assert s["bytes_saved"] == 2 * len(r.content)
    assert s["total_requests"] == 6 and s["tagged"] == 5


def test_pass_through_cases(app_state):
    app, _ = app_state
    c = TestClient(app)
    r = c.post("/items", params={"n": 9})
    assert r.status_code == 200 and "etag" not in r.headers
    r = c.get("/tagged", headers={"If-None-Match": '"mine"'})
    assert r.status_code == 200 and r.headers["etag"] == '"mine"'   # the app's
    r = c.get("/missing")
    assert r.status_code == 404 and "etag" not in r.headers
    r = c.get("/stream")
    assert r.content == b"a" * 10 + b"b" * 10 + b"c"
    assert r.headers["etag"] == expected_etag(r.content)
    assert c.get("/stream", headers={"If-None-Match": r.headers["etag"]}
                 ).status_code == 304


def test_starlette_app_and_disabled_stats():
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def home(request):
        return JSONResponse({"hello": "world"})

    app = Starlette(routes=[Route("/", home)])
    app.add_middleware(AtomikMiddleware, stats_endpoint=None)
    c = TestClient(app)
    etag = c.get("/").headers["etag"]
    assert c.get("/", headers={"If-None-Match": etag}).status_code == 304
    assert c.get("/atomik/stats").status_code == 404
    with pytest.raises(ValueError):
        AtomikMiddleware(app, max_entries=0)


def test_fingerprint_widths():
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    # Two bodies the reference's XOR-fold cannot tell apart (8-byte words
    # swapped): the truncated strong fingerprint can, at every width.
    bodies = [b"AAAAAAAABBBBBBBB", b"BBBBBBBBAAAAAAAA"]

    async def page(request):
        return Response(bodies[int(request.query_params["i"])])

    for width, digits in ((None, 32), (128, 32), (64, 16), (32, 8)):
        app = Starlette(routes=[Route("/", page)])
        app.add_middleware(AtomikMiddleware, fingerprint_width=width)
        c = TestClient(app)
        tags = [c.get("/", params={"i": i}).headers["etag"] for i in (0, 1)]
        assert [len(t) for t in tags] == [2 + digits] * 2, width
        assert tags[0] == expected_etag(bodies[0], width or 128)
        assert tags[0] != tags[1], width
        assert c.get("/", params={"i": 1},
                     headers={"If-None-Match": tags[0]}).status_code == 200
    with pytest.raises(ValueError):
        AtomikMiddleware(app, fingerprint_width=12)

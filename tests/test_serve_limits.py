"""Trying to break the HTTP service: oversized and slow requests, malformed bodies, odd ids.

Every case gets a 4xx with a JSON body {"error", "detail"} (no Python repr, no server path),
and the server keeps serving. Raw sockets play the clients that HTTP libraries refuse to be.
"""

import json
import logging
import re
import select
import socket
import time

import numpy as np
import pytest

from classifiers.serve.limits import ServeLimits
from classifiers.serve.service import embeddings_json
from store import FeatureStore
from store.schema import MAX_YEAR, MIN_YEAR
from tests.conftest import REAL_DATA
from tests.serving import LIMITS, serve_fitted

POSTER = "poster/efficientnet-lite0"


@pytest.fixture(scope="module")
def server(fitted):
    yield from serve_fitted(fitted)


def address(client):
    return client.base_url.host, client.base_url.port


def read_response(sock, timeout=15):
    """(status, headers text, body bytes) of one HTTP/1.1 answer on a raw socket ('' status if closed silently)."""
    sock.settimeout(timeout)
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = head.split(b" ", 2)[1].decode() if head.startswith(b"HTTP/") else ""
    return status, head.decode("latin-1"), body


def assert_error_body(r, status, kind=None):
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) >= {"error", "detail"}, body
    assert isinstance(body["detail"], str) and "{'" not in body["detail"] and "Traceback" not in body["detail"]
    if kind:
        assert body["error"] == kind, body


def test_a_chunked_upload_is_cut_off_at_the_limit(server):
    """Chunked bodies bypassed the Content-Length check and were spooled to disk in full."""
    client, _ = server
    sock = socket.create_connection(address(client))
    sock.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                 b"Content-Type: multipart/form-data; boundary=b\r\n\r\n")
    part = b'--b\r\nContent-Disposition: form-data; name="poster"; filename="p.jpg"\r\n\r\n'
    sent, total, block = 0, 64 * 2**20, b"\xff" * 65536
    try:
        sock.sendall(b"%x\r\n%s\r\n" % (len(part), part))
        while sent < total and not select.select([sock], [], [], 0)[0]:
            sock.sendall(b"%x\r\n%s\r\n" % (len(block), block))
            sent += len(block)
    except (BrokenPipeError, ConnectionResetError):
        pass
    status, head, body = read_response(sock)
    sock.close()
    assert status == "413", head
    assert json.loads(body)["error"] == "too_large"
    # the server stopped reading near the limit: what was sent beyond it sits in socket buffers
    assert sent < 16 * 2**20, f"server read {sent} bytes of a body limited to {LIMITS.max_body_bytes}"
    assert client.get("/health").status_code == 200


def test_a_declared_length_over_the_limit_is_refused_before_the_body(server):
    client, _ = server
    with socket.create_connection(address(client)) as sock:
        sock.sendall(b"POST /embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 900000000\r\n\r\n")
        status, head, body = read_response(sock)
    assert status == "413" and "connection: close" in head.lower()
    assert json.loads(body)["error"] == "too_large"


def trickle(sock, data, pause=0.25, give_up=15):
    """Send ``data`` a byte at a time until the server answers or closes; seconds it took."""
    t0 = time.monotonic()
    try:
        for byte in data:
            if select.select([sock], [], [], 0)[0] or time.monotonic() - t0 > give_up:
                break
            sock.sendall(bytes([byte]))
            time.sleep(pause)
    except (BrokenPipeError, ConnectionResetError):
        pass
    return time.monotonic() - t0


def test_a_client_trickling_headers_is_timed_out(server):
    client, _ = server
    with socket.create_connection(address(client)) as sock:
        took = trickle(sock, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200 + b"\r\n\r\n")
        status, _, body = read_response(sock)
    assert status == "408" and json.loads(body)["error"] == "request_timeout"
    assert took < LIMITS.header_timeout + 3


def test_an_idle_connection_is_closed(server):
    client, _ = server
    with socket.create_connection(address(client)) as sock:
        t0 = time.monotonic()
        status, _, _ = read_response(sock)
    assert status == "" and time.monotonic() - t0 < LIMITS.header_timeout + 3


def test_a_client_trickling_its_body_is_timed_out(server):
    client, _ = server
    with socket.create_connection(address(client)) as sock:
        sock.sendall(b"POST /embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 200\r\n\r\n")
        took = trickle(sock, b" " * 200)
        status, head, body = read_response(sock)
    assert status == "408" and "connection: close" in head.lower()
    assert json.loads(body)["error"] == "request_timeout"
    assert took < LIMITS.body_timeout + 3


def test_post_embeddings_limits_ids_and_response_size(server, fitted):
    client, store = server
    with FeatureStore.open(store) as s:
        ids = s.feature_ids(POSTER)
    r = client.post("/embeddings", json={"ids": ids[:LIMITS.max_ids + 1]})
    assert_error_body(r, 413, "too_many_ids")
    assert str(LIMITS.max_ids) in r.json()["detail"]
    # 50 tf-idf rows of ~2,500 values cannot fit 200,000 bytes: refused before any lookup
    r = client.post("/embeddings", json={"ids": ids[:50], "feature": "overview/tfidf"})
    assert_error_body(r, 413, "response_too_large")
    # 30 poster rows (~15 kB of JSON each) pass the estimate but not the byte count
    r = client.post("/embeddings", json={"ids": ids[:30]})
    assert_error_body(r, 413, "response_too_large")
    assert client.post("/embeddings", json={"ids": ids[:5]}).status_code == 200


def test_embeddings_json_stops_at_the_limit_and_matches_the_store(fitted):
    store, _, _ = fitted
    with FeatureStore.open(store) as s:
        ids = s.feature_ids("overview/tfidf")[:40]
        full = json.loads(embeddings_json(s, ids + ids[:3], "overview/tfidf", ServeLimits()))
        assert list(full["vectors"]) == ids                       # repeats answered once, in the asked order
        np.testing.assert_array_equal(np.array(list(full["vectors"].values()), np.float32),
                                      s.lookup(ids, "overview/tfidf").toarray())
        size = len(embeddings_json(s, ids, "overview/tfidf", ServeLimits()))
        with pytest.raises(Exception) as info:
            embeddings_json(s, ids, "overview/tfidf", ServeLimits(max_response_bytes=size - 1))
        assert info.value.status_code == 413 and "fewer ids" in info.value.detail


def multipart(fields, boundary="b"):
    out = b""
    for name, value in fields:
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


def test_every_bad_request_is_json_with_error_and_detail(server):
    client, _ = server
    poster = (REAL_DATA / "posters" / "10112.jpg").read_bytes()
    ctype = {"content-type": "multipart/form-data; boundary=b"}
    cases = [
        (client.get("/no/such/route"), 404, "not_found"),
        (client.delete("/health"), 405, "method_not_allowed"),
        (client.post("/predict", files={"poster": ("p.jpg", poster)}, data={"overview": "x" * 2_000_000}),
         400, "bad_request"),                                                      # over the 1 MB part limit
        (client.post("/predict", content=b"--zz\r\nnonsense", headers=ctype), 400, "bad_request"),
        (client.post("/predict", content=b"x", headers={"content-type": "multipart/form-data"}), 400, "bad_request"),
        (client.post("/predict", content=multipart([(f"f{i}", b"1") for i in range(1100)]), headers=ctype),
         400, "bad_request"),
        (client.post("/embeddings", content=b"[" * 100_000 + b"]" * 100_000,
                     headers={"content-type": "application/json"}), 400, "bad_request"),
        (client.post("/embeddings", content=b'{"ids": ["1"', headers={"content-type": "application/json"}),
         422, "invalid_request"),
        (client.post("/embeddings", json={"idz": ["1"]}), 422, "invalid_request"),
        (client.post("/predict", files={"poster": ("p.jpg", poster)}, data={"year": str(MIN_YEAR - 1)}),
         422, "invalid_request"),
        (client.post("/predict", files={"poster": ("p.jpg", poster)}, data={"year": str(MAX_YEAR + 1)}),
         422, "invalid_request"),
        (client.get("/similar/100?k=0"), 422, "invalid_request"),
    ]
    for r, status, kind in cases:
        assert_error_body(r, status, kind)
    assert "ids: Field required" in cases[8][0].json()["detail"]
    assert "year" in cases[9][0].json()["detail"] and str(MIN_YEAR) in cases[9][0].json()["detail"]
    ok = client.post("/predict", files={"poster": ("p.jpg", poster)}, data={"year": str(MAX_YEAR)})
    assert ok.status_code == 200, ok.text


def test_error_messages_do_not_reveal_server_paths(server):
    client, store = server
    folder = str(store.parent)
    answers = [client.get("/embeddings/100?feature=poster/nope"), client.get("/similar/100?feature=nope/x"),
               client.get("/health"), client.get("/models")]
    assert answers[0].status_code == 404 and answers[1].status_code == 404
    for r in answers:
        assert folder not in r.text and not re.search(r'"/(tmp|home|work|root)/', r.text), r.text
    assert answers[2].json()["store"]["path"] == store.name


def test_openapi_documents_models_and_error_statuses(server):
    client, _ = server
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    predict = paths["/predict"]["post"]["responses"]
    assert {"200", "413", "415", "422"} <= set(predict)
    assert predict["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/Prediction")
    for path, method, statuses in (("/embeddings/{movie_id}", "get", {"404", "422"}),
                                   ("/embeddings", "post", {"404", "413", "422"}),
                                   ("/similar/{movie_id}", "get", {"404", "422"})):
        responses = paths[path][method]["responses"]
        assert statuses <= set(responses), (path, responses)
        for status in statuses:
            assert responses[status]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
        assert responses["200"]["content"]["application/json"]["schema"] != {}
    assert {"error", "detail"} <= set(schema["components"]["schemas"]["ErrorBody"]["properties"])


def test_docs_page_uses_only_local_assets(server):
    client, _ = server
    page = client.get("/docs")
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and not [a for a in assets if "//" in a], assets        # nothing from another host
    for asset in assets:
        r = client.get(asset)
        assert r.status_code == 200 and len(r.content) > 100, asset
    assert "SwaggerUIBundle" in client.get(next(a for a in assets if a.endswith(".js"))).text


def test_one_access_log_line_per_request(server, caplog):
    client, _ = server
    with caplog.at_level(logging.INFO, logger="onesheet.serve.access"):
        client.get("/health")
        client.get("/embeddings/no-such-id")
        time.sleep(0.2)
    lines = [r.getMessage() for r in caplog.records if r.name == "onesheet.serve.access"]
    assert len(lines) == 2, lines
    assert re.fullmatch(r"GET /health 200 \d+\.\dms", lines[0]) and lines[1].startswith("GET /embeddings/no-such-id 404 ")

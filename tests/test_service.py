"""The HTTP service through a real HTTP client against a running uvicorn server."""

import concurrent.futures
from urllib.parse import quote

import httpx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from store import FeatureStore
from tests.conftest import REAL_DATA
from tests.images_fixtures import broken_folder
from tests.serving import LIMITS, serve_fitted

LIMIT = LIMITS.max_body_bytes


@pytest.fixture(scope="module")
def server(fitted):
    yield from serve_fitted(fitted)


def poster_bytes(name="10112.jpg"):
    return (REAL_DATA / "posters" / name).read_bytes()


def test_predict_a_real_poster(server):
    client, _ = server
    r = client.post("/predict", files={"poster": ("p.jpg", poster_bytes())}, data={"year": "1972"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["genres"] and body["decade"] == 1970 and len(body["probabilities"]) == 19
    # every predicted genre clears its own threshold, which the answer shows
    assert len(body["thresholds"]) == 19 and isinstance(body["notes"], list)
    assert all(body["probabilities"][g] >= body["thresholds"][g] for g in body["genres"] if len(body["genres"]) > 1)
    assert body["model"].startswith("svm__poster-efficientnet-lite0/")
    r = client.post("/predict", files={"poster": ("p.jpg", poster_bytes("100.jpg"))},
                    data={"overview": "Card sharks pull a heist on the gang next door."})
    assert r.status_code == 200 and "overview-tfidf" in r.json()["model"]


def test_bad_uploads_are_4xx_and_the_server_keeps_serving(server, tmp_path):
    client, _ = server
    broken_folder(tmp_path)
    cases = {
        "text.jpg": 415, "empty.jpg": 422, "truncated.jpg": 422, "huge.png": 413,
    }
    for name, status in cases.items():
        r = client.post("/predict", files={"poster": (name, (tmp_path / name).read_bytes())})
        assert r.status_code == status, (name, r.text)
        assert "error" in r.json()
    too_big = b"\xff\xd8" + b"0" * (LIMIT + 10)
    assert client.post("/predict", files={"poster": ("big.jpg", too_big)}).status_code == 413
    assert client.post("/predict", data={"overview": "no poster"}).status_code == 422
    assert client.post("/predict", files={"poster": ("p.jpg", poster_bytes())}, data={"year": "abc"}).status_code == 422
    assert client.post("/predict", files={"poster": ("p.jpg", poster_bytes())}).status_code == 200


def test_embeddings_match_the_store(server):
    client, store = server
    with FeatureStore.open(store) as s:
        ids = s.feature_ids("poster/efficientnet-lite0")[:3]
        expected = s.lookup(ids, "poster/efficientnet-lite0")
    r = client.get(f"/embeddings/{ids[0]}")
    assert r.status_code == 200
    np.testing.assert_allclose(r.json()["vector"], expected[0], rtol=1e-6)
    r = client.post("/embeddings", json={"ids": ids})
    assert list(r.json()["vectors"]) == ids
    np.testing.assert_allclose(np.array(list(r.json()["vectors"].values())), expected, rtol=1e-6)
    r = client.post("/embeddings", json={"ids": ids[:1], "feature": "overview/tfidf"})
    assert r.status_code == 200 and len(r.json()["vectors"][ids[0]]) > 100


def test_embedding_errors(server):
    client, _ = server
    r = client.get("/embeddings/no-such-movie")
    assert r.status_code == 404 and r.json()["ids"] == ["no-such-movie"]
    assert client.get("/embeddings/100?feature=poster/nope").status_code == 404
    assert client.post("/embeddings", content=b'{"ids": ["100"', headers={"content-type": "application/json"}).status_code == 422
    assert client.post("/embeddings", json={"ids": []}).status_code == 422
    assert client.post("/embeddings", json={"idz": ["100"]}).status_code == 422


def test_similar(server):
    client, store = server
    with FeatureStore.open(store) as s:
        movie = s.feature_ids("poster/efficientnet-lite0")[0]
    r = client.get(f"/similar/{movie}?k=5")
    assert r.status_code == 200
    sims = [x["similarity"] for x in r.json()["similar"]]
    assert len(sims) == 5 and sims == sorted(sims, reverse=True) and movie not in [x["id"] for x in r.json()["similar"]]
    assert client.get("/similar/nobody").status_code == 404
    assert client.get(f"/similar/{movie}?k=0").status_code == 422
    assert client.get(f"/similar/{movie}?feature=overview/tfidf&k=3").status_code == 200


def test_health_models_openapi(server):
    client, _ = server
    assert client.get("/health").json()["status"] == "ok"
    models = client.get("/models").json()
    assert len(models["genres"]) == 19 and models["configs"]
    schema = client.get("/openapi.json").json()
    assert {"/predict", "/embeddings", "/embeddings/{movie_id}", "/similar/{movie_id}", "/health", "/models"} <= set(schema["paths"])


def test_concurrent_predicts_are_micro_batched(server):
    client, _ = server
    before = client.get("/models").json()["batching"]
    data = poster_bytes()

    def one(_):
        with httpx.Client(base_url=str(client.base_url), timeout=60) as c:
            return c.post("/predict", files={"poster": ("p.jpg", data)}).status_code

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(one, range(16)))
    assert statuses == [200] * 16
    after = client.get("/models").json()["batching"]
    items, batches = after["items"] - before["items"], after["batches"] - before["batches"]
    assert items == 16 and batches < 16  # several requests shared an ONNX run


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(movie=st.text(min_size=1, max_size=40), k=st.integers(-5, 500), feature=st.sampled_from([None, "x", "poster/efficientnet-lite0", "../../etc"]))
def test_fuzzed_lookups_never_5xx(server, movie, k, feature):
    client, _ = server
    params = {"k": k} | ({"feature": feature} if feature else {})
    assert client.get("/similar/" + quote(movie, safe=""), params=params).status_code < 500
    assert client.get("/embeddings/" + quote(movie, safe=""), params=params).status_code < 500
    assert client.post("/embeddings", json={"ids": [movie], "feature": feature}).status_code < 500

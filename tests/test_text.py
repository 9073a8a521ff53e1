"""Overview features: frozen vocabularies, zero vectors, and user word-vector files."""

import numpy as np
import pytest

from featurize.errors import WordVectorsError
from featurize.text import BagOfWords, MeanWordVectors, Tfidf, tokens
from featurize.wordvec import load, load_path

DOCS = ["A cowboy rides a horse into town", "The cowboy sings to his horse", "A ghost haunts the old town",
        "Aliens invade the town", "The ghost and the cowboy"] * 4


@pytest.mark.parametrize("cls", [BagOfWords, Tfidf])
def test_encoder_rebuilt_from_artifacts_is_identical(cls):
    enc = cls().fit(DOCS)
    again = cls.from_artifacts(enc.artifacts())
    new = ["a cowboy and a ghost", "", "unseen words only"]
    assert (enc.transform(new) != again.transform(new)).nnz == 0
    assert enc.provenance()["sha256"] == again.provenance()["sha256"]
    assert enc.transform([""]).nnz == 0
    other = cls().fit(DOCS[:3] * 4)
    assert other.provenance()["sha256"] != enc.provenance()["sha256"]


def test_bow_counts_words():
    enc = BagOfWords().fit(DOCS)
    row = enc.transform(["cowboy cowboy horse"]).toarray()[0]
    assert row[enc.terms.index("cowboy")] == 2 and row[enc.terms.index("horse")] == 1


def glove_file(path):
    path.write_text("cowboy 1 0 0\nhorse 0 1 0\nghost 0 0 1\nthe 9 9 9\n")
    return path


def test_mean_word_vectors_from_a_glove_text_file(tmp_path):
    kv, sha = load_path(str(glove_file(tmp_path / "tiny.txt")))
    enc = MeanWordVectors(kv, "tiny", sha)
    out = enc.transform(["The cowboy's horse", "", "zzz qqq"])
    np.testing.assert_allclose(out[0], [0.5, 0.5, 0])  # 'the' is a stop word
    assert not out[1].any() and not out[2].any()
    assert enc.unknown_rows(["The cowboy's horse", "", "zzz qqq"]) == [1, 2]


def test_word2vec_binary_and_named_loading(tmp_path):
    kv, _ = load_path(str(glove_file(tmp_path / "tiny.txt")))
    binary = tmp_path / "vectors.bin"
    kv.save_word2vec_format(str(binary), binary=True)
    kv2, suffix, sha = load(str(binary))
    assert suffix == "wv-vectors" and len(sha) == 64
    np.testing.assert_allclose(kv2["ghost"], [0, 0, 1])
    with pytest.raises(WordVectorsError):
        load("no-such-vectors")
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"\x00\x01garbage")
    with pytest.raises(WordVectorsError):
        load_path(str(bad))


def test_tokens_drop_stop_words_and_case():
    assert tokens("The Cowboy's HORSE, and a ghost!") == ["cowboy's", "horse", "ghost"]

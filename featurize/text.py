"""Overview -> bag-of-words counts, tf-idf, or mean word vector; each encoder can be rebuilt
exactly from what it stored (vocabulary, idf, settings) so predict-time features match.
"""

import json
import re

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer, TfidfVectorizer

from .errors import FeaturizeError
from .hashing import sha256_json

TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

# The seeds' bag-of-words settings.
BOW_PARAMS = {"max_df": 0.95, "min_df": 0.005, "lowercase": True}
TFIDF_PARAMS = {"ngram_range": (1, 2), "sublinear_tf": True, "min_df": 2, "max_df": 0.95,
                "stop_words": "english", "strip_accents": "unicode", "lowercase": True, "dtype": np.float32}


def _fit(cls, params, texts):
    """Fit a vectorizer; on a corpus too small for the document-frequency cut-offs, keep every term.

    Returns (fitted vectorizer, the parameters actually used). Raises FeaturizeError when
    there is no text at all to learn a vocabulary from.
    """
    texts = [t for t in texts if t.strip()]
    try:
        return cls(**params).fit(texts), params
    except ValueError:
        relaxed = dict(params, min_df=1, max_df=1.0)
        try:
            return cls(**relaxed).fit(texts), relaxed
        except ValueError as exc:
            raise FeaturizeError(f"no overview text to learn a vocabulary from ({exc})") from None


def _params(art, default):
    """The fit-time settings stored with a vocabulary (``default`` for stores that predate them)."""
    return json.loads(str(art["params"][0])) if "params" in art else default


def _json_params(params):
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in params.items() if k != "dtype"}


def _vocab_hash(kind, params, terms, extra=b""):
    digest = sha256_json({"kind": kind, "params": params, "terms": list(terms)})
    return sha256_json([digest, extra.hex() if extra else ""])


class BagOfWords:
    """CountVectorizer counts with the seeds' settings; the vocabulary is frozen after fit."""

    kind = "bow"

    def __init__(self, terms=None, params=None):
        self.terms = None if terms is None else list(terms)
        self.params = params or BOW_PARAMS
        self._vec = None if terms is None else CountVectorizer(vocabulary=self.terms, lowercase=True)

    def fit(self, texts):
        vec, self.params = _fit(CountVectorizer, BOW_PARAMS, texts)
        self.terms = list(vec.get_feature_names_out())
        self._vec = CountVectorizer(vocabulary=self.terms, lowercase=True)
        return self

    def transform(self, texts):
        return sp.csr_matrix(self._vec.transform(texts), dtype=np.float32)

    def artifacts(self):
        return {"terms": np.array(self.terms, dtype=object), "params": np.array([json.dumps(self.params)], dtype=object)}

    @classmethod
    def from_artifacts(cls, art, provenance=None):
        return cls([str(t) for t in art["terms"]], _params(art, BOW_PARAMS))

    def provenance(self):
        return {"encoder": "sklearn CountVectorizer", "sha256": _vocab_hash(self.kind, self.params, self.terms),
                "preprocessing": f"lower-cased word counts, {self.params}", "vocabulary_size": len(self.terms)}


class Tfidf:
    """Word 1-2-gram tf-idf with sublinear tf; vocabulary and idf are frozen after fit."""

    kind = "tfidf"

    def __init__(self, terms=None, idf=None, params=None):
        self.terms, self.idf = terms, idf
        self.params = params or _json_params(TFIDF_PARAMS)
        self._vec = None if terms is None else self._frozen(terms, idf)

    @staticmethod
    def _frozen(terms, idf):
        params = {k: v for k, v in TFIDF_PARAMS.items() if k not in ("min_df", "max_df")}
        vec = TfidfVectorizer(vocabulary=list(terms), **params)
        vec.idf_ = np.asarray(idf, dtype=np.float64)
        return vec

    def fit(self, texts):
        vec, params = _fit(TfidfVectorizer, TFIDF_PARAMS, texts)
        self.params = _json_params(params)
        self.terms, self.idf = list(vec.get_feature_names_out()), vec.idf_.copy()
        self._vec = self._frozen(self.terms, self.idf)
        return self

    def transform(self, texts):
        return sp.csr_matrix(self._vec.transform(texts), dtype=np.float32)

    def artifacts(self):
        return {"terms": np.array(self.terms, dtype=object), "idf": np.asarray(self.idf, np.float64),
                "params": np.array([json.dumps(self.params)], dtype=object)}

    @classmethod
    def from_artifacts(cls, art, provenance=None):
        return cls([str(t) for t in art["terms"]], np.asarray(art["idf"]), _params(art, _json_params(TFIDF_PARAMS)))

    def provenance(self):
        return {"encoder": "sklearn TfidfVectorizer",
                "sha256": _vocab_hash(self.kind, self.params, self.terms, np.asarray(self.idf, np.float64).tobytes()),
                "preprocessing": f"word 1-2-grams, sublinear tf, l2 rows, {self.params}",
                "vocabulary_size": len(self.terms)}


def tokens(text):
    """Lower-cased word tokens without English stop words (the mean-vector tokenisation)."""
    return [t for t in TOKEN.findall(text.lower()) if t not in ENGLISH_STOP_WORDS]


class MeanWordVectors:
    """Mean of the word vectors of an overview's known non-stop-word tokens (zero if none)."""

    kind = "mean-word-vectors"

    def __init__(self, keyed_vectors, name, sha256, source=None):
        self.kv, self.name, self.sha256, self.source = keyed_vectors, name, sha256, source

    def fit(self, texts):
        return self  # nothing to learn: the vectors are pretrained

    def _index_of(self, tok):
        """Vocabulary row of a token; "cowboy's" falls back to "cowboy" as GloVe splits clitics."""
        index = self.kv.key_to_index
        j = index.get(tok)
        if j is None and "'" in tok:
            j = index.get(tok.split("'")[0])
        return j

    def transform(self, texts):
        index = self.kv.key_to_index
        rows, cols = [], []
        for r, text in enumerate(texts):
            for tok in tokens(text):
                j = self._index_of(tok)
                if j is not None:
                    rows.append(r)
                    cols.append(j)
        counts = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(texts), len(index)))
        n = np.asarray(counts.sum(axis=1)).ravel()
        out = np.asarray(counts @ self.kv.vectors, dtype=np.float32)
        out[n > 0] /= n[n > 0, None]
        return out

    def unknown_rows(self, texts):
        """Indices of texts with no known token (their vector is zero)."""
        return [i for i, t in enumerate(texts) if all(self._index_of(tok) is None for tok in tokens(t))]

    def artifacts(self):
        return {}

    def provenance(self):
        return {"encoder": f"gensim KeyedVectors {self.name}", "sha256": self.sha256,
                "preprocessing": "lower-cased tokens [a-z0-9']+, sklearn English stop words removed, "
                                 "mean of known-word vectors, zero vector when none",
                "dim": int(self.kv.vector_size), "word_vectors": self.name, "source": self.source or self.name}

"""Predict genres for new posters (and overviews, and years) from a fitted model directory.

For each movie the predictor picks the configuration whose inputs it has (a fused
poster+overview model when there is an overview, else the best poster-only one), then the
model its decade chose at fit time (its own or the pooled one; pooled when the year is
unknown). Features are computed with exactly the encoders saved at fit time.
"""

import os
from dataclasses import dataclass

import numpy as np

from featurize.online import OnlineFeaturizer

from ..modeldir import persist
from ..model.decades import read_manifest
from ..errors import ClassifierError
from ..model.features import parse_spec, stack_blocks
from ..model.priorshift import em_priors

MIN_SHIFT_ROWS = 20     # fewer movies than this give no usable prior estimate


def train_priors(card, genres):
    """Each genre's share of the movies a model was fitted on (train + validation), from its card."""
    counts = card.get("train_genre_counts") or {}     # counted over train + validation rows
    n = (card.get("n_train") or 0) + (card.get("n_val") or 0)
    return np.array([counts.get(g, 0) / n if n else 0.0 for g in genres])


@dataclass
class Prediction:
    genres: list            # predicted genres, most probable first
    probabilities: dict     # genre -> probability
    model: str              # "<config>/<scope>"
    error: str = ""         # set when there is no prediction at all
    warning: str = ""       # set when the prediction had to do without the poster


def _needs_overview(spec):
    return any(n.startswith("overview/") for n in parse_spec(spec))


def _needs_poster(spec):
    return any(n.startswith("poster/") for n in parse_spec(spec))


class Predictor:
    """Loads a model directory once; ``predict`` handles any number of movies."""

    def __init__(self, directory, device="auto", word_vectors=None):
        self.directory = os.path.abspath(directory)
        self.manifest = read_manifest(self.directory)
        if not self.manifest or not self.manifest.get("configs"):
            raise ClassifierError(f"{directory} holds no fitted models; run onesheet fit STORE --models {directory}")
        if self.manifest.get("schema_version") != persist.MODEL_SCHEMA_VERSION:
            raise ClassifierError(f"{directory} was written with model schema v{self.manifest.get('schema_version')}; "
                                  f"re-run onesheet fit")
        self.genres = self.manifest["genres"]
        self.device, self.word_vectors = device, word_vectors
        self._models, self._featurizers = {}, {}

    def configs(self):
        return self.manifest["configs"]

    def choose_config(self, has_overview=True, has_poster=True):
        """The best configuration (validation micro-F1) whose inputs are all available."""
        usable = [(c["validation"].get("f1_micro", 0), name) for name, c in self.configs().items()
                  if (has_overview or not _needs_overview(c["features"]))
                  and (has_poster or not _needs_poster(c["features"]))]
        if not usable:
            need = "an overview" if has_poster else "a poster"
            raise ClassifierError(f"no model in {self.directory} works without {need}; fit one with "
                                  f"onesheet fit --features ...")
        return max(usable)[1]

    def scope_for(self, config, year):
        if year is None or year < 0:
            return "pooled"
        choice = self.configs()[config]["choice"].get(str(int(year) // 10 * 10))
        return str(int(year) // 10 * 10) if choice and choice.get("use") == "decade" else "pooled"

    def model(self, config, scope):
        key = (config, scope)
        if key not in self._models:
            rel = self.configs()[config]["models"][scope]
            expected = self.manifest["encoders"]
            self._models[key] = persist.load(os.path.join(self.directory, rel), expected_features=expected)
        return self._models[key]

    def _features_of(self, plan):
        """Every feature the planned configurations need."""
        return sorted({f for config, _ in plan if config != "error"
                       for f in parse_spec(self.configs()[config]["features"])})

    def _features(self, names, posters, overviews, batch_size, workers, poster_embeddings):
        poster_names = [n for n in names if n.startswith("poster/")]
        text_names = [n for n in names if not n.startswith("poster/")]
        feats, failures = {}, {}
        if poster_names and poster_embeddings is not None:
            feats.update({n: poster_embeddings[0][n] for n in poster_names})
            failures.update(poster_embeddings[1])
        elif poster_names:
            feats, failures = self.featurizer(poster_names).transform(posters, overviews, batch_size=batch_size,
                                                                      workers=workers)
        if text_names:
            feats.update(self.featurizer(text_names).transform([None] * len(overviews), overviews)[0])
        return feats, failures

    def featurizer(self, names):
        key = tuple(sorted(names))
        if key not in self._featurizers:
            self._featurizers[key] = OnlineFeaturizer.load(os.path.join(self.directory, "encoders"), key,
                                                           device=self.device, word_vectors=self.word_vectors)
        return self._featurizers[key]

    def poster_features(self):
        """Names of the poster features any configuration uses (what a server must embed)."""
        return sorted({n for c in self.configs().values() for n in parse_spec(c["features"]) if n.startswith("poster/")})

    def predict(self, posters, overviews=None, years=None, batch_size=32, workers=2, poster_embeddings=None,
                prior_shift=False):
        """posters: paths or bytes (None/"" for none); overviews: str or None; years: int or None.

        ``poster_embeddings`` = ({feature: (n, dim) matrix}, {row: PosterError}) skips the
        poster embedding step (the HTTP server batches it across requests). ``prior_shift``:
        the movies given are one collection whose genre mix may differ from training; each
        model's probabilities are corrected by EM re-estimation of the genre priors on the
        movies it answers (``model.priorshift``; groups under 20 movies are left as they are).
        """
        n = len(posters)
        overviews = list(overviews) if overviews is not None else [""] * n
        years = list(years) if years is not None else [None] * n
        has_text = [bool(o and o.strip()) for o in overviews]
        plan = {}
        for i in range(n):
            try:
                config = self.choose_config(has_overview=has_text[i], has_poster=bool(posters[i]))
            except ClassifierError as exc:
                plan.setdefault(("error", str(exc)), []).append(i)
                continue
            plan.setdefault((config, self.scope_for(config, years[i])), []).append(i)
        out = [None] * n
        names = self._features_of(plan)
        feats, failures = self._features(names, posters, overviews, batch_size, workers, poster_embeddings)
        warnings = {}
        for key in [k for k in plan if k[0] != "error" and _needs_poster(self.configs()[k[0]]["features"])]:
            broken = [i for i in plan[key] if i in failures]
            plan[key] = [i for i in plan[key] if i not in failures]
            for i in broken:  # an unusable poster: answer from the overview when a model can
                problem = f"{failures[i].kind}: {failures[i].detail}"
                try:
                    config = self.choose_config(has_overview=has_text[i], has_poster=False)
                except ClassifierError:
                    out[i] = Prediction([], {}, "", problem)
                    continue
                warnings[i] = f"poster unusable ({problem}); answered from the overview"
                plan.setdefault((config, self.scope_for(config, years[i])), []).append(i)
        missing = sorted(set(self._features_of(plan)) - set(feats))
        if missing:
            feats.update(self._features(missing, posters, overviews, batch_size, workers, poster_embeddings)[0])
        for (config, scope), rows in plan.items():
            if config == "error":
                for i in rows:
                    out[i] = Prediction([], {}, "", scope)
                continue
            if not rows:
                continue
            spec = self.configs()[config]["features"]
            model, card = self.model(config, scope)
            X = stack_blocks([feats[name][rows] for name in parse_spec(spec)])
            P = model.predict_proba(X)
            if prior_shift and len(rows) >= MIN_SHIFT_ROWS:
                P = em_priors(P, train_priors(card, self.genres)).probabilities
            chosen = P >= model[-1].thresholds_
            # every movie has at least one genre: when no score clears its threshold, file it
            # under the most probable one
            chosen[np.arange(len(rows)), np.argmax(P, axis=1)] |= ~chosen.any(axis=1)
            for r, i in enumerate(rows):
                order = np.argsort(-P[r])
                out[i] = Prediction([self.genres[j] for j in order if chosen[r, j]],
                                    {self.genres[j]: float(P[r, j]) for j in order}, f"{config}/{scope}",
                                    warning=warnings.get(i, ""))
        return out


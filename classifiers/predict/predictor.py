"""Predict genres for new posters (and overviews, and years) from a fitted model directory.

For each movie the predictor picks the configuration whose inputs it has (a fused
poster+overview model when there is an overview, else the best poster-only one), then the
model its decade chose at fit time (its own or the pooled one; pooled when the year is
unknown). Features are computed with exactly the encoders saved at fit time.
"""

from dataclasses import dataclass, field

import numpy as np

from featurize.online import OnlineFeaturizer

from ..errors import ClassifierError, ModelIntegrityError
from ..model import choice
from ..model.features import stack_blocks
from ..model.spec import FeatureSpec
from ..modeldir import ModelDir
from ..model.baselines import constant_note
from ..model.priorshift import MIN_ROWS as MIN_SHIFT_ROWS, em_priors
from .inputs import normalise_inputs


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
    warning: str = ""       # set when the prediction had to do without the poster, or ignored the year
    thresholds: dict = field(default_factory=dict)  # genre -> the model's threshold, same order as probabilities
    notes: list = field(default_factory=list)        # remarks about the answering model (e.g. it does not beat the constant answer)
    beats_constant: object = None  # did the answering model beat the constant answer on this decade's validation rows


def _thresholds(model):
    """The per-genre decision thresholds of a fitted model (tuned on validation at fit time)."""
    return np.asarray(model[-1].thresholds_, dtype=float)


class Predictor:
    """Loads a model directory once; ``predict`` handles any number of movies."""

    def __init__(self, directory, device="auto", word_vectors=None):
        self.modeldir = ModelDir.open(directory)  # every file checked against the manifest
        self.directory = self.modeldir.directory
        self.manifest = self.modeldir.manifest
        if not self.manifest["configs"]:
            raise ClassifierError(f"{directory} holds no fitted models; run onesheet fit STORE --models {directory}")
        self.genres = self.modeldir.genres
        self.specs = {name: FeatureSpec.parse(c["features"]).with_layout(c.get("widths") or (), ())
                      for name, c in self.configs().items()}
        self.device, self.word_vectors = device, word_vectors
        self._models, self._featurizers = {}, {}

    def configs(self):
        return self.manifest["configs"]

    def choose_config(self, has_overview=True, has_poster=True):
        """The best configuration (validation micro-F1) whose inputs are all available."""
        usable = [(c["validation"].get("f1_micro", 0), name) for name, c in self.configs().items()
                  if (has_overview or not self.specs[name].needs_overview)
                  and (has_poster or not self.specs[name].needs_poster)]
        if not usable:
            need = "an overview" if has_poster else "a poster"
            raise ClassifierError(f"no model in {self.directory} works without {need}; fit one with "
                                  f"onesheet fit --features ...")
        return max(usable)[1]

    def scope_for(self, config, year):
        return choice.scope_for(self.configs()[config], choice.decade_of(year))

    def model(self, config, scope):
        """(fitted pipeline, its card), loaded once (skops, trusted types only)."""
        key = (config, scope)
        if key not in self._models:
            self._models[key] = self.modeldir.load_model(config, scope)
        return self._models[key]

    def _features_of(self, plan):
        """Every feature the planned configurations need."""
        return sorted({f for config, _ in plan if config != "error" for f in self.specs[config].names})

    def _features(self, names, posters, overviews, batch_size, workers, poster_embeddings):
        spec = FeatureSpec(tuple(names))
        poster_names, text_names = list(spec.poster_names), list(spec.other_names)
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
            self._featurizers[key] = OnlineFeaturizer.from_parts(self.modeldir.encoder_parts(key), device=self.device,
                                                                 word_vectors=self.word_vectors)
        return self._featurizers[key]

    def poster_features(self):
        """Names of the poster features any configuration uses (what a server must embed)."""
        return sorted({n for spec in self.specs.values() for n in spec.poster_names})

    def constant_check(self, config, year):
        """(beats, note): did the model answering this year beat the constant answer on validation?"""
        card = self.configs()[config]
        decade = choice.decade_of(year)
        decade = str(decade) if decade is not None else None
        entry = card["choice"].get(decade) if decade else None
        comparison = entry if entry and "val_beats_constant" in entry else card.get("validation_constant")
        where = f"{decade}s" if entry and "val_beats_constant" in entry else "all"
        return (comparison or {}).get("val_beats_constant"), constant_note(comparison, where)

    def predict(self, posters, overviews=None, years=None, batch_size=32, workers=2, poster_embeddings=None,
                prior_shift=False):
        """Genres for one movie or many: a ``Prediction``, or a list of them for a list of posters.

        posters: a path, bytes or None (no poster), or a list of those; overviews: a str
        per poster (None or "" for none); years: one int (or None) for all, or one per
        poster. ``poster_embeddings`` = ({feature: (n, dim) matrix}, {row: PosterError})
        skips the poster embedding step (the HTTP server batches it across requests).
        ``prior_shift``: the movies given are one collection whose genre mix may differ from
        training; each model's probabilities are corrected by EM re-estimation of the genre
        priors on the movies it answers (``model.priorshift``; groups under 20 movies are
        left as they are).
        """
        posters, overviews, years, warnings, single = normalise_inputs(posters, overviews, years)
        out = self._predict(posters, overviews, years, batch_size, workers, poster_embeddings, warnings, prior_shift)
        return out[0] if single else out

    def _predict(self, posters, overviews, years, batch_size, workers, poster_embeddings, year_warnings, prior_shift):
        n = len(posters)
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
        for key in [k for k in plan if k[0] != "error" and self.specs[k[0]].needs_poster]:
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
            spec = self.specs[config]
            model, card = self.model(config, scope)
            X = stack_blocks([feats[name][rows] for name in spec.names])
            if spec.widths and X.shape[1] != spec.n_columns:
                raise ModelIntegrityError(f"the encoders in {self.modeldir.path} give {X.shape[1]} feature columns for "
                                          f"{config}, its models take {spec.n_columns}; re-run onesheet fit")
            P = model.predict_proba(X)
            if prior_shift and len(rows) >= MIN_SHIFT_ROWS:
                P = em_priors(P, train_priors(card, self.genres)).probabilities
            thresholds = _thresholds(model)
            chosen = P >= thresholds
            # every movie has at least one genre: when no score clears its threshold, file it
            # under the most probable one
            chosen[np.arange(len(rows)), np.argmax(P, axis=1)] |= ~chosen.any(axis=1)
            for r, i in enumerate(rows):
                order = np.argsort(-P[r], kind="stable")
                beats, constant_note = self.constant_check(config, years[i])
                out[i] = Prediction([self.genres[j] for j in order if chosen[r, j]],
                                    {self.genres[j]: float(P[r, j]) for j in order}, f"{config}/{scope}",
                                    warning=warnings.get(i, ""),
                                    thresholds={self.genres[j]: float(thresholds[j]) for j in order},
                                    notes=[constant_note] if constant_note else [],
                                    beats_constant=beats)
        for i, text in year_warnings.items():
            out[i].warning = "; ".join(w for w in (out[i].warning, text) if w)
        return out


"""FeatureSpec: a feature spec ("a+b+c") parsed once into names, sources and (once loaded) widths.

Code asks the spec what it needs ("does it need a poster?", "which blocks are poster
blocks?") instead of testing names with ``startswith("poster/")`` in many files.
"""

from dataclasses import dataclass

from ..errors import ClassifierError

POSTER, OVERVIEW = "poster", "overview"


def feature_source(name):
    """What input a store feature is computed from: 'poster', 'overview' (or its own prefix)."""
    return str(name).split("/", 1)[0]


def is_poster_feature(name):
    return feature_source(name) == POSTER


@dataclass(frozen=True)
class FeatureSpec:
    """The features a model is trained on, in block order; ``widths``/``kinds`` once loaded."""

    names: tuple
    widths: tuple = ()   # columns per block (known after the blocks are read from a store)
    kinds: tuple = ()    # "dense" | "sparse" per block

    @classmethod
    def parse(cls, spec):
        if isinstance(spec, FeatureSpec):
            return spec
        names = tuple(s.strip() for s in str(spec).split("+") if s.strip())
        if not names:
            raise ClassifierError(f"empty feature spec {spec!r}; use e.g. poster/efficientnet-lite0+overview/tfidf")
        return cls(names)

    def with_layout(self, widths, kinds):
        return FeatureSpec(self.names, tuple(int(w) for w in widths), tuple(kinds))

    @property
    def text(self):
        """The spec as the user writes it (and as the manifest records it)."""
        return "+".join(self.names)

    @property
    def tag(self):
        """A file-name-safe tag."""
        return "+".join(n.replace("/", "-") for n in self.names)

    @property
    def sources(self):
        return frozenset(feature_source(n) for n in self.names)

    @property
    def needs_poster(self):
        return POSTER in self.sources

    @property
    def needs_overview(self):
        return OVERVIEW in self.sources

    @property
    def is_fused(self):
        """Built from more than one kind of input (a poster and an overview)."""
        return len(self.sources) > 1

    @property
    def kind(self):
        """'fused', 'poster' or 'overview': how reports group configurations."""
        return "fused" if self.is_fused else (POSTER if self.needs_poster else OVERVIEW)

    @property
    def poster_names(self):
        return tuple(n for n in self.names if is_poster_feature(n))

    @property
    def other_names(self):
        return tuple(n for n in self.names if not is_poster_feature(n))

    @property
    def n_columns(self):
        return sum(self.widths)

    def block_weights(self, poster_weight):
        """Per-block weights: ``poster_weight`` for poster blocks, 1 for the rest (None when all 1)."""
        if poster_weight == 1.0:
            return None
        return [poster_weight if is_poster_feature(n) else 1.0 for n in self.names]

    def __str__(self):
        return self.text

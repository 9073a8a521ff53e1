"""FeatureSpec: a feature spec parsed once; what it needs and how its blocks are weighted."""

import pytest

from classifiers.errors import ClassifierError
from classifiers.model.spec import FeatureSpec, feature_source


def test_spec_is_parsed_once_into_what_callers_ask():
    spec = FeatureSpec.parse(" poster/efficientnet-lite0 + overview/tfidf+overview/glove-6b-50d ")
    assert spec.names == ("poster/efficientnet-lite0", "overview/tfidf", "overview/glove-6b-50d")
    assert spec.text == "poster/efficientnet-lite0+overview/tfidf+overview/glove-6b-50d"
    assert spec.tag == "poster-efficientnet-lite0+overview-tfidf+overview-glove-6b-50d"
    assert spec.sources == {"poster", "overview"} and spec.is_fused and spec.kind == "fused"
    assert spec.needs_poster and spec.needs_overview
    assert spec.poster_names == ("poster/efficientnet-lite0",) and len(spec.other_names) == 2
    assert spec.block_weights(0.5) == [0.5, 1.0, 1.0] and spec.block_weights(1.0) is None
    assert FeatureSpec.parse(spec) is spec


def test_layout_and_single_source_specs():
    spec = FeatureSpec.parse("overview/bow").with_layout([13000], ["sparse"])
    assert spec.kind == "overview" and not spec.needs_poster and spec.n_columns == 13000
    assert FeatureSpec.parse("poster/x").kind == "poster" and feature_source("synth/x") == "synth"
    with pytest.raises(ClassifierError, match="empty feature spec"):
        FeatureSpec.parse(" + ")

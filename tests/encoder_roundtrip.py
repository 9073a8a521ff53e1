"""Encoders through a real model directory: what fit writes and predict reads back."""

from classifiers.modeldir import ModelDir, VersionWriter
from classifiers.modeldir.encoders import write_encoders
from classifiers.modeldir.layout import SPLIT
from featurize.online import OnlineFeaturizer


def encoders_via_model_dir(store, names, directory):
    """Write ``names``' encoders from ``store`` into a model directory version; return its ModelDir."""
    with VersionWriter(str(directory)) as writer:
        encoders = write_encoders(writer, store, names)
        writer.write_json(SPLIT, {"test_ids": []})
        writer.commit({"genres": store.genres(), "encoders": encoders, "configs": {}, "split": SPLIT})
    return ModelDir.open(str(directory))


def online_from(model_dir, names):
    return OnlineFeaturizer.from_parts(model_dir.encoder_parts(names))

"""Predicting genres for new posters and overviews from a model directory (one movie or a catalog)."""

"""Estimators and the per-decade fit: heads, thresholds, feature specs, splits, metrics."""

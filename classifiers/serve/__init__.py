"""The HTTP service over a store and a model directory."""

"""The model directory on disk: the one module that writes and reads fitted models."""

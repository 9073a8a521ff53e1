"""Evaluation protocol and the main job: cross-decade scores, exploration, run end to end."""

"""Rendering: fit summaries, evaluation reports (Markdown/HTML) and their plots."""

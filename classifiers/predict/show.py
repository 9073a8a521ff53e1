"""Predictions as people and scripts read them: every predicted genre with its probability
and the threshold it had to clear (per genre, tuned at fit time), most probable first.

Without the thresholds a list like "Mystery 0.07 predicted, Adventure 0.10 not" looks
wrong; with them it is plain that Mystery's bar is 0.05 and Adventure's 0.40.
"""

EXTRA_ROWS = 2   # the most probable genres that were not predicted, shown under the predicted ones


def prediction_dict(pred, poster=None) -> dict:
    """The JSON form: genres, probabilities and thresholds (most probable first), model, error, warning, notes."""
    out = {"poster": poster} if poster is not None else {}
    return out | {"genres": pred.genres, "probabilities": pred.probabilities, "thresholds": pred.thresholds,
                  "model": pred.model, "error": pred.error or None, "warning": pred.warning or None,
                  "notes": list(pred.notes)}


def format_prediction(label, pred) -> str:
    """A few lines for one poster: the genres, then genre / probability / threshold rows."""
    if pred.error:
        return f"{label}: error: {pred.error}"
    lines = [f"{label}: {', '.join(pred.genres)}   [{pred.model}]"]
    if pred.warning:
        lines.append(f"  warning: {pred.warning}")
    lines += [f"  note: {n}" for n in pred.notes]
    lines.append(f"  {'genre':<16} {'prob':>5} {'threshold':>9}")
    predicted = set(pred.genres)
    others = [g for g in pred.probabilities if g not in predicted][:EXTRA_ROWS]
    for g in [g for g in pred.probabilities if g in predicted] + others:
        p, t = pred.probabilities[g], pred.thresholds.get(g)
        mark = "predicted" if g in predicted else "not predicted"
        if g in predicted and t is not None and p < t:
            mark += " (no genre cleared its threshold: the most probable one)"
        threshold = f"{t:>9.3f}" if t is not None else f"{'':>9}"
        lines.append(f"  {g:<16} {p:>5.3f} {threshold}  {mark}")
    return "\n".join(lines)

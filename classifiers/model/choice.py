"""The decade-or-pooled choice, in one place: decided by fit, applied by evaluate and predict."""


def decide(own, pooled, n_val, min_val):
    """Which model a decade uses, and why (compared on that decade's validation rows)."""
    if n_val < min_val:
        return {"use": "pooled", "reason": f"only {n_val} validation movies (< {min_val}) to judge"}
    if own["f1_micro"] > pooled["f1_micro"]:
        return {"use": "decade", "reason": "decade model better on this decade's validation rows"}
    return {"use": "pooled", "reason": "pooled model at least as good on this decade's validation rows"}


def too_few_movies(movies, min_movies):
    return {"use": "pooled", "reason": f"{movies} movies < min_movies {min_movies}"}


def decade_of(year):
    """The decade of a release year (None when the year is unknown)."""
    if year is None or int(year) < 0:
        return None
    return int(year) // 10 * 10


def scope_for(card, decade):
    """The model scope ("pooled" or the decade) that answers for movies of ``decade`` (None: unknown)."""
    if decade is None:
        return "pooled"
    choice = card["choice"].get(str(int(decade)))
    if choice and choice.get("use") == "decade" and str(int(decade)) in card["models"]:
        return str(int(decade))
    return "pooled"


def decade_scopes(card):
    """{decade: scope} for every decade whose own model was chosen."""
    return {int(d): d for d in card["choice"] if scope_for(card, int(d)) != "pooled"}

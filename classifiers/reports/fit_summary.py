"""Plain-text summary of a fit (the library returns a typed FitResult)."""


def _f(x):
    return "  -  " if x is None else f"{x:.3f}"


def format_fit(result, models_dir):
    lines = [f"models in {models_dir}, version {result.version} ({result.test_movies} movies held out for evaluate)"]
    for c in result.configs:
        v = c.validation
        lines.append(f"{c.name}")
        lines.append(f"  pooled validation: micro-F1 {_f(v.get('f1_micro'))}  macro-F1 {_f(v.get('f1_macro'))}  "
                     f"top-class acc {_f(v.get('top_class_accuracy'))}")
        if len(c.poster_weight_validation) > 1:
            tried = ", ".join(f"{w}: {_f(v)}" for w, v in c.poster_weight_validation.items())
            lines.append(f"  poster block weight {c.poster_weight} chosen on validation micro-F1 ({tried})")
        be = c.balance_effect
        if be:
            lines.append(f"  minority genres ({', '.join(be.minority_genres)}) recall, tuned thresholds: "
                         f"balanced {_f(be.balanced.minority_recall)} vs unbalanced "
                         f"{_f(be.unbalanced.minority_recall)}; untuned: {_f(be.balanced.minority_recall_untuned)}"
                         f" vs {_f(be.unbalanced.minority_recall_untuned)}")
        lines.append("  decade  movies  use      val micro-F1 decade / pooled   why")
        for d in c.choices:
            lines.append(f"  {d.decade:>6}  {d.movies:>6}  {d.use:<8} {_f(d.val_f1_micro_decade):>9} / "
                         f"{_f(d.val_f1_micro_pooled):<9}        {d.reason}")
            if d.warning:
                lines.append(f"          warning: {d.warning}")
    return "\n".join(lines)

"""Plain-text summary of a fit (the library returns a typed FitResult)."""

from ..model.baselines import small_data_note


def _f(x):
    return "  -  " if x is None else f"{x:.3f}"


def format_fit(result, models_dir):
    lines = [f"models in {models_dir}, version {result.version} ({result.test_movies} movies held out for evaluate)"]
    for c in result.configs:
        v, vc = c.validation, c.validation_constant
        lines.append(f"{c.name}")
        lines.append(f"  pooled validation ({v.get('n', '?')} movies): micro-F1 {_f(v.get('f1_micro'))}  macro-F1 "
                     f"{_f(v.get('f1_macro'))}  top-class acc {_f(v.get('top_class_accuracy'))}  "
                     f"(constant answer: micro-F1 {_f(vc.get('val_constant_f1_micro'))})")
        note = small_data_note(v.get("n"), "the pooled validation score")
        if note:
            lines.append(f"  warning: {note}")
        if len(c.poster_weight_validation) > 1:
            tried = ", ".join(f"{w}: {_f(v)}" for w, v in c.poster_weight_validation.items())
            lines.append(f"  poster block weight {c.poster_weight} chosen on validation micro-F1 ({tried})")
        be = c.balance_effect
        if be:
            lines.append(f"  minority genres ({', '.join(be.minority_genres)}) recall, tuned thresholds: "
                         f"balanced {_f(be.balanced.minority_recall)} vs unbalanced "
                         f"{_f(be.unbalanced.minority_recall)}; untuned: {_f(be.balanced.minority_recall_untuned)}"
                         f" vs {_f(be.unbalanced.minority_recall_untuned)}")
        lines.append("  decade  movies  val  use      val micro-F1 decade / pooled / constant   why")
        for d in c.choices:
            flag = "" if d.val_beats_constant is not False else "  [not above constant]"
            lines.append(f"  {d.decade:>6}  {d.movies:>6}  {d.n_val:>3}  {d.use:<8} "
                         f"{_f(d.val_f1_micro_decade):>9} / {_f(d.val_f1_micro_pooled):<6} / "
                         f"{_f(d.val_constant_f1_micro):<8}   {d.reason}{flag}")
            for note in (d.warning, d.val_note):
                if note:
                    lines.append(f"          warning: {note}")
    return "\n".join(lines)

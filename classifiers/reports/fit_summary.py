"""Plain-text summary of a fit (the library returns the manifest dict)."""


def _f(x):
    return "  -  " if x is None else f"{x:.3f}"


def format_fit(manifest, prefixes, models_dir):
    lines = [f"models in {models_dir} ({manifest['test_movies']} movies held out for evaluate)"]
    for name, card in manifest["configs"].items():
        if not any(name.startswith(p) for p in prefixes):
            continue
        v = card["validation"]
        lines.append(f"{name}")
        lines.append(f"  pooled validation: micro-F1 {_f(v.get('f1_micro'))}  macro-F1 {_f(v.get('f1_macro'))}  "
                     f"top-class acc {_f(v.get('top_class_accuracy'))}")
        if len(card.get("poster_weight_validation", {})) > 1:
            tried = ", ".join(f"{w}: {_f(v)}" for w, v in card["poster_weight_validation"].items())
            lines.append(f"  poster block weight {card['poster_weight']} chosen on validation micro-F1 ({tried})")
        be = card.get("balance_effect")
        if be:
            lines.append(f"  minority genres ({', '.join(be['minority_genres'])}) recall, tuned thresholds: "
                         f"balanced {_f(be['balanced']['minority_recall'])} vs unbalanced "
                         f"{_f(be['unbalanced']['minority_recall'])}; untuned: {_f(be['balanced']['minority_recall_untuned'])}"
                         f" vs {_f(be['unbalanced']['minority_recall_untuned'])}")
        lines.append("  decade  movies  use      val micro-F1 decade / pooled   why")
        for d, c in card["choice"].items():
            lines.append(f"  {d:>6}  {c['movies']:>6}  {c['use']:<8} {_f(c.get('val_f1_micro_decade')):>9} / "
                         f"{_f(c.get('val_f1_micro_pooled')):<9}        {c['reason']}")
            if c.get("warning"):
                lines.append(f"          warning: {c['warning']}")
    return "\n".join(lines)

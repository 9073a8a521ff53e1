"""One-line texts the CLI prints while evaluate and the main job run (the library never prints)."""


def _f(x):
    return "n/a" if x is None else f"{x:.3f}"


def stage_header(payload):
    est = payload.get("estimate_s")
    about = (f" (estimate: about {est:.0f} s for {payload['movies']} movies on {payload.get('cores', '?')} idle cores)"
             if est else "")
    return f"== {payload['name']}{about}"


def config_line(result, era):
    """A configuration's test score beside its constant, and its cross-era line."""
    o = result["overall"]
    ci = o["ci95"]["f1_micro"]
    text = (f"{result['name']}: test micro-F1 {_f(o['model']['f1_micro'])} (95% CI {ci[0]:.2f}-{ci[1]:.2f}), "
            f"constant answer {_f(o['constant']['f1_micro'])} on the same {o['n']} movies")
    if result.get("not_above_constant"):
        text += "; NOT above the constant on " + ", ".join(
            f"{d}s (n={result['per_decade'][d]['n']})" for d in result["not_above_constant"])
    lines = [text]
    if era:
        lines.append("  " + era_line(era))
    return "\n".join(lines)


def era_line(era):
    s, e = era["same_era"], era["earlier"]
    if not (s.get("judged") and e.get("judged")):
        return f"trained on {era['split_year']}+: too few test movies to compare eras"
    beaten = "above" if e.get("beats_constant") else "NOT above"
    return (f"trained on {era['split_year']}+: micro-F1 {_f(s['f1_micro'])} on {era['split_year']}+, "
            f"{_f(e['f1_micro'])} on earlier decades (relative drop {100 * era['relative_drop_micro']:.1f}%; "
            f"{beaten} the constant {_f(e['constant']['f1_micro'])} there)")


def best_line(result):
    """The best model, or why none is named (a test split too small to judge)."""
    if not result.get("best"):
        return result.get("best_refused") or "no best model named"
    best = next(c for c in result["configs"] if c["name"] == result["best"])
    s, o = best["per_decade_system"], best["overall"]
    return (f"best model {best['name']}: test micro-F1 {s['f1_micro']:.3f}, macro-F1 {s['f1_macro']:.3f}, "
            f"top-class accuracy {s['top_class_accuracy']:.3f} (constant answer: micro-F1 "
            f"{_f(o['constant']['f1_micro'])}, top-class {_f(o['constant']['top_class_accuracy'])})")

"""Plain-text renderings of store summaries for the CLI (the library returns dicts)."""


def format_validation(report: dict, show: int = 20) -> str:
    lines = [f"catalog {report['catalog']}: {report['rows_read']} rows read, "
             f"{report['rows_kept']} kept, {report['rows_skipped']} skipped"]
    if report.get("columns"):
        line = "  columns: " + ", ".join(f"{k}={v!r}" for k, v in report["columns"].items())
        missing = [f for f in ("title", "year", "genres", "overview", "poster") if f not in report["columns"]]
        if missing:
            line += f"; not found: {', '.join(missing)}"
        if report.get("ignored_columns"):
            line += f"; ignored: {', '.join(repr(c) for c in report['ignored_columns'])}"
        lines.append(line + ("; map with --columns FIELD=COLUMN" if missing else ""))
    if report["counts"]:
        lines.append("  problems: " + ", ".join(f"{k} {v}" for k, v in report["counts"].items()))
    for p in report["problems"][:show]:
        tag = "skipped" if p["fatal"] else "warning"
        lines.append(f"  line {p['line']} id {p['id'] or '?'}: {p['kind']} ({tag}): {p['detail']}")
    if len(report["problems"]) > show:
        lines.append(f"  ... {len(report['problems']) - show} more (all are kept in the store: onesheet store info --json)")
    return "\n".join(lines)


def format_info(info: dict) -> str:
    lines = [
        f"store     {info['path']}",
        f"schema    v{info['schema_version']} (written by onesheet {info['package_version']}, created {info['created_at']})",
        f"version   {info['version']} (committed {info['committed_at'] or 'n/a'})",
        f"movies    {info['movies']} ({info['labelled_movies']} labelled)",
        "decades   " + ", ".join(f"{d}: {n}" for d, n in info["decades"].items()),
        "genres    " + ", ".join(f"{g} {n}" for g, n in sorted(info["genres"].items(), key=lambda kv: -kv[1])),
        f"features  {len(info['features'])}",
    ]
    for f in info["features"]:
        p = f["provenance"]
        lines.append(f"  {f['name']:<32} {f['kind']:<6} {f['shape'][0]} x {f['shape'][1]}  "
                     f"encoder={p.get('encoder')} sha256={str(p.get('sha256'))[:12]} "
                     f"onesheet={p.get('package_version')} created={p.get('created_at')} "
                     f"segments={f['segments']} superseded={f['superseded_rows']}")
        lines.append(f"  {'':<32} preprocessing: {p.get('preprocessing')}")
    if info.get("last_ingest"):
        li = info["last_ingest"]
        lines.append(f"last ingest {li['catalog']}: {li['rows_kept']} kept, {li['rows_skipped']} skipped, "
                     f"problems {li['counts'] or 'none'}")
    return "\n".join(lines)

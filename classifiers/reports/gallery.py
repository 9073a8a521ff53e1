"""Example test posters with their true and predicted genres, as small embedded thumbnails."""

import io

from featurize.errors import PosterError
from featurize.images import open_image, read_bytes

THUMB = (92, 138)  # width, height in pixels: a 2:3 poster


def thumbnail(path, size=THUMB):
    """JPEG bytes of a small thumbnail of the poster at ``path``, or None when it cannot be read."""
    if not path:
        return None
    try:
        img = open_image(read_bytes(path), path, draft_to=size)
    except (PosterError, OSError):
        return None
    img = img.convert("RGB")
    img.thumbnail(size)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=80)
    return buf.getvalue()


def gallery_items(examples, movies, genres):
    """Cards for Document.gallery: title, decade, what was right or wrong, thumbnail."""
    items = []
    for e in examples:
        info = movies.get(e["id"], {})
        true, pred = set(e["true"]), set(e["predicted"])
        hit = [genres[j] for j in e["predicted"] if j in true]
        wrong = [genres[j] for j in e["predicted"] if j not in true]
        missed = [genres[j] for j in e["true"] if j not in pred]
        lines = [("era", f"{e['era']} ({e['decade']}s), {'mostly right' if e['answer'] == 'right' else 'wrong'}", ""),
                 ("true", ", ".join(genres[j] for j in e["true"]) or "-", ""),
                 ("right", ", ".join(hit) or "-", "ok")]
        if wrong:
            lines.append(("wrongly predicted", ", ".join(wrong), "bad"))
        if missed:
            lines.append(("missed", ", ".join(missed), "bad"))
        year = info.get("year")
        title = f"{info.get('title') or e['id']}" + (f" ({year})" if year and year > 0 else "")
        items.append({"name": f"poster_{e['era']}_{e['answer']}_{len(items)}.jpg", "title": title,
                      "jpeg": thumbnail(info.get("poster")), "lines": lines})
    return items

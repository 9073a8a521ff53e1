"""A tiny document model rendered twice: Markdown (images beside it) and self-contained HTML.

Reports are built once as a list of blocks; ``write`` saves report.md with PNG files next
to it and report.html with the same PNGs embedded as data URIs (it opens offline and
references no external URL).
"""

import base64
import html
import os


class Swatch:
    """A table cell showing a colour (RGB in 0..1) and an optional share of pixels."""

    def __init__(self, rgb, share=None):
        self.hex = "#" + "".join(f"{int(round(255 * min(1.0, max(0.0, float(c))))):02x}" for c in rgb)
        self.share = share

    def text(self):
        return self.hex + ("" if self.share is None else f" {100 * self.share:.0f}%")

    def html(self):
        share = "" if self.share is None else f" {100 * self.share:.0f}%"
        return (f"<span class='sw' title='{self.hex}' style='background:{self.hex}'></span>"
                f"<span class='swl'>{self.hex}{share}</span>")


class Document:
    def __init__(self, title):
        self.title = title
        self.blocks = []

    def h(self, text, level=2):
        self.blocks.append(("h", level, text))

    def p(self, text, cls=""):
        self.blocks.append(("p", text, cls))

    def table(self, header, rows, id=""):
        self.blocks.append(("table", header, [[_cell(c) for c in r] for r in rows], id))

    def image(self, name, png_bytes, caption="", id=""):
        self.blocks.append(("img", name, png_bytes, caption, id))

    def gallery(self, items, id=""):
        """items: dicts with name (file name), jpeg (bytes or None), title, and lines:
        [(label, text, css class)] shown under the thumbnail."""
        self.blocks.append(("gallery", items, id))

    def markdown(self):
        out = [f"# {self.title}", ""]
        for b in self.blocks:
            if b[0] == "h":
                out += ["#" * b[1] + " " + b[2], ""]
            elif b[0] == "p":
                out += [b[1], ""]
            elif b[0] == "table":
                out.append("| " + " | ".join(b[1]) + " |")
                out.append("|" + "---|" * len(b[1]))
                out += ["| " + " | ".join(c.text() if isinstance(c, Swatch) else c for c in r) + " |" for r in b[2]]
                out.append("")
            elif b[0] == "gallery":
                for item in b[1]:
                    if item.get("jpeg"):
                        out.append(f"![{item['title']}]({item['name']})")
                    out += [f"**{item['title']}**  "] + [f"{label}: {text}  " for label, text, _ in item["lines"]] + [""]
            else:
                out += [f"![{b[3] or b[1]}]({b[1]})", ""]
        return "\n".join(out)

    def html(self):
        parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(self.title)}</title>",
                 f"<style>{STYLE}</style></head><body>", f"<h1>{html.escape(self.title)}</h1>"]
        for b in self.blocks:
            if b[0] == "h":
                parts.append(f"<h{b[1]}>{html.escape(b[2])}</h{b[1]}>")
            elif b[0] == "p":
                parts.append(f"<p{_attr('class', b[2])}>{html.escape(b[1])}</p>")
            elif b[0] == "table":
                head = "".join(f"<th>{html.escape(c)}</th>" for c in b[1])
                body = "".join("<tr>" + "".join(f"<td>{c.html() if isinstance(c, Swatch) else html.escape(c)}</td>"
                                                for c in r) + "</tr>" for r in b[2])
                parts.append(f"<table{_attr('id', b[3])}><tr>{head}</tr>{body}</table>")
            elif b[0] == "gallery":
                cards = []
                for item in b[1]:
                    img = (f"<img alt='{html.escape(item['title'])}' src='data:image/jpeg;base64,"
                           f"{base64.b64encode(item['jpeg']).decode()}'>" if item.get("jpeg") else
                           "<div class='noimg'>poster not readable</div>")
                    lines = "".join(f"<div class='{html.escape(cls)}'><b>{html.escape(label)}</b> {html.escape(text)}</div>"
                                    for label, text, cls in item["lines"])
                    cards.append(f"<figure class='card'>{img}<figcaption><div class='t'>{html.escape(item['title'])}"
                                 f"</div>{lines}</figcaption></figure>")
                parts.append(f"<div class='gallery'{_attr('id', b[2])}>{''.join(cards)}</div>")
            else:
                data = base64.b64encode(b[2]).decode()
                parts.append(f"<figure{_attr('id', b[4])}><img alt='{html.escape(b[3] or b[1])}' "
                             f"src='data:image/png;base64,{data}'><figcaption>{html.escape(b[3])}</figcaption></figure>")
        parts.append("</body></html>")
        return "\n".join(parts)

    def write(self, directory, stem="report"):
        os.makedirs(directory, exist_ok=True)
        for b in self.blocks:
            if b[0] == "img":
                with open(os.path.join(directory, b[1]), "wb") as f:
                    f.write(b[2])
            elif b[0] == "gallery":
                for item in b[1]:
                    if item.get("jpeg"):
                        with open(os.path.join(directory, item["name"]), "wb") as f:
                            f.write(item["jpeg"])
        with open(os.path.join(directory, f"{stem}.md"), "w", encoding="utf-8") as f:
            f.write(self.markdown())
        with open(os.path.join(directory, f"{stem}.html"), "w", encoding="utf-8") as f:
            f.write(self.html())
        return os.path.join(directory, f"{stem}.html")


STYLE = ("body{font-family:sans-serif;max-width:1100px;margin:1em auto;padding:0 1em;color:#222}"
         "h1{font-size:22px;margin:.3em 0}h2{font-size:18px;margin:1.2em 0 .4em}h3{font-size:15px}"
         "p.lead{font-size:15px;background:#f4f7fb;border-left:4px solid #4c72b0;padding:6px 10px;margin:.4em 0}"
         "p.warn{color:#8a4b00;font-size:13px;margin:.3em 0}"
         "table{border-collapse:collapse;margin:.5em 0 1em;font-size:13px}"
         "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}"
         "td:first-child,th:first-child{text-align:left}img{max-width:100%}figure{margin:.5em 0}"
         "#headline td{white-space:nowrap}#headline td:nth-child(2){text-align:left}"
         "figcaption{font-size:12px;color:#555}"
         ".sw{display:inline-block;width:14px;height:14px;border:1px solid #888;vertical-align:middle;margin-right:4px}"
         ".swl{font-size:11px;color:#555}"
         ".gallery{display:flex;flex-wrap:wrap;gap:8px}.card{width:170px;margin:0;border:1px solid #ddd;padding:4px}"
         ".card img{width:92px;height:138px;object-fit:cover;display:block}.card .t{font-weight:bold;color:#222}"
         ".ok{color:#1b7f3b}.bad{color:#b3261e}.noimg{width:92px;height:138px;background:#eee;font-size:11px}")


def _attr(name, value):
    return f" {name}='{html.escape(value)}'" if value else ""


def _cell(value):
    if isinstance(value, Swatch):
        return value
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return "n/a" if value != value else f"{value:.3f}"
    return str(value)

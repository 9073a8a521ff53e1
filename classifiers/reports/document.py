"""A tiny document model rendered twice: Markdown (images beside it) and self-contained HTML.

Reports are built once as a list of blocks; ``write`` saves report.md with PNG files next
to it and report.html with the same PNGs embedded as data URIs (it opens offline and
references no external URL).
"""

import base64
import html
import os


class Document:
    def __init__(self, title):
        self.title = title
        self.blocks = []

    def h(self, text, level=2):
        self.blocks.append(("h", level, text))

    def p(self, text):
        self.blocks.append(("p", text))

    def table(self, header, rows):
        self.blocks.append(("table", header, [[_cell(c) for c in r] for r in rows]))

    def image(self, name, png_bytes, caption=""):
        self.blocks.append(("img", name, png_bytes, caption))

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
                out += ["| " + " | ".join(r) + " |" for r in b[2]]
                out.append("")
            else:
                out += [f"![{b[3] or b[1]}]({b[1]})", ""]
        return "\n".join(out)

    def html(self):
        parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(self.title)}</title>",
                 "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
                 "table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:13px}"
                 "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}"
                 "td:first-child,th:first-child{text-align:left}img{max-width:100%}"
                 "figcaption{font-size:12px;color:#555}</style></head><body>",
                 f"<h1>{html.escape(self.title)}</h1>"]
        for b in self.blocks:
            if b[0] == "h":
                parts.append(f"<h{b[1]}>{html.escape(b[2])}</h{b[1]}>")
            elif b[0] == "p":
                parts.append(f"<p>{html.escape(b[1])}</p>")
            elif b[0] == "table":
                head = "".join(f"<th>{html.escape(c)}</th>" for c in b[1])
                body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in b[2])
                parts.append(f"<table><tr>{head}</tr>{body}</table>")
            else:
                data = base64.b64encode(b[2]).decode()
                parts.append(f"<figure><img alt='{html.escape(b[3] or b[1])}' src='data:image/png;base64,{data}'>"
                             f"<figcaption>{html.escape(b[3])}</figcaption></figure>")
        parts.append("</body></html>")
        return "\n".join(parts)

    def write(self, directory, stem="report"):
        os.makedirs(directory, exist_ok=True)
        for b in self.blocks:
            if b[0] == "img":
                with open(os.path.join(directory, b[1]), "wb") as f:
                    f.write(b[2])
        with open(os.path.join(directory, f"{stem}.md"), "w", encoding="utf-8") as f:
            f.write(self.markdown())
        with open(os.path.join(directory, f"{stem}.html"), "w", encoding="utf-8") as f:
            f.write(self.html())
        return os.path.join(directory, f"{stem}.html")


def _cell(value):
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return "n/a" if value != value else f"{value:.3f}"
    return str(value)

"""Figures for the reports (matplotlib, Agg backend): each function returns PNG bytes."""

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


MAX_WIDTH_PX = 1100  # the report's column: a wider figure would be squeezed and its numbers unreadable
DPI = 110


def png(fig) -> bytes:
    """PNG bytes of a figure, at most MAX_WIDTH_PX wide (rendered at a lower dpi if needed)."""
    dpi = DPI
    for _ in range(5):  # the tight bounding box's padding does not scale with dpi: iterate
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
        width = png_size(buf.getvalue())[0]
        if width <= MAX_WIDTH_PX:
            break
        dpi = dpi * (MAX_WIDTH_PX - 12) / width
    plt.close(fig)
    return buf.getvalue()


def png_size(data):
    """(width, height) in pixels from a PNG's IHDR chunk."""
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def heatmap(ax, values, rows, cols, title, fmt="{:.2f}", cmap="viridis", vmin=0, vmax=1, fontsize=7):
    data = np.ma.masked_invalid(np.asarray(values, dtype=float))
    im = ax.imshow(data, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    ax.set_xticks(range(len(cols)), cols, fontsize=8)
    ax.set_yticks(range(len(rows)), rows, fontsize=8)
    ax.set_title(title)
    for i in range(len(rows)):
        for j in range(len(cols)):
            v = values[i][j]
            text = "n/a" if v is None or (isinstance(v, float) and np.isnan(v)) else fmt.format(v)
            ax.text(j, i, text, ha="center", va="center", fontsize=fontsize,
                    color="white" if (v is not None and not np.isnan(v) and v < (vmin + vmax) / 2) else "black")
    return im


def decade_matrix(matrix, test_decades, title, constant=None):
    """Train scope x test decade heatmaps of micro- and macro-F1, one above the other.

    Test decades where no model could be judged (too few test movies) are dropped; the
    constant answer's score on each column is the last row, for comparison.
    """
    scopes = sorted(matrix, key=lambda s: (s == "pooled", s))
    judged = [d for d in test_decades if any(matrix[s][d].get("judged") for s in scopes)]
    cols = [f"{d}s\n(n={test_decades[d]})" if d.isdigit() else f"{d}\n(n={test_decades[d]})" for d in judged]
    rows = [f"{s}s model" if s != "pooled" else "pooled model" for s in scopes]
    if constant:
        rows.append("constant answer")
    n_rows = len(rows)
    fig, axes = plt.subplots(2, 1, figsize=(min(9.5, 2.2 + 0.85 * max(1, len(cols))), 2 * (1.1 + 0.42 * n_rows)),
                             gridspec_kw={"hspace": 0.75})
    for ax, key in zip(axes, ("f1_micro", "f1_macro")):
        values = [[matrix[s][d].get(key) if matrix[s][d].get("judged") else None for d in judged] for s in scopes]
        if constant:
            values.append([constant.get(d, {}).get(key) for d in judged])
        im = heatmap(ax, values, rows, cols, f"{key.replace('f1_', '').capitalize()}-F1", fontsize=9)
        ax.set_xlabel("test decade", fontsize=8)
    fig.colorbar(im, ax=list(axes), shrink=0.6)
    fig.suptitle(title, fontsize=10)
    return png(fig)


def cross_era(eras, title):
    """Per model: micro-F1 on modern (1990+) vs earlier test movies, the constant answer marked.

    eras: {label: {"modern": f1, "vintage": f1, "modern_constant": f1, "vintage_constant": f1}}.
    """
    labels = list(eras)
    fig, ax = plt.subplots(figsize=(9, 0.55 * len(labels) + 1.1))
    y = np.arange(len(labels))
    for k, (key, colour, name) in enumerate((("modern", "#4c72b0", "1990 and later"),
                                             ("vintage", "#dd8452", "earlier decades"))):
        vals = [eras[l].get(key) or 0 for l in labels]
        bars = ax.barh(y + (k - 0.5) * 0.38, vals, 0.38, color=colour, label=f"trained 1990+, tested on {name}")
        ax.bar_label(bars, fmt="%.2f", fontsize=8, padding=2)
        consts = [eras[l].get(f"{key}_constant") for l in labels]
        ax.scatter([c if c is not None else np.nan for c in consts], y + (k - 0.5) * 0.38, marker="|", s=260,
                   color="black", zorder=3, label="constant answer, same movies" if k == 0 else None)
    ax.set_yticks(y, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("test micro-F1")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.22 - 0.3 / len(labels)), ncol=3, frameon=False)
    ax.set_title(title, fontsize=10)
    return png(fig)


def per_genre_bars(rows, title):
    genres = [r["genre"] for r in rows]
    fig, ax = plt.subplots(figsize=(9, 3.6))
    x = np.arange(len(genres))
    for k, (key, color) in enumerate((("precision", "#4c72b0"), ("recall", "#dd8452"), ("f1", "#55a868"))):
        ax.bar(x + (k - 1) * 0.27, [r[key] for r in rows], 0.27, label=key, color=color)
    ax.set_xticks(x, [f"{g}\n({r['support']})" for g, r in zip(genres, rows)], rotation=60, ha="right", fontsize=7)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    ax.set_title(title)
    return png(fig)


def grouped_bars_counts(counts, title):
    """A plain bar chart of {label: count}, labels in the given order."""
    labels = list(counts)
    fig, ax = plt.subplots(figsize=(max(5, 0.45 * len(labels)), 3.2))
    bars = ax.bar(range(len(labels)), [counts[k] for k in labels], color="#4c72b0")
    ax.bar_label(bars, fontsize=7)
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=8)
    ax.set_title(title)
    return png(fig)


def cooccurrence(C, genres, order):
    C = np.asarray(C)[np.ix_(order, order)]
    names = [genres[j] for j in order]
    fig, ax = plt.subplots(figsize=(8, 7))
    im = ax.imshow(np.log1p(C), cmap="magma")
    ax.set_xticks(range(len(names)), names, rotation=70, ha="right", fontsize=8)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    for i in range(len(names)):
        for j in range(len(names)):
            ax.text(j, i, int(C[i, j]), ha="center", va="center", fontsize=5.5,
                    color="white" if np.log1p(C[i, j]) < np.log1p(C.max()) / 2 else "black")
    fig.colorbar(im, ax=ax, shrink=0.7, label="log(1 + movies)")
    ax.set_title("Genre co-occurrence")
    return png(fig)


def boxplots(groups, title):
    labels = list(groups)
    fig, ax = plt.subplots(figsize=(max(6, 0.5 * len(labels)), 3.4))
    ax.boxplot([groups[k] for k in labels], showfliers=False)
    ax.set_xticks(range(1, len(labels) + 1), labels, rotation=60, ha="right", fontsize=8)
    ax.set_title(title)
    return png(fig)


def palettes(groups, title):
    """One horizontal stacked bar per group: colour clusters by share, then the grey share."""
    labels = list(groups)
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(labels) + 1))
    for i, label in enumerate(labels):
        colours, shares, grey = groups[label][:3]
        left = 0.0
        for c, s in zip(colours, shares):
            ax.barh(i, s, left=left, color=np.clip(c, 0, 1))
            left += s
        ax.barh(i, grey, left=left, color="#9a9a9a", hatch="//", edgecolor="white")
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of pixels (hatched: greys)")
    ax.set_title(title)
    return png(fig)

"""Figures for the reports (matplotlib, Agg backend): each function returns PNG bytes."""

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def heatmap(ax, values, rows, cols, title, fmt="{:.2f}", cmap="viridis", vmin=0, vmax=1, mask=None):
    data = np.ma.masked_invalid(np.asarray(values, dtype=float))
    im = ax.imshow(data, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    ax.set_xticks(range(len(cols)), cols, rotation=45, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    ax.set_title(title)
    for i in range(len(rows)):
        for j in range(len(cols)):
            v = values[i][j]
            text = "n/a" if v is None or (isinstance(v, float) and np.isnan(v)) else fmt.format(v)
            ax.text(j, i, text, ha="center", va="center", fontsize=7,
                    color="white" if (v is not None and not np.isnan(v) and v < (vmin + vmax) / 2) else "black")
    return im


def decade_matrix(matrix, test_decades, title):
    """Train scope x test decade heatmaps of micro- and macro-F1 (n/a: too few test movies)."""
    scopes = sorted(matrix, key=lambda s: (s == "pooled", s))
    cols = [f"{d}s\n(n={n})" if d.isdigit() else f"{d}\n(n={n})" for d, n in test_decades.items()]
    fig, axes = plt.subplots(1, 2, figsize=(2 + 0.9 * len(cols) * 2, 1.5 + 0.45 * len(scopes)))
    for ax, key in zip(axes, ("f1_micro", "f1_macro")):
        values = [[matrix[s][d].get(key) if matrix[s][d].get("judged") else None for d in test_decades] for s in scopes]
        rows = [f"{s}s model" if s != "pooled" else "pooled model" for s in scopes]
        im = heatmap(ax, values, rows, cols, f"{key.replace('f1_', '').capitalize()}-F1")
        ax.set_xlabel("test decade")
    fig.colorbar(im, ax=axes, shrink=0.8)
    fig.suptitle(title, fontsize=10)
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


def grouped_bars(groups, title, baseline=None, baseline_label="null baseline"):
    """groups: {label: {series: value}}; an optional horizontal baseline line."""
    labels = list(groups)
    series = sorted({s for v in groups.values() for s in v})
    fig, ax = plt.subplots(figsize=(max(5, 1.3 * len(labels)), 3.4))
    x = np.arange(len(labels))
    width = 0.8 / max(1, len(series))
    for k, s in enumerate(series):
        vals = [groups[l].get(s, np.nan) for l in labels]
        bars = ax.bar(x + (k - (len(series) - 1) / 2) * width, vals, width, label=s)
        ax.bar_label(bars, fmt="%.2f", fontsize=7)
    if baseline is not None:
        ax.axhline(baseline, color="grey", linestyle="--", linewidth=1, label=baseline_label)
    ax.set_xticks(x, labels, rotation=20, ha="right", fontsize=8)
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

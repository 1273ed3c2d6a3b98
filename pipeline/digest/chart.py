"""A small PNG chart of relevant-story volume per topic over the last 14 days (for mail: a CID image)."""

from __future__ import annotations

import io
from datetime import date


def volume_chart_png(volume: dict[str, list[tuple[date, int | None]]], *, max_topics: int = 6,
                     topic_names: dict[str, str] | None = None) -> bytes:
    """Lines per topic over the baseline days; days before the warehouse existed (None) are left blank and
    shaded "n/a", not drawn as zero."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    ranked = sorted(volume.items(), key=lambda kv: (-sum(n or 0 for _, n in kv[1]), kv[0]))[:max_topics]
    fig, ax = plt.subplots(figsize=(6.2, 2.6), dpi=110)
    try:
        if not ranked:
            ax.text(0.5, 0.5, "no relevant stories in the last 14 days", ha="center", va="center",
                    color="#6b7280", fontsize=10, transform=ax.transAxes)
            ax.set_axis_off()
        for topic, series in ranked:
            ax.plot([d for d, _ in series], [float("nan") if n is None else n for _, n in series], marker="o",
                    markersize=3, linewidth=1.6, label=(topic_names or {}).get(topic, topic))
        missing = [d for d, n in ranked[0][1] if n is None] if ranked else []
        if missing:  # no data yet: the warehouse did not exist on these days
            from datetime import timedelta

            ax.axvspan(missing[0] - timedelta(hours=12), missing[-1] + timedelta(hours=12), color="#f3f4f6")
            ax.text(missing[0] + (missing[-1] - missing[0]) / 2, 0.5, "n/a", ha="center", va="center",
                    color="#9ca3af", fontsize=8, transform=ax.get_xaxis_transform())
        if ranked:
            ax.set_ylabel("stories / day", fontsize=8)
            ax.tick_params(labelsize=7)
            ax.spines[["top", "right"]].set_visible(False)
            ax.grid(axis="y", color="#e5e7eb", linewidth=0.6)
            ax.legend(fontsize=7, frameon=False, ncol=3, loc="upper left")
            fig.autofmt_xdate(rotation=0, ha="center")
            import matplotlib.dates as mdates

            ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
            ax.set_ylim(bottom=0)
            from matplotlib.ticker import MaxNLocator

            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(fig)

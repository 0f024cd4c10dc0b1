"""Plotly figures of the study pages (Sentiment, Embeddings, Probing), plotted exactly as the predictor and the
reports give them, so a test can read a figure's data back and compare it with the source."""
from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mbti_core.app_figures import _layout
from mbti_core.study_support import ENCODER_LABELS, TASK_LABELS, scaling_rows

NEGATIVE_COLOUR, POSITIVE_COLOUR = "#D62728", "#1F77B4"
OURS_COLOUR, THEIRS_COLOUR = "#2E7D32", "#7F7F7F"
LABEL_COLOURS = {"negative": NEGATIVE_COLOUR, "positive": POSITIVE_COLOUR, "E": "#E45756", "I": "#4C78A8",
                 "S": "#54A24B", "N": "#B279A2", "T": "#F58518", "F": "#72B7B2", "J": "#9D755D", "P": "#EECA3B"}


def sentiment_bars(probs) -> go.Figure:
    """Two horizontal bars: P(negative) and P(positive) in %, labelled."""
    negative, positive = 100 * float(probs[0]), 100 * float(probs[1])
    labels = ["부정 negative", "긍정 positive"]
    fig = go.Figure(go.Bar(
        y=labels, x=[negative, positive], orientation="h", marker_color=[NEGATIVE_COLOUR, POSITIVE_COLOUR],
        text=[f"{negative:.1f}%", f"{positive:.1f}%"], textposition="auto",
    ))
    fig.update_xaxes(range=[0, 100], ticksuffix="%")
    return _layout(fig, 180, showlegend=False)


def scaling_figure(report: dict) -> go.Figure:
    """Validation accuracy and F1 against the number of training reviews: ours (solid) and theirs (dashed)."""
    rows = scaling_rows(report)
    fig = go.Figure()
    for who, colour, dash in (("ours", OURS_COLOUR, "solid"), ("theirs", THEIRS_COLOUR, "dash")):
        for metric, symbol in (("val acc", "circle"), ("F1", "diamond")):
            points = [(r["train size"], r[f"{who} {metric}"]) for r in rows if r[f"{who} {metric}"] is not None]
            if not points:
                continue
            name = f"{'ours (our encoder)' if who == 'ours' else 'theirs (mBERT-base, study)'} · {metric}"
            fig.add_trace(go.Scatter(x=[p[0] for p in points], y=[p[1] for p in points], name=name,
                                     mode="lines+markers", line=dict(color=colour, dash=dash),
                                     marker=dict(symbol=symbol, size=8)))
    fig.update_xaxes(title="training reviews", tickformat=",")
    fig.update_yaxes(title="validation accuracy / F1")
    return _layout(fig, 360, legend=dict(orientation="h", y=-0.25))


def embedding_scatter(points: dict, title: str | None = None) -> go.Figure:
    """An interactive 3-D scatter, one trace per label value (so the legend toggles them)."""
    fig = go.Figure()
    for label in sorted(set(points["label"])):
        index = [i for i, value in enumerate(points["label"]) if value == label]
        fig.add_trace(go.Scatter3d(
            x=[points["xyz"][i][0] for i in index], y=[points["xyz"][i][1] for i in index],
            z=[points["xyz"][i][2] for i in index], mode="markers", name=str(label),
            text=[points["text"][i] for i in index], hovertemplate="%{text}<extra>" + str(label) + "</extra>",
            marker=dict(size=3, opacity=0.8, color=LABEL_COLOURS.get(label)),
        ))
    fig.update_layout(scene=dict(xaxis_title="1", yaxis_title="2", zaxis_title="3"))
    return _layout(fig, 560, title=title, legend=dict(itemsizing="constant"))


def probing_heatmaps(report: dict) -> go.Figure:
    """One heatmap per encoder: rows = layers (embeddings at the bottom), columns = tasks, cell = macro-F1."""
    encoders = list(report["scores"])
    tasks = list(report["tasks"])
    values = [v for e in encoders for t in tasks for v in report["scores"][e][t]]
    low, high = min(values), max(values)
    # Wider gaps and smaller cell text: with four encoders the layer names and the numbers overlapped.
    fig = make_subplots(rows=1, cols=len(encoders), shared_yaxes=False, horizontal_spacing=0.08,
                        subplot_titles=[ENCODER_LABELS.get(e, e) for e in encoders])
    for column, encoder in enumerate(encoders, start=1):
        z = [[report["scores"][encoder][t][layer] for t in tasks] for layer in range(report["layers"][encoder])]
        fig.add_trace(go.Heatmap(
            z=z, x=[TASK_LABELS.get(t, t) for t in tasks], y=report["layer_names"][encoder], zmin=low, zmax=high,
            colorscale="Viridis", showscale=column == len(encoders), text=[[f"{v:.2f}" for v in row] for row in z],
            texttemplate="%{text}", textfont=dict(size=10), hovertemplate="%{y} · %{x}: macro-F1 %{z:.3f}<extra></extra>",
            name=encoder,
        ), row=1, col=column)
    return _layout(fig, 120 + 45 * max(report["layers"].values()))

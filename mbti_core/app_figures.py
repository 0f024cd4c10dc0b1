"""Plotly figures for the app (pages import these; each is downloadable as PNG from its toolbar).

Values are plotted exactly as the Predictor / the reports give them (probabilities as percentages), so a test
can read a figure's data back and compare it with the source.
"""
from __future__ import annotations

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mbti_core.app_support import (
    AXIS_TITLES, LETTER_NAMES, MODE_LABELS, Results, axis_rows, baseline_metrics, model_summary, study_figures,
    top_types,
)
from mbti_core.types import AXES

FIRST_COLOUR, SECOND_COLOUR = "#4C78A8", "#F58518"
MODE_COLOURS = {"mft": "#2E7D32", "ft": "#6A1B9A"}
FONT = "NanumGothic, 'Nanum Gothic', 'Noto Sans KR', sans-serif"


def _layout(fig: go.Figure, height: int, **kwargs) -> go.Figure:
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10), font=dict(family=FONT),
                      template="plotly_white", **kwargs)
    return fig


def axis_bars(result: dict, title: str | None = None) -> go.Figure:
    """Four horizontal bars (E↔I, S↔N, T↔F, J↔P): the first letter's share from the left, the second's from
    the right, each labelled with its percentage; a black tick at 50%, the decision (the type takes the letter
    whose bar crosses it)."""
    rows = axis_rows(result)
    labels = [row["title"] for row in rows]
    fig = go.Figure()
    fig.add_trace(go.Bar(
        name="E / S / T / J", y=labels, x=[100 * r["p_first"] for r in rows], orientation="h",
        marker_color=FIRST_COLOUR, text=[f"{r['first']} {100 * r['p_first']:.1f}%" for r in rows],
        textposition="inside", insidetextanchor="start",
        hovertext=[LETTER_NAMES[r["first"]] for r in rows], hoverinfo="text+x",
    ))
    fig.add_trace(go.Bar(
        name="I / N / F / P", y=labels, x=[100 * r["p_second"] for r in rows], orientation="h",
        marker_color=SECOND_COLOUR, text=[f"{r['second']} {100 * r['p_second']:.1f}%" for r in rows],
        textposition="inside", insidetextanchor="end",
        hovertext=[LETTER_NAMES[r["second"]] for r in rows], hoverinfo="text+x",
    ))
    fig.add_trace(go.Scatter(
        name="50%: the decision", y=labels, x=[50.0] * len(labels), mode="markers",
        marker=dict(symbol="line-ns", size=34, line=dict(width=3, color="#222")),
        hovertemplate="50%<extra></extra>",
    ))
    fig.update_xaxes(range=[0, 100], ticksuffix="%", showgrid=False)
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, 260, barmode="stack", showlegend=False, title=title, uniformtext=dict(minsize=11, mode="show"))


def axis_bars_html(result: dict, key: str | None = None) -> str:
    """The same four bars as ``axis_bars`` in plain HTML/CSS, for the page's first view of every prediction:
    they appear with the text, where a Plotly chart costs the browser ~90 ms per prediction and ~1.4 s for the
    first one on a 2-core machine (loading plotly.js). Each bar: the first letter's share from the left, the
    second's from the right, the winner (above 50%) in bold, a black tick at 50%. ``data-*``
    attributes carry the exact probabilities (tests and scripts read them)."""
    rows = []
    for row in axis_rows(result):
        first, second = 100 * row["p_first"], 100 * row["p_second"]
        winner_first = row["p_first"] >= 0.5
        rows.append(
            f"<div class='mbti-axis' data-axis='{row['axis']}' data-p-first='{row['p_first']:.6f}' "
            f"style='display:flex;align-items:center;gap:.6rem;margin:.3rem 0'>"
            f"<span class='mbti-bar-text' title='{LETTER_NAMES[row['first']]}' style='width:5.6rem;text-align:right;"
            f"color:{FIRST_COLOUR};font-weight:{800 if winner_first else 400}'>{row['first']} {first:.1f}%</span>"
            f"<div style='position:relative;flex:1;height:1.35rem;border-radius:.35rem;overflow:hidden;display:flex'>"
            f"<div style='width:{first:.3f}%;background:{FIRST_COLOUR}'></div>"
            f"<div style='width:{second:.3f}%;background:{SECOND_COLOUR}'></div>"
            f"<div title='50%' style='position:absolute;top:0;bottom:0;left:calc(50% - 1.5px);width:3px;"
            f"background:#222'></div></div>"
            f"<span class='mbti-bar-text' title='{LETTER_NAMES[row['second']]}' style='width:5.6rem;"
            f"color:{SECOND_COLOUR};font-weight:{400 if winner_first else 800}'>{row['second']} {second:.1f}%</span>"
            f"</div>"
        )
    label = " · ".join(f"{r['first']} {100 * r['p_first']:.1f}% / {r['second']} {100 * r['p_second']:.1f}%"
                       for r in axis_rows(result))
    key_attribute = f" data-key='{key}'" if key else ""
    return f"<div class='mbti-axes'{key_attribute} role='img' aria-label='{label}'>" + "".join(rows) + "</div>"


def type_distribution(result: dict, k: int = 16, title: str | None = None) -> go.Figure:
    """The 16-type distribution (product of the axis probabilities), most likely first."""
    ranked = top_types(result, k)
    fig = go.Figure(go.Bar(
        x=[t for t, _ in ranked], y=[100 * p for _, p in ranked], marker_color=[
            FIRST_COLOUR if i == 0 else "#9ecae1" for i in range(len(ranked))],
        text=[f"{100 * p:.1f}%" for _, p in ranked], textposition="outside",
    ))
    fig.update_yaxes(ticksuffix="%", rangemode="tozero")
    return _layout(fig, 280, title=title, showlegend=False)


def message_breakdown(messages: list[dict]) -> go.Figure:
    """Chat-log mode: P(first letter) per message and axis as a heatmap (rows = messages), in the bars' colours:
    the first letter's blue toward 100%, the second letter's orange toward 0%, white at 50%."""
    z = [[100 * m["axes"][axis] for axis in AXES] for m in messages]
    labels = [f"{i + 1}. {m['text'][:18]}{'…' if len(m['text']) > 18 else ''}" for i, m in enumerate(messages)]
    fig = go.Figure(go.Heatmap(
        z=z, x=[f"P({a[0]}) vs {a[1]}" for a in AXES], y=labels, zmin=0, zmax=100,
        colorscale=[[0.0, SECOND_COLOUR], [0.5, "#FFFFFF"], [1.0, FIRST_COLOUR]],
        text=[[f"{v:.0f}%" for v in row] for row in z], texttemplate="%{text}", colorbar=dict(ticksuffix="%"),
    ))
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, max(220, 28 * len(messages) + 80))


def confusion_matrices(confusion: dict[str, dict], level: str = "comment") -> go.Figure:
    """Rows = models (MFT, FT), columns = axes; each cell a 2x2 heatmap, rows = true, columns = predicted."""
    modes = [mode for mode in ("mft", "ft") if mode in confusion and level in confusion[mode]]
    fig = make_subplots(rows=max(1, len(modes)), cols=len(AXES), horizontal_spacing=0.06, vertical_spacing=0.16,
                        subplot_titles=[f"{MODE_LABELS[m]} · {AXIS_TITLES[a]}" for m in modes for a in AXES])
    for r, mode in enumerate(modes, start=1):
        for c, axis in enumerate(AXES, start=1):
            cell = confusion[mode][level][axis]
            labels, matrix = cell["labels"], cell["matrix"]
            fig.add_trace(go.Heatmap(
                z=matrix, x=[f"pred {l}" for l in labels], y=[f"true {l}" for l in labels], name=f"{mode} {axis}",
                colorscale="Blues", showscale=False, text=matrix, texttemplate="%{text}",
            ), row=r, col=c)
            fig.update_yaxes(autorange="reversed", row=r, col=c)
    return _layout(fig, 260 * max(1, len(modes)) + 40)


def axis_accuracy(results: Results, level: str = "comment", tuned: bool = False) -> go.Figure:
    """Per-axis accuracy: baselines, our FT and MFT (seed mean, error bar = std), and the study's (theirs)."""
    x = [AXIS_TITLES[a] for a in AXES]
    fig = go.Figure()
    for name, label, colour in (("majority", "majority", "#BDBDBD"), ("tfidf_lr", "TF-IDF + LR", "#757575")):
        metrics = baseline_metrics(results, name, level)
        if metrics:
            fig.add_trace(go.Bar(name=label, x=x, y=[100 * metrics["axes"][a]["accuracy"] for a in AXES],
                                 marker_color=colour))
    for mode in ("ft", "mft"):
        summary = model_summary(results, mode, level, tuned)
        if summary:
            fig.add_trace(go.Bar(
                name=f"{MODE_LABELS[mode]} (ours)", x=x, y=[100 * summary[f"{a}_accuracy"]["mean"] for a in AXES],
                error_y=dict(type="data", array=[100 * summary[f"{a}_accuracy"]["std"] for a in AXES]),
                marker_color=MODE_COLOURS[mode],
            ))
    theirs = study_figures()
    for mode in ("ft", "mft"):
        fig.add_trace(go.Bar(
            name=f"{MODE_LABELS[mode]} (study, theirs)", x=x, y=[theirs[mode][a] for a in AXES],
            marker=dict(color=MODE_COLOURS[mode], opacity=0.35, pattern=dict(shape="/")),
        ))
    fig.update_yaxes(title="accuracy (%)", range=[0, 100])
    return _layout(fig, 380, barmode="group", legend=dict(orientation="h", y=-0.15))


def training_curves(curves: dict[str, dict]) -> go.Figure:
    """Training loss per optimizer step and validation loss per epoch, one panel per phase, every seed."""
    phases = ("phase1", "phase2", "phase3")
    titles = {"phase1": "phase 1 · type descriptions", "phase2": "phase 2 · MBTI-conditioned MLM",
              "phase3": "phase 3 · community posts"}
    fig = make_subplots(rows=1, cols=3, subplot_titles=[titles[p] for p in phases], horizontal_spacing=0.07)
    in_legend: set[str] = set()  # each line once in the legend, however many panels it appears in
    dashes, symbols = ("solid", "dash", "dashdot", "longdash"), ("diamond", "circle", "square", "triangle-up")
    for mode in ("mft", "ft"):
        for index, (seed, by_phase) in enumerate(sorted((curves.get(mode) or {}).items())):
            dash, symbol = dashes[index % len(dashes)], symbols[index % len(symbols)]  # seeds told apart
            for col, phase in enumerate(phases, start=1):
                rows = by_phase.get(phase) or []
                steps = [s for row in rows for s in row.get("steps", [])]
                if steps:
                    name = f"{MODE_LABELS[mode]} {seed} train"
                    fig.add_trace(go.Scatter(
                        x=[s["step"] for s in steps], y=[s["loss"] for s in steps], mode="lines", name=name,
                        line=dict(color=MODE_COLOURS[mode], width=1, dash=dash), legendgroup=name,
                        showlegend=name not in in_legend,
                    ), row=1, col=col)
                    in_legend.add(name)
                val = [row for row in rows if "val_loss" in row]
                if val:
                    name = f"{MODE_LABELS[mode]} {seed} validation"
                    fig.add_trace(go.Scatter(
                        x=[row["global_step"] for row in val], y=[row["val_loss"] for row in val], mode="markers+lines",
                        name=name, marker=dict(color=MODE_COLOURS[mode], symbol=symbol, size=8),
                        line=dict(dash="dot", color=MODE_COLOURS[mode]), legendgroup=name, showlegend=name not in in_legend,
                    ), row=1, col=col)
                    in_legend.add(name)
    fig.update_xaxes(title="step")
    fig.update_yaxes(title="loss", col=1)
    return _layout(fig, 360, legend=dict(orientation="h", y=-0.25))


# -- explanations ---------------------------------------------------------------------------------------------
def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha:.2f})"


def explanation_segments(explanation: dict, axis: str) -> list[tuple[str, float | None]]:
    """``model_text`` cut into (piece, attribution) in order: each token's characters with its attribution for
    ``axis``, the characters between tokens (spaces) with None. Joined, the pieces give ``model_text`` back."""
    text, segments, at = explanation["model_text"], [], 0
    for token, value in zip(explanation["tokens"], explanation["attributions"][axis]):
        start, end = token["start"], token["end"]
        if start < at or end <= start:  # a token the offsets cannot place (should not happen): skip its span
            continue
        if start > at:
            segments.append((text[at:start], None))
        segments.append((text[start:end], value))
        at = end
    if at < len(text):
        segments.append((text[at:], None))
    return segments


def explanation_html(explanation: dict, axes=AXES) -> str:
    """The message once per axis, each token's background coloured toward the letter it pushes to (blue = E/S/T/J,
    orange = I/N/F/P, as in the axis bars), opacity ∝ |attribution| / the largest |attribution| of that axis;
    hovering a token shows its value in log-odds. Self-contained HTML (inline styles) for Streamlit and Gradio."""
    import html

    rows = []
    for axis in axes:
        first, second = axis[0], axis[1]
        values = [abs(v) for v in explanation["attributions"][axis]]
        scale = max(values, default=0.0) or 1.0
        pieces = []
        for piece, value in explanation_segments(explanation, axis):
            if value is None:
                pieces.append(html.escape(piece))
                continue
            colour = FIRST_COLOUR if value >= 0 else SECOND_COLOUR
            letter = first if value >= 0 else second
            pieces.append(
                f"<span title='{letter} {value:+.3f}' data-attribution='{value:.6g}' style='background:"
                f"{_rgba(colour, 0.85 * abs(value) / scale)};border-radius:3px;padding:1px 1px'>{html.escape(piece)}</span>")
        p_first = float(explanation["axes"][axis])
        rows.append(
            f"<div class='mbti-explain' data-axis='{axis}' style='margin:0.35rem 0;line-height:1.9'>"
            f"<span style='display:inline-block;min-width:9.5rem;font-weight:600'>"
            f"<span style='color:{FIRST_COLOUR}'>{first} {100 * p_first:.0f}%</span> ↔ "
            f"<span style='color:{SECOND_COLOUR}'>{second} {100 * (1 - p_first):.0f}%</span></span> "
            + "".join(pieces) + "</div>")
    legend = (f"<div style='font-size:0.85rem;color:#555'>색이 진할수록 그 방향으로 크게 기여 "
              f"(<span style='color:{FIRST_COLOUR}'>■ E/S/T/J</span>, <span style='color:{SECOND_COLOUR}'>■ I/N/F/P</span>). "
              f"/ Darker = pushes harder toward that letter. {html.escape(explanation.get('method', ''))}.</div>")
    return "<div>" + "".join(rows) + legend + "</div>"


CURVE_LABELS = {"mft": "MFT (ours)", "ft": "FT (ours)", "tfidf_lr": "TF-IDF + LR"}


def writer_curve_figure(curve: dict) -> go.Figure:
    """Mean macro-F1 (left) and exact-type accuracy (right) of pooled predictions against the number of messages
    per writer, one line per model (``writer_curve`` of reports/reliability.json); chance is 0.5 and 1/16."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("평균 macro-F1 · mean macro-F1", "16유형 정확도 · exact type"))
    for name, model in curve["models"].items():
        points = model["points"]
        colour = MODE_COLOURS.get(name, "#7F7F7F")
        for column, key in ((1, "mean_macro_f1"), (2, "type_accuracy")):
            fig.add_trace(go.Scatter(
                x=[p["messages"] for p in points], y=[p[key] for p in points], mode="lines+markers",
                name=CURVE_LABELS.get(name, name), legendgroup=name, showlegend=column == 1,
                line=dict(color=colour, dash="dash" if name == "tfidf_lr" else "solid"),
                customdata=[p["writers"] for p in points],
                hovertemplate="%{x} messages: %{y:.3f} (%{customdata} writers)<extra>" + CURVE_LABELS.get(name, name)
                + "</extra>"), row=1, col=column)
    for column, chance in ((1, 0.5), (2, 1 / 16)):
        fig.add_hline(y=chance, line=dict(color="#999", dash="dot", width=1), row=1, col=column,
                      annotation_text="우연 · chance", annotation_position="bottom right")
    fig.update_xaxes(type="log", title="작성자당 메시지 수 · messages per writer", tickvals=curve["messages"])
    return _layout(fig, 360, legend=dict(orientation="h", y=-0.3))


def reliability_diagram(entry: dict, title: str | None = None) -> go.Figure:
    """Is 60% really 60%? Per axis: the mean shown P(first letter) of each of 10 bins (x) against the share of
    comments that really had the first letter (y), sized by how many comments fell in the bin; the diagonal is
    perfect calibration (``reliability_bins`` of one checkpoint in reports/reliability.json)."""
    fig = make_subplots(rows=1, cols=len(AXES), subplot_titles=[AXIS_TITLES.get(a, a) for a in AXES],
                        shared_yaxes=True, horizontal_spacing=0.04)
    for column, axis in enumerate(AXES, start=1):
        bins = entry["axes"][axis]["reliability_bins"]
        total = sum(b["n"] for b in bins) or 1
        fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(color="#999", dash="dot", width=1),
                                 hoverinfo="skip", showlegend=False), row=1, col=column)
        fig.add_trace(go.Scatter(
            x=[b["mean_p"] for b in bins], y=[b["observed"] for b in bins], mode="lines+markers",
            marker=dict(color=FIRST_COLOUR, size=[6 + 30 * (b["n"] / total) ** 0.5 for b in bins]),
            line=dict(color=FIRST_COLOUR), customdata=[b["n"] for b in bins], showlegend=False,
            hovertemplate=f"P({axis[0]}) shown %{{x:.0%}} → really {axis[0]} %{{y:.0%}} (%{{customdata}} comments)"
                          "<extra></extra>"), row=1, col=column)
        fig.update_xaxes(range=[0, 1], tickformat=".0%", dtick=0.25, row=1, col=column)
    fig.update_yaxes(range=[0, 1], tickformat=".0%", dtick=0.25)
    fig.update_xaxes(title_text="보여 준 확률 · shown", row=1, col=1)
    fig.update_yaxes(title_text="실제 비율 · observed", row=1, col=1)
    return _layout(fig, 300, title=title)

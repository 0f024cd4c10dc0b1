"""What the study pages (Sentiment, Embeddings, Probing) need besides widgets: where the sentiment model and the
study reports live, reading them with a clear message when missing or malformed, and the tables and sentences
shown. No Streamlit here (pages stay thin; this is unit-testable)."""
from __future__ import annotations

import json
from dataclasses import dataclass

from mbti_core import settings
from mbti_core.app_support import reports_dir

REPORT_COMMANDS = {
    "nsmc_scaling.json": "python train.py nsmc-scaling",
    "embeddings.json": "python -m mbti_core embeddings",
    "probing.json": "python -m mbti_core probe",
}
TASK_LABELS = {"sentiment": "감성 sentiment", "EI": "E/I", "SN": "S/N", "TF": "T/F", "JP": "J/P"}
ENCODER_LABELS = {"base": "Base (pretrained)", "mft": "MFT", "ft": "FT", "sentiment": "Sentiment (NSMC)"}
METHOD_LABELS = {"pca": "PCA", "tsne": "t-SNE"}


def sentiment_source() -> str:
    """``MBTI_SENTIMENT_CHECKPOINT`` if set, else ``<MBTI_CHECKPOINT_DIR or checkpoints/>/sentiment``."""
    return settings.model_checkpoint("sentiment")


def missing_sentiment_message(error: Exception) -> str:
    return (f"감성 모델을 불러올 수 없어요 / The sentiment model could not be loaded: {error}\n\n"
            f"Expected a sentiment checkpoint at `{sentiment_source()}`. Train one with `python train.py nsmc "
            f"--output-dir checkpoints/sentiment`, or set `MBTI_SENTIMENT_CHECKPOINT` to its folder.")


@dataclass
class Loaded:
    data: dict | None = None
    problem: str | None = None     # show this instead of the section


def load_report(name: str) -> Loaded:
    """A study report from the reports folder; missing or malformed -> a message naming the command to run."""
    path = reports_dir() / name
    command = REPORT_COMMANDS.get(name, "the study")
    if not path.is_file():
        return Loaded(problem=f"아직 결과가 없어요. / No results yet: `{path}` is missing — run `{command}` "
                              f"(see the studies section of the README).")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        return Loaded(problem=f"`{path}`을(를) 읽을 수 없어요. / `{path}` is not valid JSON ({error}); "
                              f"re-run `{command}`.")
    if not isinstance(data, dict):
        return Loaded(problem=f"`{path}` does not hold a report object; re-run `{command}`.")
    return Loaded(data=data)


def _value(row: dict, key: str):
    value = row.get(key)
    return round(float(value), 4) if isinstance(value, (int, float)) else None


# -- scaling --------------------------------------------------------------------------------------------------
def scaling_rows(report: dict) -> list[dict]:
    """One row per training size: ours beside theirs (the study's multilingual BERT-base)."""
    theirs = {row["train_size"]: row for row in report.get("theirs", {}).get("rows", [])}
    ours = {row["train_size"]: row for row in report.get("ours", {}).get("rows", [])}
    rows = []
    for size in sorted(set(theirs) | set(ours)):
        o, t = ours.get(size, {}), theirs.get(size, {})
        rows.append({
            "train size": size, "test size": (o or t).get("test_size"),
            "ours val acc": _value(o, "val_accuracy"), "ours F1": _value(o, "val_f1"),
            "theirs val acc": _value(t, "val_accuracy"), "theirs F1": _value(t, "val_f1"),
            "ours train loss": _value(o, "train_loss"), "ours train acc": _value(o, "train_accuracy"),
            "ours val loss": _value(o, "val_loss"),
        })
    return rows


# -- embeddings -----------------------------------------------------------------------------------------------
def embedding_options(report: dict) -> tuple[list[str], list[str]]:
    """(encoders with maps, tasks with labels) in a stable order."""
    encoders = [name for name in report.get("maps", {})]
    tasks = [task for task in TASK_LABELS if task in report.get("tasks", {})]
    return encoders, tasks


def embedding_points(report: dict, encoder: str, task: str, method: str) -> dict:
    """{"xyz": [[x, y, z], ...], "label": [...], "text": [...], "variance": [...] or None} for one map."""
    dataset = report["tasks"][task]
    entry = report["maps"][encoder][dataset]
    data = report["datasets"][dataset]
    return {"xyz": entry[method], "label": data["labels"][task], "text": data["text"],
            "variance": entry.get("pca_variance") if method == "pca" else None}


# -- probing --------------------------------------------------------------------------------------------------
def best_layer(report: dict, encoder: str, task: str) -> tuple[int, float]:
    scores = report["scores"][encoder][task]
    index = max(range(len(scores)), key=lambda i: scores[i])
    return index, float(scores[index])


def probing_rows(report: dict) -> list[dict]:
    """A long table: encoder, layer, one column per task (macro-F1)."""
    rows = []
    for encoder, per_task in report.get("scores", {}).items():
        for layer, name in enumerate(report["layer_names"][encoder]):
            rows.append({"encoder": ENCODER_LABELS.get(encoder, encoder), "layer": name,
                         **{TASK_LABELS.get(task, task): per_task[task][layer] for task in per_task}})
    return rows


def probing_noise(report: dict) -> float:
    """Half-width of a 95% band for one macro-F1 near chance on the report's test texts: 1.96 x sqrt(0.25 / n).
    A lower bound: texts of one writer are not independent, so the real band is wider."""
    n = (report.get("config") or {}).get("n_test") or 0
    return 1.96 * (0.25 / n) ** 0.5 if n else 0.0


def probing_reading(report: dict) -> str:
    """Where E/I (and sentiment) is best read out, against chance (0.5) and the noise band; whether MFT and FT
    differ beyond it (a difference inside the band is not a finding)."""
    scores = report.get("scores", {})
    names = report.get("layer_names", {})
    noise = probing_noise(report)
    parts = []
    if "EI" in report.get("tasks", []) and scores:
        if "mft" in scores and "ft" in scores:
            (m_layer, m_f1), (f_layer, f_f1) = best_layer(report, "mft", "EI"), best_layer(report, "ft", "EI")
            parts.append(f"E/I is best read from MFT's {names['mft'][m_layer]} (macro-F1 {m_f1:.3f}) and FT's "
                         f"{names['ft'][f_layer]} ({f_f1:.3f}); chance is 0.5.")
            if noise and abs(m_f1 - f_f1) <= noise:
                parts.append(f"The two peaks differ by {abs(m_f1 - f_f1):.3f}, inside the noise band (±{noise:.3f} at "
                             f"least): no difference between MFT and FT can be read from this.")
            else:
                where = "at the same depth" if m_layer == f_layer else "earlier" if m_layer < f_layer else "later"
                parts.append(f"MFT places it {where}, and its peak is {abs(m_f1 - f_f1):.3f} "
                             f"{'higher' if m_f1 >= f_f1 else 'lower'}" + (f" (beyond the ±{noise:.3f} band)." if noise else "."))
        else:
            encoder = max(scores, key=lambda e: best_layer(report, e, "EI")[1])
            layer, f1 = best_layer(report, encoder, "EI")
            parts.append(f"E/I is best read from {ENCODER_LABELS.get(encoder, encoder)}'s {names[encoder][layer]} "
                         f"(macro-F1 {f1:.3f}).")
    if "sentiment" in report.get("tasks", []) and scores:
        encoder = "base" if "base" in scores else next(iter(scores))
        layer, f1 = best_layer(report, encoder, "sentiment")
        parts.append(f"Sentiment peaks at {ENCODER_LABELS.get(encoder, encoder)}'s {names[encoder][layer]} "
                     f"(macro-F1 {f1:.3f}).")
    return " ".join(parts)

"""`python -m mbti_core data`: build the cached datasets and print what they hold."""
from __future__ import annotations

import json

import pandas as pd

from mbti_core.data import labelled, load_cafe, load_descriptions, load_nsmc, load_pretraining_text
from mbti_core.data.cafe import SPLITS
from mbti_core.types import AXES, TYPES, type_labels


def summarise(data_dir=None) -> dict:
    cafe = load_cafe(data_dir)
    rows = labelled(cafe)
    descriptions = load_descriptions(data_dir)
    nsmc = load_nsmc(data_dir)
    pretraining = load_pretraining_text(data_dir)
    per_split = {}
    for split in SPLITS:
        part = rows[rows["split"] == split]
        bits = type_labels(part["type"]).mean(axis=0) if len(part) else [float("nan")] * 4
        per_split[split] = {
            "texts": int((cafe["split"] == split).sum()),
            "labelled_texts": int(len(part)),
            "labelled_writers": int(part["writer"].nunique()),
            "types_present": int(part["type"].nunique()),
            "axis_first_letter_share": {axis: round(float(b), 4) for axis, b in zip(AXES, bits)},
            "share_masked": round(float(part["had_mention"].mean()), 4) if len(part) else None,
        }
    per_type = rows.groupby("type").agg(texts=("text", "size"), writers=("writer", "nunique"))
    return {
        "cafe": {
            "texts": int(len(cafe)),
            "writers": int(cafe["writer"].nunique()),
            "labelled_writers": int(rows["writer"].nunique()),
            "unlabelled_writers": int(cafe.loc[cafe["type"].isna(), "writer"].nunique()),
            "share_masked_all": round(float(cafe["had_mention"].mean()), 4),
            "splits": per_split,
            "per_type": {t: {k: int(v) for k, v in per_type.loc[t].items()} for t in TYPES if t in per_type.index},
        },
        "descriptions": {"sentences": int(len(descriptions)), "types": int(descriptions["type"].nunique())},
        "nsmc": {
            split: {"reviews": int((nsmc["split"] == split).sum()),
                    "positive_share": round(float(nsmc.loc[nsmc["split"] == split, "label"].mean()), 4),
                    "movies": int(nsmc.loc[nsmc["split"] == split, "movie_id"].nunique())}
            for split in SPLITS
        },
        "pretraining": {
            "texts": int(len(pretraining)),
            "characters": int(pretraining["text"].str.len().sum()),
            "by_source": {k: int(v) for k, v in pretraining["source"].value_counts().items()},
        },
    }


def format_summary(summary: dict) -> str:
    cafe = summary["cafe"]
    lines = [
        f"cafe: {cafe['texts']} texts from {cafe['writers']} writers; {cafe['labelled_writers']} labelled writers, "
        f"{cafe['unlabelled_writers']} unlabelled; {cafe['share_masked_all']:.1%} of texts had an MBTI mention masked",
        f"{'split':<11}{'texts':>8}{'labelled':>10}{'writers':>9}{'types':>7}{'masked':>8}"
        + "".join(f"{'P(' + a[0] + ')':>8}" for a in AXES),
    ]
    for split, s in cafe["splits"].items():
        lines.append(
            f"{split:<11}{s['texts']:>8}{s['labelled_texts']:>10}{s['labelled_writers']:>9}{s['types_present']:>7}"
            f"{s['share_masked']:>8.1%}" + "".join(f"{s['axis_first_letter_share'][a]:>8.3f}" for a in AXES)
        )
    types = pd.DataFrame(cafe["per_type"]).T
    lines.append("per type (labelled texts / writers):")
    lines.append("  " + "  ".join(f"{t} {r.texts}/{r.writers}" for t, r in types.iterrows()))
    d = summary["descriptions"]
    lines.append(f"descriptions: {d['sentences']} sentences for {d['types']} types")
    lines.append("nsmc: " + ", ".join(
        f"{k} {v['reviews']} reviews of {v['movies']} movies ({v['positive_share']:.1%} positive)"
        for k, v in summary["nsmc"].items()))
    p = summary["pretraining"]
    lines.append(f"pretraining: {p['texts']} texts, {p['characters']} characters; "
                 + ", ".join(f"{k} {v}" for k, v in p["by_source"].items()))
    return "\n".join(lines)


def add_arguments(parser) -> None:
    parser.add_argument("--data-dir", help="raw data directory (default: $MBTI_DATA_DIR or ../shared/data)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def main(args) -> int:
    summary = summarise(args.data_dir)
    print(json.dumps(summary, indent=2, ensure_ascii=False) if args.json else format_summary(summary))
    return 0

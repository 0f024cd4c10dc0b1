"""``python -m mbti_core type-effect --checkpoint DIR --masked FILE [--output JSON]``: how much the type changes
the type-conditioned fill-mask (``mbti_core.type_effect``), as one JSON object.

FILE is any file in the study's phase-2 CSV format (``MBTI``, ``original_sentence``, ``masked_sentence``),
cleaned by the same loader as training (``data.seed_study``), or a masked-sentence JSONL as ``mask`` writes it
(``generate`` -> ``mask --masker openai``). For the study's own file only its validation
part is scored (the training part was trained on); any other file is scored whole (``--part`` overrides).
The word-frequency baseline counts words in the study's training part.
"""
from __future__ import annotations

import json
from pathlib import Path

from mbti_core import settings
from mbti_core.commands import add_checkpoint_argument, emit, quiet_transformers

PARTS = ("auto", "validation", "train", "all")


def add_arguments(parser) -> None:
    add_checkpoint_argument(parser)
    parser.add_argument("--masked", default=None,
                        help="phase-2 file in the study's CSV format (default: the study's own, seed_study/)")
    parser.add_argument("--part", choices=PARTS, default="auto",
                        help="rows to score: auto = validation for the study's own file, all for any other")
    parser.add_argument("--data-dir", default=None, help="raw data directory (for the study's training part)")
    parser.add_argument("--output", default=None, help="also write the JSON object to this file")


def masked_jsonl(path: Path):
    """A masked-sentence JSONL (rows with a type) as StudyMaskedData, split by sentence hash like the study's file."""
    from mbti_core.data.seed_study import StudyMaskedData, split_by_sentence
    from mbti_core.masking.format import read_masked_file

    masked = read_masked_file(path)
    rows = [row for row in masked.rows if row.get("type")]
    train, validation = split_by_sentence(rows)
    counts = {"rows_read": len(masked.rows) + len(masked.errors), "dropped_bad_row": len(masked.errors),
              "dropped_no_type": len(masked.rows) - len(rows), "kept": len(rows), "train": len(train),
              "validation": len(validation)}
    return StudyMaskedData(train=train, validation=validation, counts=counts)


def main(args) -> int:
    from mbti_core.data.seed_study import MASKED_SENTENCES_FILE, load_study_masked, study_file

    own = study_file(MASKED_SENTENCES_FILE, args.data_dir)
    path = Path(args.masked) if args.masked else own
    if not path.is_file():
        raise FileNotFoundError(f"masked-sentence file not found: {path}")
    if args.output:
        output = Path(args.output)
        if output.is_dir() or not output.parent.is_dir():
            raise ValueError(f"cannot write --output {output}: not a file in an existing folder")
    study = load_study_masked(own)
    if path.resolve() == own.resolve():
        scored = study
    elif path.name.endswith((".jsonl", ".jsonl.gz")):
        scored = masked_jsonl(path)
    else:
        scored = load_study_masked(path)
    part = args.part if args.part != "auto" else ("validation" if scored is study else "all")
    rows = {"validation": scored.validation, "train": scored.train, "all": scored.rows}[part]
    if not rows:
        raise ValueError(f"{path}: no usable rows in the {part} part ({scored.counts})")

    quiet_transformers()
    from mbti_core import type_effect
    from mbti_core.encoder import load_tokenizer
    from mbti_core.modeling import MBTIModel
    from mbti_core.predictor_base import resolve_checkpoint

    folder = resolve_checkpoint(args.checkpoint)
    model = MBTIModel.from_pretrained(folder)
    if model.type_mlm is None:
        raise ValueError(f"{args.checkpoint} has no type-conditioned MLM head (an FT checkpoint); use an MFT checkpoint")
    tokenizer = load_tokenizer(folder)
    result = {"checkpoint": settings.project_relative(args.checkpoint), "masked": settings.project_relative(path),
              "part": part,
              **type_effect.measure(model, tokenizer, rows, study.train, model.heads_config.max_length),
              "cleaning": scored.counts}
    if args.output:
        Path(args.output).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    emit(result)
    return 0

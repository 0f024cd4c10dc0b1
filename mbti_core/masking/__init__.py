"""Phase-2 masking: pick one type-characteristic token per sentence and write the masked-sentence file.

- :mod:`.format`: the JSONL format, its reader/validator (:func:`read_masked_file`) and the resumable writer.
- :mod:`.offline`: :class:`LogOddsMasker` (Monroe et al. log-odds on the training split) and :class:`RandomMasker`.
- :mod:`.openai_masker`: :class:`OpenAIMasker`, the study's GPT-4o masker for any OpenAI-compatible server.
- :mod:`.run`: running a masker over rows with resume; :func:`build_phase2_file` for the default phase-2 file.
- :mod:`.command`: the ``mask`` subcommand (``add_arguments`` / ``main``).
- :mod:`.generate`: the ``generate`` subcommand, the study's data step before masking: first-person persona
  sentences per type from any OpenAI-compatible server, resumable and counted.
"""
from mbti_core.lazy import lazy_exports

# Imported on first use, so that `masking.format` alone (used by the model and the Predictor) does not
# pull in pandas and the data pipeline.
_EXPORTS = {
    "format": ["MASK", "MaskedFile", "MaskedFileError", "make_row", "read_masked_file", "validate_row"],
    "offline": ["LogOddsMasker", "MaskChoice", "RandomMasker", "candidate_words"],
    "run": ["InputRow", "MaskingSummary", "build_phase2_file", "read_input_rows", "run_masking"],
}
__getattr__, __all__ = lazy_exports(__name__, _EXPORTS)

"""The baseline command on the real data, and the committed report it reproduces."""
import argparse
import json

import pytest

from mbti_core import settings
from mbti_core.types import AXES

pytestmark = [pytest.mark.skipif(
    not (settings.PROJECT_ROOT.parent / "shared" / "data").is_dir() and not __import__("os").environ.get("MBTI_DATA_DIR"),
    reason="no data directory: set MBTI_DATA_DIR",
), pytest.mark.slow, pytest.mark.real_data]


def test_baseline_command_reproduces_the_committed_report(tmp_path, capsys):
    from mbti_core import baselines

    output = tmp_path / "baselines.json"
    assert baselines.main(argparse.Namespace(data_dir=None, output=str(output))) == 0
    printed = capsys.readouterr().out
    assert "tfidf_lr" in printed and "NSMC TF-IDF + LR" in printed
    fresh = json.loads(output.read_text(encoding="utf-8"))
    committed = json.loads((settings.reports_dir() / "baselines.json").read_text(encoding="utf-8"))
    for name in ("majority", "tfidf_lr"):
        assert set(fresh[name]["axes"]) == set(AXES)
        assert fresh[name]["mean_macro_f1"] == pytest.approx(committed[name]["mean_macro_f1"], abs=1e-6)
        assert fresh[name]["n"] == committed[name]["n"]
    # the TF-IDF baseline beats guessing the majority letter, at comment and writer level
    assert fresh["tfidf_lr"]["mean_macro_f1"] > fresh["majority"]["mean_macro_f1"] + 0.1
    assert fresh["tfidf_lr"]["writer_level"]["mean_macro_f1"] > fresh["majority"]["writer_level"]["mean_macro_f1"]
    assert 0.80 < fresh["nsmc"]["accuracy"] < 0.95
    assert fresh["nsmc"]["accuracy"] == pytest.approx(committed["nsmc"]["accuracy"], abs=1e-6)

"""The app's non-UI helpers: input checks, chat-log parsing (KakaoTalk exports), fill-mask post-processing,
results loading and tables."""
from __future__ import annotations

import json

import pytest

from mbti_core import app_support as s
from mbti_core.types import TYPES


# -- input checks ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text", [None, "", "   ", "\n\t"])
def test_empty_message_is_an_error(text):
    checked = s.check_message(text)
    assert not checked.ok and "입력" in checked.error


@pytest.mark.parametrize("text", ["😀😀", "👍🔥✨", "!!! ??? ...", "ㅤ😀"])
def test_emoji_or_symbols_only_is_an_error(text):
    assert "분석할 글자가 없어요" in s.check_message(text).error


def test_long_message_is_cut_with_a_notice():
    checked = s.check_message("가" * 5001)
    assert checked.ok and checked.text == "가" * 5000
    assert any("5,000" in n and "5,001" in n for n in checked.notices)
    assert s.check_message("가" * 5000).notices == []


def test_non_korean_is_a_caution_not_an_error():
    checked = s.check_message("see you tomorrow")
    assert checked.ok and any("not Korean" in n for n in checked.notices)
    assert s.check_message("ㅋㅋㅋ 진짜?").notices == []


def test_type_mentions_get_a_note():
    assert any("[TYPE]" in n for n in s.check_message("엔프피라서 그래요").notices)


@pytest.mark.parametrize("text, error", [
    ("", "문장을 입력해 주세요"), ("문장", "[MASK]가 없어요"), ("[MASK] [mask]", "2개 있음"),
    ("a <mask> b [MASK] c [MASK]", "3개 있음"), ("  [MASK] 😀 ", "문맥이 될 단어"),
])
def test_masked_sentence_errors(text, error):
    assert error in s.check_masked(text).error


def test_masked_sentence_ok_and_insert_mask():
    assert s.check_masked("오늘은 [mask] 할래").ok
    assert s.insert_mask("오늘은 ") == "오늘은 [MASK]"
    assert s.insert_mask("") == s.insert_mask(None) == "[MASK]"
    assert s.count_masks(s.insert_mask(s.insert_mask("x"))) == 2
    cut = s.check_masked("[MASK] 좋아 " + "가" * 6000)
    assert cut.ok and len(cut.text) == 5000 and cut.notices
    lost = s.check_masked("가" * 5000 + " [MASK]")  # the only [MASK] lies beyond the cut
    assert "[MASK]가 없어요" in lost.error


# -- chat logs ------------------------------------------------------------------------------------------------
def test_kakaotalk_mobile_export():
    log = s.parse_chat_log("""홍길동님과 카카오톡 대화
저장한 날짜 : 2024-01-05 12:00:01

2024년 1월 3일 수요일
2024. 1. 3. 오후 3:12, 홍길동 : 안녕 다들
2024. 1. 3. 오후 3:12: 김철수님이 들어왔습니다.
2024. 1. 3. 오후 3:13, 김철수 : 사진
2024. 1. 3. 오후 3:14, 홍길동 : 내일 몇 시야?
혹시 늦으면 말해 줘
2024. 1. 3. 오후 3:15, 김철수 : 열 시 : 정문 앞""")
    assert log.format == "kakaotalk"
    assert [(m.speaker, m.text) for m in log.messages] == [
        ("홍길동", "안녕 다들"), ("홍길동", "내일 몇 시야?\n혹시 늦으면 말해 줘"), ("김철수", "열 시 : 정문 앞")]
    assert log.speakers.most_common(1) == [("홍길동", 2)]
    assert log.texts("김철수") == ["열 시 : 정문 앞"]
    assert log.skipped == 6  # header, saved-date, blank, date, system line, photo


def test_kakaotalk_pc_and_ios_lines():
    log = s.parse_chat_log("--------------- 2024년 1월 3일 수요일 ---------------\n"
                           "[홍길동] [오후 3:12] 메시지 하나\n[김 철수] [AM 9:05] 둘\n"
                           "2024년 1월 3일 오후 3:20, 홍길동 : 셋")
    assert [(m.speaker, m.text) for m in log.messages] == [("홍길동", "메시지 하나"), ("김 철수", "둘"), ("홍길동", "셋")]


def test_plain_lines_are_one_message_each_and_capped():
    log = s.parse_chat_log("첫째\n\n  둘째  \r\n셋째")
    assert log.format == "lines" and log.texts() == ["첫째", "둘째", "셋째"] and not log.speakers
    many = s.parse_chat_log("\n".join(f"메시지 {i}" for i in range(600)))
    assert len(many.messages) == s.MAX_LOG_MESSAGES and many.texts()[-1] == "메시지 599" and many.skipped == 100


def test_check_chat_log_drops_unusable_messages():
    texts, checked = s.check_chat_log(s.parse_chat_log("좋아요\n😀😀\n\n오늘 뭐 해"))
    assert texts == ["좋아요", "오늘 뭐 해"] and checked.ok
    assert any("2줄은 건너뛰었어요" in n and "2 lines were skipped" in n for n in checked.notices)
    _, one = s.check_chat_log(s.parse_chat_log("좋아요\n😀😀\n오늘 뭐 해"))
    assert any("1 line was skipped" in n for n in one.notices)  # not "1 lines"
    _, empty = s.check_chat_log(s.parse_chat_log("😀\n👍"))
    assert not empty.ok


# -- display helpers ------------------------------------------------------------------------------------------
def test_axis_rows_and_top_types():
    result = {"axes": {"EI": 0.8, "SN": 0.3, "TF": 0.5, "JP": 0.1},
              "types": {t: (16 - i) / 136 for i, t in enumerate(TYPES)}}
    rows = s.axis_rows(result)
    assert [(r["first"], r["second"], r["winner"]) for r in rows] == [("E", "I", "E"), ("S", "N", "N"),
                                                                      ("T", "F", "T"), ("J", "P", "P")]
    assert rows[1]["p_second"] == pytest.approx(0.7)
    assert [t for t, _ in s.top_types(result, 3)] == list(TYPES[:3])


def test_unique_tokens_and_filled_sentence():
    fills = {"ISTJ": [{"token": "계획", "prob": .5}, {"token": "해", "prob": .2}],
             "ENFP": [{"token": "즉흥", "prob": .4}, {"token": "해", "prob": .3}]}
    assert s.unique_tokens(fills) == {"ISTJ": {"계획"}, "ENFP": {"즉흥"}}
    assert s.filled_sentence("미리미리 [mask]야 편하지", "계획") == "미리미리 계획야 편하지"


# -- results --------------------------------------------------------------------------------------------------
def test_results_tables_from_report_and_baselines(tmp_path, monkeypatch):
    summary = {key: {"mean": 0.6, "std": 0.01} for key in ("mean_macro_f1", "mean_accuracy", "type_accuracy", "loss")}
    summary.update({f"{a}_accuracy": {"mean": 0.62, "std": 0.02} for a in ("EI", "SN", "TF", "JP")})
    report = {"mft": {"seeds": [{}, {}, {}], "summary": {"test": summary}},
              "ft": {"seeds": [{}, {}, {}], "summary": {"test": {**summary, "mean_macro_f1": {"mean": 0.58, "std": 0.01}}}},
              "comparison": {"test": {
                  "mean_macro_f1": {"mft_minus_ft": 0.02, "combined_std": 0.014, "beyond_noise": False},
                  "mean_accuracy": {"mft_minus_ft": 0.031, "combined_std": 0.01, "beyond_noise": True}}}}
    (tmp_path / "mft_vs_ft.json").write_text(json.dumps(report))
    monkeypatch.setenv("MBTI_REPORTS_DIR", str(tmp_path))
    monkeypatch.setenv("MBTI_CHECKPOINT_DIR", str(tmp_path / "none"))
    results = s.load_results()
    assert results.report == report and any("metrics.json" in p for p in results.problems)
    rows = s.metrics_rows(results)
    assert [r["model"] for r in rows] == ["FT (ours)", "MFT (ours)"]  # no baselines file here
    assert rows[1]["mean macro-F1"] == "0.600 ± 0.010" and rows[0]["mean macro-F1"] == "0.580 ± 0.010"
    assert rows[1]["seeds"] == 3
    study = {r["metric"]: r for r in s.study_rows(results)}
    assert study["J/P accuracy (%)"]["study FT (theirs)"] == "79.29" and study["J/P accuracy (%)"]["our MFT"] == "62.00 ± 2.00"
    sentence = s.comparison_sentence(results)
    assert "macro-F1 = +0.020" in sentence and "within the seed noise" in sentence
    assert "the study's metric) = +0.031" in sentence and "beyond the seed noise" in sentence
    assert s.comparison_sentence(results, level="writer") is None


def test_model_source_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("MBTI_CHECKPOINT_DIR", str(tmp_path))
    monkeypatch.delenv("MBTI_FT_CHECKPOINT", raising=False)
    assert s.model_source("ft") == str(tmp_path / "ft")
    monkeypatch.setenv("MBTI_FT_CHECKPOINT", "someone/mbti-ft")
    assert s.model_source("ft") == "someone/mbti-ft"
    with pytest.raises(ValueError):
        s.model_source("xyz")


def test_checkpoint_label_shows_no_server_folders(tmp_path):
    from mbti_core import settings

    assert s.checkpoint_label(str(settings.PROJECT_ROOT / "checkpoints" / "mft")) == "checkpoints/mft"
    elsewhere = tmp_path / "models" / "mft"
    elsewhere.mkdir(parents=True)
    assert s.checkpoint_label(str(elsewhere)) == "mft (MBTI_CHECKPOINT_DIR)" and str(tmp_path) not in s.checkpoint_label(str(elsewhere))
    assert s.checkpoint_label("someone/mbti-ko-mft") == "someone/mbti-ko-mft"  # a Hub id


def test_training_note_says_what_the_compared_models_were_trained_on():
    results = s.Results(report={
        "mft": {"config": {"phase1_data": "study", "phase2_data": "study", "masked_file": None},
                "seeds": [{"seed": 0, "device": "cpu (1 threads, fp32)"}, {"seed": 1, "device": "cpu (2 threads, fp32)"}]},
        "ft": {"seeds": [{"seed": 0, "device": "cpu (1 threads, fp32)"}]}})
    note = s.training_note(results)
    assert note.startswith("MFT: phase 1 on the study's data, phase 2 on the study's data")
    assert "Seeds 2 + 1" in note and "cpu (1 threads, fp32), cpu (2 threads, fp32)" in note
    assert s.training_note(s.Results(report={"mft": {}})) is None


def test_reliability_helpers_read_the_measured_figures(tmp_path, monkeypatch):
    import numpy as np

    from mbti_core.studies.reliability import measure

    y = np.array([[1, 0, 1, 0]] * 6 + [[0, 1, 0, 1]] * 4)
    probs = np.where(y == 1, 0.66, 0.34).astype(float)
    probs[0] = [0.52, 0.49, 0.9, 0.1]  # E/I and S/N near the line
    entry = measure(y, probs, [0.5] * 4, [5] * 5 + [50] * 5, ["ESTJ"] * 10)
    monkeypatch.setenv("MBTI_CHECKPOINT_DIR", str(tmp_path))
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "reliability.json").write_text(json.dumps(
        {"n": 10, "checkpoints": {"mft": {"source": str(tmp_path / "mft"), **entry}}}))
    reliability = s.load_reliability("mft", tmp_path / "reports" / "reliability.json")
    assert reliability["type_accuracy"] == 1.0 and s.load_reliability("ft", tmp_path / "reports" / "reliability.json") is None
    result = {"axes": {"EI": 0.52, "SN": 0.49, "TF": 0.9, "JP": 0.1}}
    note = s.close_call_note(result, reliability)
    assert note.startswith("애매함 · close call: E/I, S/N") and "were right 100% of the time (a coin flip: 50%" in note
    assert s.close_call_note({"axes": {"EI": 0.9, "SN": 0.1, "TF": 0.9, "JP": 0.1}}, reliability) is None
    lines = s.reliability_lines(reliability)
    assert "E/I 100%" in lines[1] and "exact type: 100.0%" in lines[2] and "chance 6.25%" in lines[2]
    assert any("when the shown letter's probability is 60–70%, it was right 100% (36 axis predictions)" in l for l in lines)
    assert "A short message (4 characters)" in s.short_message_note("ㅇㅋㅇㅋ", reliability)
    assert s.short_message_note("이건 충분히 긴 메시지라서 안내가 없어요", reliability) is None
    assert s.reliability_lines(None) == [] and s.close_call_note(result, None) is None



def test_macro_f1_note_quotes_the_majority_baseline():
    axes = {"EI": {"accuracy": 0.614, "macro_f1": 0.380}, "SN": {"accuracy": 0.647, "macro_f1": 0.393},
            "TF": {"accuracy": 0.468, "macro_f1": 0.319}, "JP": {"accuracy": 0.510, "macro_f1": 0.338}}
    note = s.macro_f1_note(s.Results(baselines={"majority": {"axes": axes}}))
    assert "reaches E/I 61%, S/N 65% accuracy" in note and "that answer gets 0.38, 0.39" in note
    assert s.macro_f1_note(s.Results()) is None

import re

import pytest

from mbti_core.data.mentions import (
    MENTION_PLACEHOLDER, has_type_mention, label_from_nickname, mask_type_mentions,
)
from mbti_core.types import TYPES


def english_type_mentions(text: str) -> list[str]:
    """Full English type names left in a text (for asserting that masking worked)."""
    return [m.group(0) for m in re.finditer(r"(?i)(?:" + "|".join(TYPES) + ")", text)]


# Realistic nicknames from the cafe, with the label the rules must give (None = unlabelled).
NICKNAMES = [
    ("록사 ENTJ", "ENTJ"),
    ("긍정Enfj", "ENFJ"),
    ("엔프제다옹A", "ENFJ"),
    ("표몽 eSTP 7w8", "ESTP"),
    ("해삐eNfP 7w8 sx", "ENFP"),
    ("ufc좋아하는 enfj", "ENFJ"),
    ("DoD INFJa 6w5", "INFJ"),
    ("Yellowintp", "INTP"),
    ("istpppppppppppp", "ISTP"),
    ("ENTPPPPPPPPPP", "ENTP"),
    ("Esstp", "ESTP"),
    ("S가 좋은 잇티제쟈나", "ISTJ"),
    ("ISFJ 잇프제16", "ISFJ"),
    ("엥뿌삐댕댕", "ENFP"),
    ("인푸제4w5", "INFJ"),
    ("잇프피입니댱", "ISFP"),
    ("난인프제", "INFJ"),
    ("Infprofile", "INFP"),
    ("ISFP혹시", "ISFP"),
    ("ＩＮＴＪ 전각", "INTJ"),
    ("esfjii", "ESFJ"),
    # traps: several types, hybrids, wildcards, negations, fans, plain words
    ("Isfjp잇푸젭", None),
    ("INFJ♡ENFJ", None),
    ("entp아님", None),
    ("entp러버", None),
    ("잇팁과엣팁사이", None),
    ("ISTJ와 ESTJ가 공존", None),
    ("INFP인데ISFP도 되는", None),
    ("닷지 ISFtJ 3w4 spsx", None),
    ("귀찮 and INSTP", None),
    ("뼛속까지 EXTJ", None),
    ("우유inxj", None),
    ("iSxp솔", None),
    ("엔프인프제", None),
    ("잇프피프제", None),
    ("ENFP 엣뿌삐", None),
    ("Arte", None),
    ("ISSUE", None),
    ("닉넴짓기귀찮", None),
    ("ijikikik", None),
    ("아이STJ", None),
    ("", None),
]


@pytest.mark.parametrize("nickname,expected", NICKNAMES)
def test_label_from_nickname(nickname, expected):
    assert label_from_nickname(nickname) == expected


def test_enough_nickname_cases():
    assert len(NICKNAMES) >= 30
    assert sum(label is None for _, label in NICKNAMES) >= 15


@pytest.mark.parametrize(
    "text,expected",
    [
        ("저 INFP인데 엔프제들은 진짜 착해요", "저 [TYPE]인데 [TYPE]들은 진짜 착해요"),
        ("enfp랑 Intj는 잘맞아요 ㅋㅋ", "[TYPE]랑 [TYPE]는 잘맞아요 ㅋㅋ"),
        ("xNTP 특징이 뭐예요", "[TYPE] 특징이 뭐예요"),
        ("NF들은 감성적이죠", "[TYPE]들은 감성적이죠"),
        ("극I라서 집에 있을래", "극[TYPE]라서 집에 있을래"),
        ("너 T야?", "너 [TYPE]야?"),
        ("인티들 모여라", "[TYPE]들 모여라"),
        ("ISTJ ESTJ 둘다", "[TYPE] 둘다"),
        # Mixed Korean and English: MBTI talk is masked, the English around it is not.
        ("I라서 그래", "[TYPE]라서 그래"),
        ("저는 I 입니다", "저는 [TYPE] 입니다"),
        ("I'm fine 너는 I지?", "I'm fine 너는 [TYPE]지?"),
        ("ENFP랑 I think so 했어", "[TYPE]랑 I think so 했어"),
        ("극T라서 T-shirt만 입어", "극[TYPE]라서 T-shirt만 입어"),
        ("ST, NT 여자분들 많더라구요", "[TYPE], [TYPE] 여자분들 많더라구요"),  # a list of type talk is no English
        ("I, F, J 각각 수치가 달라요", "[TYPE], [TYPE], [TYPE] 각각 수치가 달라요"),
        ("SF랑 제일 안 맞아요", "[TYPE]랑 제일 안 맞아요"),
        ("제 주변 SF 분들은 잘 웃어요", "제 주변 [TYPE] 분들은 잘 웃어요"),  # in this cafe SF is mostly type talk
        ("노잼 스타일(mbti SJ 유형) 싫어요", "노잼 스타일(mbti [TYPE] 유형) 싫어요"),  # "mbti" is no English
        ("mbti T성향 특징이 뭐예요", "mbti [TYPE]성향 특징이 뭐예요"),
        ("MBTI: NF 분들", "MBTI: [TYPE] 분들"),
    ],
)
def test_mask_type_mentions(text, expected):
    assert mask_type_mentions(text) == expected
    assert has_type_mention(text)


@pytest.mark.parametrize("text", [
    "인프라 구축이 먼저예요", "오늘 날씨 좋네요 ㅋㅋㅋ", "Seoul station", "사진 3장 올려요",
    # English sentences and everyday abbreviations are not type talk.
    "I think so", "you and I 사이", "IT 회사 다녀요", "IP 주소 알려줘", "Is it OK?", "T-shirt 샀어",
    "Plan A or plan B", "I know, right?",
])
def test_plain_text_is_left_alone(text):
    assert mask_type_mentions(text) == text
    assert not has_type_mention(text)


def test_masking_is_idempotent_and_leaves_no_english_type():
    text = "ENFP ENTP entp INFJ는 isfj랑 친해요 ESTJ!"
    once = mask_type_mentions(text)
    assert mask_type_mentions(once) == once
    assert english_type_mentions(once) == []
    assert MENTION_PLACEHOLDER in once

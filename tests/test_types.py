import numpy as np
import pytest

from mbti_core.types import (
    AXES, KOREAN_NICKNAMES, TYPES, bits_to_type, normalise_type, predicted_types, type_labels,
    type_probabilities, type_to_bits,
)


def test_sixteen_distinct_types_built_from_the_axes():
    assert len(TYPES) == 16 == len(set(TYPES))
    for mbti in TYPES:
        assert all(letter in axis for letter, axis in zip(mbti, AXES))


@pytest.mark.parametrize("mbti", TYPES)
def test_bits_round_trip(mbti):
    assert bits_to_type(type_to_bits(mbti)) == mbti


def test_bits_mean_first_letter():
    assert type_to_bits("ESTJ") == (1, 1, 1, 1)
    assert type_to_bits("infp") == (0, 0, 0, 0)
    assert type_to_bits("ENFP") == (1, 0, 0, 0)
    np.testing.assert_array_equal(type_labels(["ISTJ", "ENFP"]), [[0, 1, 1, 1], [1, 0, 0, 0]])


def test_invalid_type_message_lists_choices():
    with pytest.raises(ValueError, match="not an MBTI type: 'ABCD'.*ENFP"):
        normalise_type("ABCD")
    with pytest.raises(ValueError):
        bits_to_type([1, 0, 1])


def test_type_distribution_is_the_product_of_axis_probabilities():
    probs = np.array([[0.9, 0.2, 0.4, 0.7], [0.5, 0.5, 0.5, 0.5]])
    dist = type_probabilities(probs)
    assert dist.shape == (2, 16)
    np.testing.assert_allclose(dist.sum(axis=1), 1.0)
    # P(ENTJ) = P(E) P(N) P(T) P(J)
    assert dist[0, TYPES.index("ENTJ")] == pytest.approx(0.9 * 0.8 * 0.4 * 0.7)
    np.testing.assert_allclose(dist[1], 1 / 16)
    assert TYPES[int(dist[0].argmax())] == predicted_types(probs)[0] == "ENFJ"


def test_korean_nicknames_cover_the_community_names():
    expected = {
        "인프피": "INFP", "인프제": "INFJ", "인티피": "INTP", "인팁": "INTP", "인티제": "INTJ", "잇프피": "ISFP",
        "잇프제": "ISFJ", "잇팁": "ISTP", "잇티제": "ISTJ", "엔프피": "ENFP", "엔프제": "ENFJ", "엔팁": "ENTP",
        "엔티제": "ENTJ", "엣프피": "ESFP", "엣프제": "ESFJ", "엣팁": "ESTP", "엣티제": "ESTJ",
        "앤프제": "ENFJ", "엥뿌삐": "ENFP", "인푸제": "INFJ", "엔픞": "ENFP", "인픞": "INFP",
    }
    for name, mbti in expected.items():
        assert KOREAN_NICKNAMES[name] == mbti, name
    assert set(KOREAN_NICKNAMES.values()) == set(TYPES)

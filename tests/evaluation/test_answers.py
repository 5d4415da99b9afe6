import pytest

from calibprune.evaluation.answers import numbers_match, parse_number


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,234", 1234.0),
        ("$5.50", 5.5),
        ("-3", -3.0),
        ("The answer is 7.", 7.0),
        ("3/4", 0.75),
        (" 42", 42.0),
        ("It costs $1,234.50.", 1234.5),
        ("10-3 = 7", 7.0),
        ("She has 5 apples and eats 2. The answer is 3. Then 9 more", 3.0),
        ("The answer is -$5.", -5.0),
        ("Total: 12,000,000 apples", 12_000_000.0),
        ("0.5 and .25", 0.25),
        ("1, 2, 3", 3.0),
        ("(-5)", -5.0),
        ("2.5%", 2.5),
        ("#### 72", 72.0),
        ("The answer is 18.\n\nQuestion: 4", 18.0),
        ("The Answer is 1 / 2 of them", 0.5),
    ],
)
def test_parse_number_extracts_the_final_number(text, expected):
    assert parse_number(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["", "no number here", "1/0", "__import__('os').system('true')"])
def test_parse_number_returns_none_without_a_number(text):
    assert parse_number(text) is None


def test_parse_number_never_evaluates_expressions():
    assert parse_number("2**10") == 10.0
    assert parse_number("(3+4)") == 4.0


def test_numbers_match_uses_a_relative_tolerance():
    assert numbers_match(100.005, 100.0)
    assert not numbers_match(100.5, 100.0)
    assert numbers_match(0.0, 0.0)
    assert not numbers_match(None, 3.0)

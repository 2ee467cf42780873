"""Answer checkers and scorer routing, on hand-written replies."""

import pytest

from trainpipe.evaluation.checks import (
    check_choice,
    check_exact,
    check_json,
    check_letter,
    check_number,
    check_word,
    check_word_case,
    format_ok,
    known_scorers,
    score_item,
)


@pytest.mark.parametrize(
    "reply,expected",
    [
        ("yes", 1.0),
        ("  Yes.\n", 1.0),
        ('"yes"', 1.0),
        ("**yes**", 1.0),
        ("yes, sure", 0.0),
        ("no", 0.0),
    ],
)
def test_exact_ignores_case_quotes_and_trailing_punctuation(reply, expected):
    assert check_exact(reply, "yes") == expected


@pytest.mark.parametrize(
    "reply,expected",
    [
        ("The capital is Paris.", 1.0),
        ("paris", 1.0),
        ("Parisian food", 0.0),
        ("Lyon", 0.0),
    ],
)
def test_word_needs_a_whole_word(reply, expected):
    assert check_word(reply, "Paris") == expected


def test_word_matches_phrases_with_punctuation_and_case_rules():
    assert check_word("Sure: 1, 2, 3, 4, 5!", "1, 2, 3, 4, 5") == 1.0
    assert check_word("1, 2, 3, 4, 56", "1, 2, 3, 4, 5") == 0.0
    assert check_word_case("It is HELLO.", "HELLO") == 1.0
    assert check_word_case("It is Hello.", "HELLO") == 0.0


@pytest.mark.parametrize(
    "reply,expected",
    [
        ("1000", 1.0),
        ("There are 1,000 grams.", 1.0),
        ("1000.0 g", 1.0),
        ("The answer is 100.", 0.0),
        ("about 1000, not 100", 1.0),
        ("100 or 1000", 0.0),
        ("none", 0.0),
    ],
)
def test_number_takes_the_first_number(reply, expected):
    assert check_number(reply, "1000") == expected


def test_number_handles_negative_and_zero():
    assert check_number("It freezes at 0 degrees", "0") == 1.0
    assert check_number("-5", "-5") == 1.0 and check_number("5", "-5") == 0.0


@pytest.mark.parametrize(
    "reply,expected",
    [
        ('{"name": "Ann"}', 1.0),
        ('Here you go: {"name":"Ann"} done', 1.0),
        ('{"name": "Bob"}', 0.0),
        ('{"name": "Ann", "x": 1}', 0.0),
        ("{broken", 0.0),
        ("no json", 0.0),
    ],
)
def test_json_compares_parsed_values(reply, expected):
    assert check_json(reply, '{"name": "Ann"}') == expected


@pytest.mark.parametrize(
    "reply,expected",
    [
        ("B", 1.0),
        ("b.", 1.0),
        ("**B**", 1.0),
        ("The first letter of the word 'banana' is 'B'.", 1.0),
        ('The first letter of "banana" is "b".', 1.0),
        ("The first letter of the word 'banana' is 'A'.", 0.0),
        ("The letter 'Ba' starts it", 0.0),
        ("The first letter is b", 0.0),
        ("banana", 0.0),
    ],
)
def test_letter_is_the_bare_reply_or_the_first_quoted_letter(reply, expected):
    assert check_letter(reply, "b") == expected


@pytest.mark.parametrize(
    "reply,expected",
    [
        ("Elephant", 1.0),
        ("An elephant is bigger than a mouse.", 1.0),
        ("A mouse is bigger than an elephant.", 0.0),
        ("Elephants.", 1.0),
        ("The mousetrap", 0.0),
        ("Neither", 0.0),
        ("mouse", 0.0),
    ],
)
def test_choice_takes_the_option_named_first(reply, expected):
    assert check_choice(reply, "elephant|mouse") == expected


def test_think_blocks_are_ignored():
    assert check_exact("<think>maybe no</think>yes", "yes") == 1.0
    assert check_number("<think>12 or 7?</think> 7", "7") == 1.0


def test_score_item_routes_to_task_families_and_checkers():
    assert score_item("arithmetic", "Answer: 42", "42") == 1.0
    assert score_item("arithmetic", "Answer: 41", "42") == 0.0
    assert score_item("exact", "ok", "ok") == 1.0
    assert format_ok("arithmetic", "Answer: 42") is True and format_ok("exact", "ok") is None
    assert {"arithmetic", "sat", "exact", "number", "json", "choice", "letter"} <= set(known_scorers())

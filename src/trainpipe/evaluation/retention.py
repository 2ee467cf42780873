"""Retention suite: built-in everyday prompts with checkable answers, narrowed to those the base model gets right,
so the report shows what training cost. Deterministic and offline; the selection comes from base's cached results."""
from __future__ import annotations

# (checker, prompt, answer). Facts and formats a small instruct model usually handles; the base model's
# own results decide which ones count, so an item it misses never penalises the trained models.
_ONE_WORD = " Answer with one word."
_NUMBER = " Answer with just the number."
ITEMS: tuple[tuple[str, str, str], ...] = (
    ("word", "What is the capital of France?" + _ONE_WORD, "Paris"),
    ("word", "What is the capital of Japan?" + _ONE_WORD, "Tokyo"),
    ("word", "What is the capital of Italy?" + _ONE_WORD, "Rome"),
    ("word", "What is the capital of Germany?" + _ONE_WORD, "Berlin"),
    ("word", "What is the capital of Spain?" + _ONE_WORD, "Madrid"),
    ("word", "What is the capital of the United Kingdom?" + _ONE_WORD, "London"),
    ("word", "What is the capital of Russia?" + _ONE_WORD, "Moscow"),
    ("word", "What is the capital of Egypt?" + _ONE_WORD, "Cairo"),
    ("word", "What is the largest planet in our solar system?" + _ONE_WORD, "Jupiter"),
    ("word", "What color is the sky on a clear day?" + _ONE_WORD, "blue"),
    ("word", "What color is fresh grass?" + _ONE_WORD, "green"),
    ("word", "Who wrote the play Romeo and Juliet?", "Shakespeare"),
    ("word", "What is the chemical formula of water?", "H2O"),
    ("word", "Which day comes after Monday?" + _ONE_WORD, "Tuesday"),
    ("word", "Which month comes after January?" + _ONE_WORD, "February"),
    ("word", "What is the opposite of hot?" + _ONE_WORD, "cold"),
    ("word", "What is the opposite of up?" + _ONE_WORD, "down"),
    ("word", "What is the opposite of day?" + _ONE_WORD, "night"),
    ("word", "What is the opposite of black?" + _ONE_WORD, "white"),
    ("word", "What animal says 'meow'?" + _ONE_WORD, "cat"),
    ("word", "Spell the word 'cat' backwards.", "tac"),
    ("word", "Spell the word 'dog' backwards.", "god"),
    ("number", "How many days are in a week?" + _NUMBER, "7"),
    ("number", "How many months are in a year?" + _NUMBER, "12"),
    ("number", "How many hours are in a day?" + _NUMBER, "24"),
    ("number", "How many legs does a spider have?" + _NUMBER, "8"),
    ("number", "How many minutes are in an hour?" + _NUMBER, "60"),
    ("number", "How many centimeters are in one meter?" + _NUMBER, "100"),
    ("number", "How many grams are in one kilogram?" + _NUMBER, "1000"),
    ("number", "How many meters are in one kilometer?" + _NUMBER, "1000"),
    ("number", "How many millimeters are in one centimeter?" + _NUMBER, "10"),
    ("number", "At what temperature in degrees Celsius does water freeze?" + _NUMBER, "0"),
    ("number", "How many letters are in the word 'dog'?" + _NUMBER, "3"),
    ("number", "How many letters are in the word 'house'?" + _NUMBER, "5"),
    ("number", "How many sides does a triangle have?" + _NUMBER, "3"),
    ("number", "How many wheels does a bicycle have?" + _NUMBER, "2"),
    ("exact", "Reply with exactly the word 'yes' and nothing else.", "yes"),
    ("exact", "Reply with exactly the word 'banana' and nothing else.", "banana"),
    ("exact", "Reply with exactly the word 'hello' and nothing else.", "hello"),
    ("exact", "Reply with exactly the word 'seven' and nothing else.", "seven"),
    ("exact", "Repeat this word exactly: orange", "orange"),
    ("word_case", "Write the word 'hello' in capital letters.", "HELLO"),
    ("word_case", "Write the word 'apple' in capital letters.", "APPLE"),
    ("word_case", "Write the word 'WORLD' in lowercase letters.", "world"),
    ("word", "List the numbers from 1 to 5, separated by commas.", "1, 2, 3, 4, 5"),
    ("json", 'Reply with a JSON object that has the key "name" with the value "Ann".', '{"name": "Ann"}'),
    ("json", 'Reply with a JSON object that has the key "age" with the number 30.', '{"age": 30}'),
)


def candidate_items() -> list[dict]:
    """Every built-in item as a suite item; ids are stable positions so results can be matched back."""
    return [{"id": f"retention-{i:03d}", "prompt": prompt, "answer": answer, "task": check}
            for i, (check, prompt, answer) in enumerate(ITEMS)]


def kept_indices(scores: list[float]) -> list[int]:
    """Items the base model answered fully correctly (greedy, so its result is reproducible)."""
    return [i for i, s in enumerate(scores) if s >= 1.0]


def subset_result(result: dict, indices: list[int], level: float) -> dict:
    """A model's task result restricted to some items, recomputed from its per-item records."""
    from trainpipe.evaluation.runner import summarize_items

    items = [result["items"][i] for i in indices]
    keep = {it["id"] for it in items}
    return {**result, **summarize_items(items, level),
            "examples": [e for e in result.get("examples", []) if e["id"] in keep]}

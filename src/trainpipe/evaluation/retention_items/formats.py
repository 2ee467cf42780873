"""Built-in retention items: output formats (see the package docstring)."""

from __future__ import annotations

from trainpipe.evaluation.retention_items._common import _item
from trainpipe.evaluation.retention_items.facts import _CAPITALS

_JSON = (
    ("name", "Ann"),
    ("city", "Paris"),
    ("color", "blue"),
    ("animal", "cat"),
    ("fruit", "apple"),
    ("pet", "dog"),
    ("day", "Monday"),
    ("country", "Spain"),
    ("food", "pizza"),
    ("planet", "Mars"),
    ("sport", "tennis"),
    ("drink", "tea"),
    ("month", "May"),
    ("shape", "circle"),
    ("tool", "hammer"),
    ("language", "English"),
)
_JSON_CAPITALS = ("France", "Japan", "Germany", "Italy", "Spain", "Egypt", "Greece", "Norway")
_LISTS = (
    ("apple", "banana", "cherry"),
    ("red", "green", "blue"),
    ("cat", "dog", "bird"),
    ("one", "two", "three"),
    ("sun", "moon", "star"),
    ("milk", "bread", "eggs"),
    ("north", "south", "east"),
    ("pen", "paper", "ink"),
    ("rain", "snow", "wind"),
    ("salt", "pepper", "sugar"),
    ("car", "bus", "train"),
    ("rose", "lily", "tulip"),
    ("lemon", "lime", "orange"),
    ("hat", "scarf", "gloves"),
    ("piano", "drum", "flute"),
    ("oak", "pine", "elm"),
    ("spring", "summer", "autumn"),
    ("fork", "knife", "spoon"),
    ("gold", "silver", "bronze"),
    ("tea", "coffee", "juice"),
    ("lion", "tiger", "bear"),
    ("London", "Paris", "Rome"),
    ("chair", "table", "lamp"),
    ("rice", "beans", "corn"),
)
_RANGES = (
    (1, 5),
    (1, 4),
    (2, 6),
    (3, 7),
    (5, 9),
    (1, 6),
    (4, 8),
    (6, 10),
    (1, 3),
    (1, 7),
    (2, 5),
    (3, 6),
    (4, 7),
    (5, 8),
    (7, 10),
    (1, 8),
    (10, 14),
    (20, 24),
)
# (statement, whether it is true): as many true as false, so answering "False" to everything scores half.
_TRUE_FALSE = (
    ("The sun is hot.", True),
    ("Paris is in France.", True),
    ("Snow is cold.", True),
    ("Fish live in water.", True),
    ("A week has seven days.", True),
    ("Ice is frozen water.", True),
    ("Cats are animals.", True),
    ("The Earth goes around the sun.", True),
    ("Rome is in Italy.", True),
    ("Bees make honey.", True),
    ("Grass is green.", True),
    ("Birds have feathers.", True),
    ("The sun is cold.", False),
    ("Fish have legs.", False),
    ("London is in Spain.", False),
    ("Snow is hot.", False),
    ("Cats can fly.", False),
    ("The moon is made of cheese.", False),
    ("A week has ten days.", False),
    ("Fire is cold.", False),
    ("Tokyo is in Brazil.", False),
    ("Dogs have six legs.", False),
    ("Ice is hot.", False),
    ("Cows can talk.", False),
)


def formats() -> list[dict]:
    out = []
    # copy a JSON object 9/16, fill in its value 9/16 (described in words, 6/26: left out)
    for k, v in _JSON:
        out.append(
            _item(
                "format",
                "json_copy",
                k,
                "json",
                f'Reply with this JSON object and nothing else: {{"{k}": "{v}"}}',
                f'{{"{k}": "{v}"}}',
            )
        )
        out.append(
            _item(
                "format",
                "json_fill",
                k,
                "json",
                f'Fill in this JSON object with the value "{v}": {{"{k}": ""}}',
                f'{{"{k}": "{v}"}}',
            )
        )
    # a fact as JSON 3/8
    capitals = dict(_CAPITALS)
    for country in _JSON_CAPITALS:
        out.append(
            _item(
                "format",
                "json_capital",
                country,
                "json",
                f'What is the capital of {country}? Reply as JSON: {{"capital": "..."}}',
                f'{{"capital": "{capitals[country]}"}}',
            )
        )
    # comma-separated list 12/24, numbers from a to b 15/18
    for words in _LISTS:
        out.append(
            _item(
                "format",
                "comma",
                "_".join(words),
                "word",
                f"Write these words as a comma-separated list: {' '.join(words)}",
                ", ".join(words),
            )
        )
    for a, b in _RANGES:
        out.append(
            _item(
                "format",
                "range",
                f"{a}_{b}",
                "word",
                f"List the numbers from {a} to {b}, separated by commas.",
                ", ".join(str(n) for n in range(a, b + 1)),
            )
        )
    # true or false 13/24: the one named first counts ("False. The sun is not cold.")
    for statement, true in _TRUE_FALSE:
        out.append(
            _item(
                "format",
                "true_false",
                statement,
                "choice",
                f"True or false: {statement}",
                "true|false" if true else "false|true",
            )
        )
    return out

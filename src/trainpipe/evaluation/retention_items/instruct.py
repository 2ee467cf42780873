"""Built-in retention items: instruction following (see the package docstring)."""

from __future__ import annotations

from trainpipe.evaluation.retention_items._common import _LETTER, _NUMBER, _item

_WORDS = (
    "banana",
    "hello",
    "seven",
    "orange",
    "table",
    "river",
    "purple",
    "window",
    "garden",
    "pencil",
    "cloud",
    "tiger",
    "summer",
    "bread",
    "music",
    "silver",
    "candle",
    "forest",
    "mirror",
    "rocket",
    "pillow",
    "castle",
    "island",
    "ladder",
    "marble",
    "butter",
    "copper",
    "meadow",
    "yellow",
    "basket",
    "dolphin",
    "jacket",
    "kettle",
    "lemon",
    "monkey",
    "needle",
    "ocean",
    "parrot",
    "quilt",
    "rabbit",
)
_SENTENCES = (
    "The cat sat on the mat",
    "I like green apples",
    "Birds fly south in winter",
    "We walked home",
    "The old red car stopped",
    "She reads a book every night",
    "Dogs bark",
    "Open the door please",
    "The sun is shining today",
    "My brother plays the guitar",
    "We ate soup for lunch",
    "The train leaves at noon",
    "Please close the window",
    "The garden is full of roses",
    "He painted the fence blue",
    "The children played in the park",
    "I forgot my umbrella",
    "The baby is sleeping",
    "Our teacher smiled at us",
    "The river flows to the sea",
    "She bought fresh bread",
    "The wind blew the leaves away",
    "They built a small boat",
    "The library opens early",
    "A bird sang outside",
    "The soup is too hot",
    "He lost his keys again",
    "The stars came out at night",
    "We planted a tree",
    "The shop sells old maps",
    "The dog chased the ball",
    "Snow fell all morning",
)
_SPELLED = (
    ("four", 4),
    ("six", 6),
    ("nine", 9),
    ("thirteen", 13),
    ("eighteen", 18),
    ("thirty", 30),
    ("fifty", 50),
    ("one hundred", 100),
)


def instruct() -> list[dict]:
    out = []
    # first letter 32/40 (a quoted letter: "The first letter of the word 'banana' is 'B'.")
    for w in _WORDS:
        out.append(
            _item("instruct", "first", w, "letter", f"What is the first letter of the word '{w}'?" + _LETTER, w[0])
        )
    # copy 13/16, repeat after me 12/16: half the sentences each
    for i, s in enumerate(_SENTENCES):
        if i % 2 == 0:
            out.append(_item("instruct", "copy", s, "exact", f"Repeat this sentence exactly: {s}.", s))
        else:
            out.append(_item("instruct", "repeat_after", s, "exact", f"Repeat after me: {s}.", s))
    # a number written in words, as digits 5/8
    for word, n in _SPELLED:
        out.append(
            _item("instruct", "in_digits", word, "number", f"Write the number '{word}' using digits." + _NUMBER, n)
        )
    return out

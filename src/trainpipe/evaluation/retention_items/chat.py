"""Built-in retention items: multi-turn chat (see the package docstring)."""

from __future__ import annotations

from trainpipe.evaluation.retention_items._common import _NUMBER, _ONE_WORD, _item
from trainpipe.evaluation.retention_items.facts import _CAPITALS, _OPPOSITES

_PEOPLE = (
    "Sam",
    "Maria",
    "Oliver",
    "Priya",
    "Lucas",
    "Hannah",
    "Diego",
    "Emma",
    "Kenji",
    "Fatima",
    "Noah",
    "Chloe",
    "Ivan",
    "Grace",
    "Omar",
    "Julia",
)
_PETS = (
    ("dog", "Rex"),
    ("cat", "Luna"),
    ("dog", "Buddy"),
    ("cat", "Milo"),
    ("rabbit", "Coco"),
    ("parrot", "Kiwi"),
    ("dog", "Max"),
    ("cat", "Bella"),
    ("dog", "Charlie"),
    ("cat", "Oscar"),
    ("hamster", "Peanut"),
    ("horse", "Storm"),
    ("dog", "Rocky"),
    ("cat", "Simba"),
    ("goldfish", "Bubbles"),
    ("rabbit", "Daisy"),
    ("dog", "Bailey"),
    ("cat", "Smokey"),
    ("turtle", "Shelly"),
    ("parrot", "Polly"),
)
_LUCKY = (7, 13, 21, 42, 58, 99, 3, 5, 9, 11, 17, 23, 27, 31, 36, 44)
_HOUSES = (12, 27, 45, 8, 63, 19, 101, 34)
_CODES = (
    "falcon",
    "maple",
    "harbor",
    "violet",
    "thunder",
    "pebble",
    "lantern",
    "comet",
    "anchor",
    "sparrow",
    "canyon",
    "ember",
    "walnut",
    "glacier",
    "meteor",
    "orchid",
)
_FOLLOW_CAPITALS = (
    ("France", "Italy"),
    ("Germany", "Spain"),
    ("Japan", "Egypt"),
    ("Russia", "Greece"),
    ("Italy", "Norway"),
    ("Spain", "Portugal"),
    ("France", "Germany"),
    ("Italy", "Japan"),
    ("Spain", "Russia"),
    ("Egypt", "China"),
    ("Greece", "Canada"),
    ("Norway", "Sweden"),
    ("Sweden", "Finland"),
    ("Portugal", "Ireland"),
    ("Austria", "Hungary"),
    ("Japan", "Thailand"),
    ("China", "Vietnam"),
    ("Peru", "Chile"),
    ("Cuba", "Kenya"),
    ("Iran", "Iraq"),
)
_FOLLOW_OPPOSITES = (
    ("hot", "up"),
    ("day", "black"),
    ("up", "hot"),
    ("fast", "happy"),
    ("black", "day"),
    ("wet", "full"),
    ("early", "left"),
    ("top", "north"),
    ("rich", "love"),
    ("boy", "king"),
    ("good", "up"),
    ("high", "day"),
    ("rich", "fast"),
    ("north", "east"),
    ("love", "top"),
    ("king", "wet"),
    ("first", "full"),
    ("inside", "early"),
    ("black", "boy"),
)


def chat() -> list[dict]:
    out = []
    # "My name is Sam." ... "What is my name?" 6/16, with or without the name in the reply between
    for i, name in enumerate(_PEOPLE):
        reply = f"Nice to meet you, {name}! How can I help you today?" if i % 2 else "Nice to meet you! How can I help?"
        out.append(
            _item(
                "chat",
                "name",
                name,
                "word",
                "What is my name?" + _ONE_WORD,
                name,
                [("user", f"Hi! My name is {name}."), ("assistant", reply)],
            )
        )
    # a pet's name 20/20, a lucky number 16/16, brothers 8/8, sisters 7/8, a house number 7/8, a code word 7/16
    for animal, name in _PETS:
        out.append(
            _item(
                "chat",
                "pet",
                f"{animal}_{name}",
                "word",
                f"What is my {animal}'s name?" + _ONE_WORD,
                name,
                [("user", f"I have a {animal} called {name}."), ("assistant", f"What a lovely {animal}!")],
            )
        )
    for n in _LUCKY:
        out.append(
            _item(
                "chat",
                "lucky",
                n,
                "number",
                "What is my lucky number?" + _NUMBER,
                n,
                [("user", f"My lucky number is {n}."), ("assistant", "Great, I will keep that in mind.")],
            )
        )
    for n in range(2, 10):
        out.append(
            _item(
                "chat",
                "brothers",
                n,
                "number",
                "How many brothers do I have?" + _NUMBER,
                n,
                [("user", f"I have {n} brothers and no sisters."), ("assistant", "That sounds like a lively family!")],
            )
        )
        out.append(
            _item(
                "chat",
                "sisters",
                n,
                "number",
                "How many sisters do I have?" + _NUMBER,
                n,
                [("user", f"I have {n} sisters."), ("assistant", "How nice, a big family!")],
            )
        )
    for n in _HOUSES:
        out.append(
            _item(
                "chat",
                "house",
                n,
                "number",
                "What is my house number?" + _NUMBER,
                n,
                [("user", f"I live at number {n} on Oak Street."), ("assistant", "Thanks, I have noted your address.")],
            )
        )
    for word in _CODES:
        out.append(
            _item(
                "chat",
                "code",
                word,
                "word",
                "What is the code word? Reply with just the word.",
                word,
                [("user", f"Please remember this code word: {word}."), ("assistant", "Okay, I will remember it.")],
            )
        )
    # a follow-up that needs the earlier question: capitals 20/20, opposites 16/19
    capitals, opposites = dict(_CAPITALS), dict(_OPPOSITES)
    for first, second in _FOLLOW_CAPITALS:
        out.append(
            _item(
                "chat",
                "follow_up",
                f"{first}_{second}",
                "word",
                f"And what about {second}?" + _ONE_WORD,
                capitals[second],
                [
                    ("user", f"What is the capital of {first}?"),
                    ("assistant", f"The capital of {first} is {capitals[first]}."),
                ],
            )
        )
    for first, second in _FOLLOW_OPPOSITES:
        out.append(
            _item(
                "chat",
                "follow_opposite",
                f"{first}_{second}",
                "word",
                f"And the opposite of {second}?" + _ONE_WORD,
                opposites[second],
                [
                    ("user", f"What is the opposite of {first}?"),
                    ("assistant", f"The opposite of {first} is {opposites[first]}."),
                ],
            )
        )
    return out

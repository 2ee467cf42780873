"""Built-in retention items: short reasoning (see the package docstring)."""

from __future__ import annotations

from trainpipe.evaluation.retention_items._common import _ONE_WORD, _item

# (adjective, the one it describes, the other): asked in both orders, answered with the right noun first.
_COMPARE = (
    ("bigger", "an elephant", "a mouse"),
    ("heavier", "a brick", "a feather"),
    ("faster", "a cheetah", "a turtle"),
    ("taller", "a giraffe", "a dog"),
    ("hotter", "the sun", "the moon"),
    ("longer", "a year", "a day"),
    ("smaller", "an ant", "a horse"),
    ("heavier", "a car", "a bicycle"),
    ("colder", "ice", "hot soup"),
    ("bigger", "a whale", "a goldfish"),
    ("faster", "an airplane", "a bicycle"),
    ("slower", "a snail", "a rabbit"),
    ("longer", "an hour", "a minute"),
    ("taller", "a skyscraper", "a house"),
    ("lighter", "a feather", "a rock"),
    ("smaller", "a pea", "a watermelon"),
    ("older", "a grandmother", "a baby"),
    ("louder", "thunder", "a whisper"),
    ("bigger", "a horse", "a cat"),
    ("heavier", "an elephant", "a cat"),
    ("faster", "a horse", "a snail"),
    ("taller", "a tree", "a flower"),
    ("smaller", "a mouse", "an elephant"),
    ("colder", "winter", "summer"),
    ("hotter", "summer", "winter"),
    ("longer", "a week", "a day"),
    ("shorter", "a minute", "an hour"),
    ("bigger", "a mountain", "a hill"),
    ("heavier", "a piano", "a pencil"),
    ("wider", "an ocean", "a river"),
    ("older", "a grandfather", "a child"),
    ("slower", "a turtle", "a horse"),
    ("brighter", "the sun", "a candle"),
    ("softer", "a pillow", "a rock"),
    ("sweeter", "honey", "salt"),
    ("deeper", "the ocean", "a puddle"),
)
_PAIRS = (
    ("Tom", "Sam"),
    ("Ann", "Lisa"),
    ("Ben", "Max"),
    ("Mia", "Zoe"),
    ("Lucy", "Paul"),
    ("Adam", "Nina"),
    ("Sara", "Leo"),
    ("Jack", "Emma"),
    ("Kate", "Ryan"),
    ("Tim", "Anna"),
    ("Eva", "Mark"),
    ("Dan", "Rosa"),
)
# Two facts, then a question about one of them: (question, right answer, the answer about the other fact).
_READING = (
    ("Tom has a red ball and Ann has a blue ball. What color is Ann's ball?", "blue", "red"),
    ("Tom has a red ball and Ann has a blue ball. What color is Tom's ball?", "red", "blue"),
    ("Sam is in the kitchen and Lisa is in the garden. Where is Lisa?", "garden", "kitchen"),
    ("Sam is in the kitchen and Lisa is in the garden. Where is Sam?", "kitchen", "garden"),
    (
        "The green box is on the table and the yellow box is on the floor. What color is the box on the floor?",
        "yellow",
        "green",
    ),
    ("The green box is on the table and the yellow box is on the floor. Where is the green box?", "table", "floor"),
    ("Mia likes apples and Ben likes pears. Which fruit does Ben like?", "pears", "apples"),
    ("Mia likes apples and Ben likes pears. Which fruit does Mia like?", "apples", "pears"),
    ("The cat is black and the dog is white. What color is the dog?", "white", "black"),
    ("The cat is black and the dog is white. What color is the cat?", "black", "white"),
    ("Anna lives in Rome and Marco lives in Milan. Where does Marco live?", "Milan", "Rome"),
    ("Anna lives in Rome and Marco lives in Milan. Where does Anna live?", "Rome", "Milan"),
    ("The shop opens on Monday and closes on Friday. On which day does the shop close?", "Friday", "Monday"),
    ("The shop opens on Monday and closes on Friday. On which day does the shop open?", "Monday", "Friday"),
    ("Leo plays the piano and Nina plays the violin. Which instrument does Nina play?", "violin", "piano"),
    ("Leo plays the piano and Nina plays the violin. Which instrument does Leo play?", "piano", "violin"),
    ("Kate drinks tea in the morning and coffee in the evening. What does Kate drink in the evening?", "coffee", "tea"),
    ("Kate drinks tea in the morning and coffee in the evening. What does Kate drink in the morning?", "tea", "coffee"),
    ("The blue car is fast and the red car is slow. Which car is slow?", "red", "blue"),
    ("The blue car is fast and the red car is slow. Which car is fast?", "blue", "red"),
    ("Paul is a doctor and Rosa is a teacher. What is Rosa's job?", "teacher", "doctor"),
    ("Paul is a doctor and Rosa is a teacher. What is Paul's job?", "doctor", "teacher"),
    ("A jar holds honey and a bottle holds milk. What is in the bottle?", "milk", "honey"),
    ("A jar holds honey and a bottle holds milk. What is in the jar?", "honey", "milk"),
    ("Dan went to the beach and Eva went to the mountains. Where did Eva go?", "mountains", "beach"),
    ("Dan went to the beach and Eva went to the mountains. Where did Dan go?", "beach", "mountains"),
    ("The big dog is brown and the small dog is grey. What color is the big dog?", "brown", "grey"),
    ("The big dog is brown and the small dog is grey. What color is the small dog?", "grey", "brown"),
    ("Lucy reads in the library and Adam reads in the park. Where does Adam read?", "park", "library"),
    ("Lucy reads in the library and Adam reads in the park. Where does Lucy read?", "library", "park"),
    ("The soup is hot and the salad is cold. Which dish is cold?", "salad", "soup"),
    ("The soup is hot and the salad is cold. Which dish is hot?", "soup", "salad"),
)


def reasoning() -> list[dict]:
    out = []
    # which is bigger/heavier/...: 31/72, asked in both orders (a reply that repeats the question names the first)
    for adj, right, wrong in _COMPARE:
        answer = f"{right.split()[-1]}|{wrong.split()[-1]}"  # the noun, without its article
        for a, b in ((right, wrong), (wrong, right)):
            out.append(
                _item(
                    "reason", "compare", f"{adj}_{a}_{b}", "choice", f"Which is {adj}, {a} or {b}?" + _ONE_WORD, answer
                )
            )
    # "A is taller than B. Who is taller?" 6/12, "... older ... Who is older?" 8/12 (the reversed questions,
    # who is shorter / younger, 4/24: left out)
    for first, second in _PAIRS:
        for kind in ("taller", "older"):
            out.append(
                _item(
                    "reason",
                    kind,
                    first,
                    "choice",
                    f"{first} is {kind} than {second}. Who is {kind}?" + _ONE_WORD,
                    f"{first}|{second}",
                )
            )
    # two facts, a question about one 19/32
    for question, right, other in _READING:
        out.append(_item("reason", "reading", question, "choice", question + _ONE_WORD, f"{right}|{other}"))
    return out

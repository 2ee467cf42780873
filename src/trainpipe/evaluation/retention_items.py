"""Built-in retention Q&A content: everyday prompts with checkable answers in five categories (instruction
following, output formats, everyday facts, short reasoning, multi-turn chat), built from word lists and templates
written for this project. Pure data; an id names its category, template and slot, so adding an item never moves
another one, and no item is two-number addition or subtraction (the default training task)."""
from __future__ import annotations

import re

CATEGORIES = ("instruct", "format", "fact", "reason", "chat")
_ONE_WORD = " Answer with one word."
_NUMBER = " Answer with just the number."
_LETTER = " Reply with just the letter."
_YES_NO = " Answer yes or no."


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_")


def _item(category: str, kind: str, slot, task: str, prompt: str, answer, history=None) -> dict:
    item = {"id": f"retention-{category}-{kind}-{_slug(slot)}", "prompt": prompt, "answer": str(answer), "task": task}
    if history:
        item["history"] = [{"role": role, "content": text} for role, text in history]
    return item


# ---- instruction following ------------------------------------------------------------------------------

_WORDS = ("banana", "hello", "seven", "orange", "table", "river", "purple", "window", "garden", "pencil", "cloud",
          "tiger", "summer", "bread", "music", "silver", "candle", "forest", "mirror", "rocket", "pillow", "castle",
          "island", "ladder", "marble", "butter", "copper", "meadow", "yellow", "basket")
_SENTENCES = ("The cat sat on the mat", "I like green apples", "Birds fly south in winter", "We walked home",
              "The old red car stopped", "She reads a book every night", "Dogs bark", "Open the door please")


def instruct() -> list[dict]:
    out = []
    for i, w in enumerate(_WORDS):
        out.append(_item("instruct", "exact", w, "exact", f"Reply with exactly the word '{w}' and nothing else.", w))
        out.append(_item("instruct", "repeat", w, "exact", f"Repeat this word exactly: {w}", w))
        out.append(_item("instruct", "upper", w, "word_case", f"Write the word '{w}' in capital letters.", w.upper()))
        out.append(_item("instruct", "lower", w, "word_case", f"Write the word '{w.upper()}' in lowercase letters.", w))
        out.append(_item("instruct", "first", w, "letter", f"What is the first letter of the word '{w}'?" + _LETTER,
                         w[0]))
        out.append(_item("instruct", "last", w, "letter", f"What is the last letter of the word '{w}'?" + _LETTER,
                         w[-1]))
        if i % 3 == 0:
            out.append(_item("instruct", "twice", w, "exact",
                             f"Write the word '{w}' two times, separated by a space, and nothing else.", f"{w} {w}"))
    for s in _SENTENCES:
        out.append(_item("instruct", "count", s, "number", f"How many words are in the sentence '{s}'?" + _NUMBER,
                         len(s.split())))
        out.append(_item("instruct", "copy", s, "exact", f"Repeat this sentence exactly: {s}.", s))
    return out


# ---- output formats -------------------------------------------------------------------------------------

_JSON_TEXT = (("name", "Ann"), ("city", "Paris"), ("color", "blue"), ("animal", "cat"), ("fruit", "apple"),
              ("day", "Monday"), ("language", "English"), ("pet", "dog"), ("country", "Spain"), ("food", "pizza"),
              ("planet", "Mars"), ("sport", "tennis"), ("drink", "tea"), ("month", "May"), ("shape", "circle"),
              ("tool", "hammer"))
_JSON_NUMBER = (("age", 30), ("year", 2020), ("count", 5), ("score", 10), ("price", 12), ("size", 3), ("level", 7),
                ("height", 180), ("weight", 65), ("page", 42))
_LISTS = (("apple", "banana", "cherry"), ("red", "green", "blue"), ("cat", "dog", "bird"), ("one", "two", "three"),
          ("sun", "moon", "star"), ("milk", "bread", "eggs"), ("north", "south", "east"), ("pen", "paper", "ink"),
          ("rain", "snow", "wind"), ("salt", "pepper", "sugar"), ("car", "bus", "train"), ("rose", "lily", "tulip"))
_RANGES = ((1, 5), (1, 4), (2, 6), (3, 7), (5, 9), (1, 6), (4, 8), (6, 10))
# (question, answer): balanced between yes and no so that a model cannot pass by always agreeing.
_YES_NO_FACTS = (
    ("Is the sun a star?", "yes"), ("Is a whale a mammal?", "yes"), ("Is ice cold?", "yes"),
    ("Do fish live in water?", "yes"), ("Is grass green?", "yes"), ("Is Paris in France?", "yes"),
    ("Do birds have feathers?", "yes"), ("Is snow white?", "yes"), ("Is the Earth round?", "yes"),
    ("Do cows give milk?", "yes"), ("Is Tokyo in Japan?", "yes"), ("Is a tomato red when it is ripe?", "yes"),
    ("Is water wet?", "yes"), ("Do bees make honey?", "yes"), ("Is a dog an animal?", "yes"),
    ("Is the sky green on a clear day?", "no"), ("Can a fish climb trees?", "no"), ("Is fire cold?", "no"),
    ("Is the moon made of cheese?", "no"), ("Do cats bark?", "no"), ("Is London in Spain?", "no"),
    ("Can a car fly like a bird?", "no"), ("Is a banana blue?", "no"), ("Do humans have three eyes?", "no"),
    ("Is the sun cold?", "no"), ("Is a spider a bird?", "no"), ("Do snakes have legs?", "no"),
    ("Is Berlin in Italy?", "no"), ("Can a chair walk?", "no"), ("Is milk black?", "no"),
)


def formats() -> list[dict]:
    out = []
    for k, v in _JSON_TEXT:
        out.append(_item("format", "json_text", k, "json",
                         f'Reply with a JSON object that has the key "{k}" with the value "{v}".', f'{{"{k}": "{v}"}}'))
    for k, v in _JSON_NUMBER:
        out.append(_item("format", "json_number", k, "json",
                         f'Reply with a JSON object that has the key "{k}" with the number {v}.', f'{{"{k}": {v}}}'))
    for words in _LISTS:
        out.append(_item("format", "comma", "_".join(words), "word",
                         f"Write these words as a comma-separated list: {' '.join(words)}", ", ".join(words)))
    for a, b in _RANGES:
        out.append(_item("format", "range", f"{a}_{b}", "word",
                         f"List the numbers from {a} to {b}, separated by commas.",
                         ", ".join(str(n) for n in range(a, b + 1))))
    for question, answer in _YES_NO_FACTS:
        out.append(_item("format", "yes_no", question, "yes_no", question + _YES_NO, answer))
    return out


# ---- everyday facts -------------------------------------------------------------------------------------

_CAPITALS = (("France", "Paris"), ("Japan", "Tokyo"), ("Italy", "Rome"), ("Germany", "Berlin"), ("Spain", "Madrid"),
             ("the United Kingdom", "London"), ("Russia", "Moscow"), ("Egypt", "Cairo"), ("China", "Beijing"),
             ("Canada", "Ottawa"), ("Australia", "Canberra"), ("India", "Delhi"), ("Greece", "Athens"),
             ("Portugal", "Lisbon"), ("Ireland", "Dublin"), ("Norway", "Oslo"), ("Sweden", "Stockholm"),
             ("Finland", "Helsinki"), ("Denmark", "Copenhagen"), ("Poland", "Warsaw"), ("Austria", "Vienna"),
             ("Hungary", "Budapest"), ("the Netherlands", "Amsterdam"), ("Belgium", "Brussels"),
             ("Turkey", "Ankara"), ("Kenya", "Nairobi"), ("Argentina", "Buenos Aires"), ("Peru", "Lima"),
             ("Cuba", "Havana"), ("South Korea", "Seoul"), ("Thailand", "Bangkok"), ("Indonesia", "Jakarta"),
             ("the Philippines", "Manila"), ("Iran", "Tehran"), ("Iraq", "Baghdad"), ("Saudi Arabia", "Riyadh"),
             ("the Czech Republic", "Prague"), ("Scotland", "Edinburgh"), ("Romania", "Bucharest"),
             ("Bulgaria", "Sofia"), ("Serbia", "Belgrade"), ("Vietnam", "Hanoi"), ("Chile", "Santiago"),
             ("Venezuela", "Caracas"), ("Nepal", "Kathmandu"), ("Iceland", "Reykjavik"))
_LANGUAGES = (("France", "French"), ("Germany", "German"), ("Spain", "Spanish"), ("Italy", "Italian"),
              ("Japan", "Japanese"), ("Brazil", "Portuguese"), ("Russia", "Russian"), ("Greece", "Greek"),
              ("the Netherlands", "Dutch"), ("Mexico", "Spanish"), ("Egypt", "Arabic"), ("Poland", "Polish"),
              ("Sweden", "Swedish"), ("Turkey", "Turkish"), ("South Korea", "Korean"), ("Portugal", "Portuguese"))
_CONTINENTS = (("Kenya", "Africa"), ("Brazil", "South America"), ("France", "Europe"), ("Japan", "Asia"),
               ("Canada", "North America"), ("Egypt", "Africa"), ("India", "Asia"), ("Argentina", "South America"),
               ("Germany", "Europe"), ("China", "Asia"), ("Nigeria", "Africa"), ("Mexico", "North America"),
               ("Italy", "Europe"), ("Thailand", "Asia"), ("Peru", "South America"), ("Spain", "Europe"))
_COLOURS = (("a ripe banana", "yellow"), ("fresh grass", "green"), ("the sky on a clear day", "blue"),
            ("fresh snow", "white"), ("coal", "black"), ("a ripe tomato", "red"), ("milk", "white"),
            ("a lemon", "yellow"), ("a carrot", "orange"), ("milk chocolate", "brown"), ("a ripe strawberry", "red"),
            ("a lime", "green"), ("a crow", "black"), ("a polar bear", "white"), ("an eggplant", "purple"),
            ("a pumpkin", "orange"), ("an emerald", "green"), ("a ruby", "red"), ("a fire engine", "red"),
            ("a sapphire", "blue"))
_SOUNDS = (("meow", "cat"), ("woof", "dog"), ("moo", "cow"), ("oink", "pig"), ("baa", "sheep"), ("quack", "duck"),
           ("neigh", "horse"), ("hoot", "owl"), ("roar", "lion"), ("ribbit", "frog"), ("hiss", "snake"))
_BABIES = (("dog", "puppy"), ("cat", "kitten"), ("cow", "calf"), ("sheep", "lamb"), ("horse", "foal"),
           ("duck", "duckling"), ("frog", "tadpole"), ("bear", "cub"), ("pig", "piglet"), ("goose", "gosling"))
_LEGS = (("spider", 8), ("dog", 4), ("bird", 2), ("ant", 6), ("cat", 4), ("chicken", 2), ("horse", 4),
         ("bee", 6), ("cow", 4), ("duck", 2))
_OPPOSITES = (("hot", "cold"), ("up", "down"), ("day", "night"), ("black", "white"), ("fast", "slow"),
              ("happy", "sad"), ("tall", "short"), ("wet", "dry"), ("early", "late"), ("full", "empty"),
              ("left", "right"), ("inside", "outside"), ("push", "pull"), ("win", "lose"), ("top", "bottom"),
              ("north", "south"), ("east", "west"), ("true", "false"), ("rich", "poor"), ("love", "hate"),
              ("buy", "sell"), ("first", "last"), ("always", "never"), ("front", "back"), ("thick", "thin"),
              ("cheap", "expensive"), ("remember", "forget"), ("question", "answer"), ("boy", "girl"),
              ("king", "queen"), ("asleep", "awake"), ("summer", "winter"), ("strong", "weak"), ("clean", "dirty"),
              ("wide", "narrow"), ("deep", "shallow"), ("before", "after"), ("above", "below"), ("laugh", "cry"),
              ("entrance", "exit"), ("maximum", "minimum"), ("positive", "negative"), ("cold", "hot"),
              ("night", "day"), ("white", "black"), ("down", "up"), ("sad", "happy"), ("dry", "wet"),
              ("empty", "full"), ("south", "north"))
_COUNTS = (("days are in a week", 7), ("months are in a year", 12), ("hours are in a day", 24),
           ("minutes are in an hour", 60), ("seconds are in a minute", 60), ("days are in a year", 365),
           ("weeks are in a year", 52), ("centimeters are in one meter", 100), ("grams are in one kilogram", 1000),
           ("meters are in one kilometer", 1000), ("millimeters are in one centimeter", 10),
           ("sides does a triangle have", 3), ("sides does a square have", 4), ("sides does a hexagon have", 6),
           ("sides does an octagon have", 8), ("wheels does a bicycle have", 2), ("wheels does a tricycle have", 3),
           ("wheels does a car have", 4), ("continents are there on Earth", 7), ("planets are in our solar system", 8),
           ("colors are in a rainbow", 7), ("letters are in the English alphabet", 26), ("years are in a century", 100),
           ("years are in a decade", 10), ("cents are in a dollar", 100), ("things are in a dozen", 12),
           ("strings does a standard guitar have", 6), ("players are on a soccer team on the field", 11),
           ("fingers are on one hand", 5), ("eyes does a person have", 2), ("inches are in a foot", 12),
           ("days are in a leap year", 366))
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
             "eleventh", "twelfth")
_SEASONS = ("spring", "summer", "autumn", "winter")
_GENERAL = (
    ("What is the largest planet in our solar system?", "Jupiter"), ("Which planet is known as the Red Planet?", "Mars"),
    ("Which planet is closest to the sun?", "Mercury"), ("Which planet do we live on?", "Earth"),
    ("What do we call frozen water?", "ice"), ("What gas do humans need to breathe to stay alive?", "oxygen"),
    ("What is the chemical formula of water?", "H2O"), ("Who wrote the play Romeo and Juliet?", "Shakespeare"),
    ("What is the tallest mountain in the world?", "Everest"), ("What is the largest ocean on Earth?", "Pacific"),
    ("What is the natural satellite of the Earth called?", "Moon"), ("Which organ pumps blood through the body?", "heart"),
    ("What do bees make?", "honey"), ("Which animal is known as the king of the jungle?", "lion"),
    ("What animal has a long trunk?", "elephant"), ("What animal has black and white stripes?", "zebra"),
    ("Which animal has a very long neck?", "giraffe"), ("Which bird cannot fly and lives in Antarctica?", "penguin"),
    ("Which animal gives us wool?", "sheep"), ("What musical instrument has black and white keys?", "piano"),
    ("In which country are the pyramids of Giza?", "Egypt"), ("In which city is the Eiffel Tower?", "Paris"),
    ("In which city is the Colosseum?", "Rome"), ("In which city is Big Ben?", "London"),
    ("What is the currency of Japan?", "yen"), ("What is the currency of the United States?", "dollar"),
    ("What do you call a shape with three sides?", "triangle"), ("What is the hardest natural substance?", "diamond"),
    ("What star is at the center of our solar system?", "Sun"), ("What do caterpillars turn into?", "butterflies"),
    ("What is the main ingredient of bread?", "flour"), ("What do you use to cut paper?", "scissors"),
)


def facts() -> list[dict]:
    out = []
    for country, city in _CAPITALS:
        out.append(_item("fact", "capital", country, "word", f"What is the capital of {country}?" + _ONE_WORD, city))
    for country, lang in _LANGUAGES:
        out.append(_item("fact", "language", country, "word",
                         f"What language do most people speak in {country}?" + _ONE_WORD, lang))
    for country, continent in _CONTINENTS:
        out.append(_item("fact", "continent", country, "word", f"On which continent is {country}?", continent))
    for thing, colour in _COLOURS:
        out.append(_item("fact", "colour", thing, "word", f"What color is {thing}?" + _ONE_WORD, colour))
    for sound, animal in _SOUNDS:
        out.append(_item("fact", "sound", sound, "word", f"What animal says '{sound}'?" + _ONE_WORD, animal))
    for animal, baby in _BABIES:
        out.append(_item("fact", "baby", animal, "word", f"What is a baby {animal} called?" + _ONE_WORD, baby))
    for animal, legs in _LEGS:
        out.append(_item("fact", "legs", animal, "number", f"How many legs does a {animal} have?" + _NUMBER, legs))
    for word, opposite in _OPPOSITES:
        out.append(_item("fact", "opposite", word, "word", f"What is the opposite of {word}?" + _ONE_WORD, opposite))
    for phrase, n in _COUNTS:
        out.append(_item("fact", "count", phrase, "number", f"How many {phrase}?" + _NUMBER, n))
    for i, day in enumerate(_DAYS):
        out.append(_item("fact", "day_after", day, "word", f"Which day comes after {day}?" + _ONE_WORD,
                         _DAYS[(i + 1) % 7]))
        out.append(_item("fact", "day_before", day, "word", f"Which day comes before {day}?" + _ONE_WORD,
                         _DAYS[i - 1]))
    for i, month in enumerate(_MONTHS):
        out.append(_item("fact", "month_after", month, "word", f"Which month comes after {month}?" + _ONE_WORD,
                         _MONTHS[(i + 1) % 12]))
        out.append(_item("fact", "month_before", month, "word", f"Which month comes before {month}?" + _ONE_WORD,
                         _MONTHS[i - 1]))
        out.append(_item("fact", "month_nth", month, "word",
                         f"What is the {_ORDINALS[i]} month of the year?" + _ONE_WORD, month))
    for i, season in enumerate(_SEASONS):
        out.append(_item("fact", "season_after", season, "word", f"Which season comes after {season}?" + _ONE_WORD,
                         _SEASONS[(i + 1) % 4]))
    for question, answer in _GENERAL:
        out.append(_item("fact", "general", question, "word", question + _ONE_WORD, answer))
    out.append(_item("fact", "freeze", "celsius", "number",
                     "At what temperature in degrees Celsius does water freeze?" + _NUMBER, 0))
    out.append(_item("fact", "boil", "celsius", "number",
                     "At what temperature in degrees Celsius does water boil at sea level?" + _NUMBER, 100))
    return out


# ---- short reasoning ------------------------------------------------------------------------------------

# (adjective, the one it describes, the other): asked in both orders, answered with the right noun first.
_COMPARE = (("bigger", "an elephant", "a mouse"), ("heavier", "a brick", "a feather"),
            ("faster", "a cheetah", "a turtle"), ("taller", "a giraffe", "a dog"), ("hotter", "the sun", "the moon"),
            ("longer", "a year", "a day"), ("smaller", "an ant", "a horse"), ("heavier", "a car", "a bicycle"),
            ("colder", "ice", "hot soup"), ("bigger", "a whale", "a goldfish"), ("faster", "an airplane", "a bicycle"),
            ("slower", "a snail", "a rabbit"), ("longer", "an hour", "a minute"), ("taller", "a skyscraper", "a house"),
            ("lighter", "a feather", "a rock"), ("smaller", "a pea", "a watermelon"),
            ("older", "a grandmother", "a baby"), ("louder", "thunder", "a whisper"))
# (question, the right answer, the other options)
_KINDS = (("a fruit", "apple", "carrot"), ("an animal", "dog", "chair"), ("a color", "blue", "table"),
          ("a vegetable", "carrot", "banana"), ("a bird", "eagle", "shark"), ("a fish", "salmon", "parrot"),
          ("a drink", "juice", "bread"), ("a tool", "hammer", "apple"), ("a vehicle", "bus", "lamp"),
          ("a musical instrument", "violin", "spoon"), ("a planet", "Mars", "Paris"), ("a day of the week", "Friday",
                                                                                         "April"),
          ("a month", "June", "Tuesday"), ("a country", "Canada", "Jupiter"), ("a flower", "rose", "oak"))
_ODD = (("carrot", "apple", "banana", "grape"), ("dog", "red", "blue", "green"), ("car", "cat", "cow", "horse"),
        ("Monday", "March", "May", "June"), ("chair", "tiger", "lion", "wolf"), ("piano", "rose", "tulip", "daisy"),
        ("bread", "water", "milk", "juice"), ("moon", "Paris", "London", "Rome"))
_SEQUENCES = (("1, 2, 3, 4", 5), ("10, 20, 30, 40", 50), ("5, 10, 15, 20", 25), ("100, 200, 300", 400),
              ("2, 4, 6, 8", 10), ("1, 3, 5, 7", 9), ("10, 9, 8, 7", 6), ("3, 6, 9, 12", 15), ("1, 2, 4, 8", 16),
              ("50, 40, 30, 20", 10), ("7, 8, 9, 10", 11), ("20, 30, 40", 50))
_NUMBER_PAIRS = ((17, 71), (42, 24), (9, 90), (65, 56), (13, 31), (88, 28), (5, 50), (39, 93), (120, 12), (76, 67))
_LETTERS = "BDFHKMPRTW"
_NAMES = (("Tom", "Sam"), ("Ann", "Lisa"), ("Ben", "Max"), ("Mia", "Zoe"))


def reasoning() -> list[dict]:
    out = []
    for adj, right, wrong in _COMPARE:
        answer = f"{right.split()[-1]}|{wrong.split()[-1]}"  # the noun, without its article
        for a, b in ((right, wrong), (wrong, right)):
            out.append(_item("reason", "compare", f"{adj}_{a}_{b}", "choice", f"Which is {adj}, {a} or {b}?"
                             + _ONE_WORD, answer))
    for kind, right, wrong in _KINDS:
        out.append(_item("reason", "kind", kind, "choice", f"Which of these is {kind}: {wrong} or {right}?"
                         + _ONE_WORD, f"{right}|{wrong}"))
    for odd, *rest in _ODD:
        words = sorted([odd, *rest], key=lambda w: _slug(w)[::-1])  # a fixed order where the odd one moves
        out.append(_item("reason", "odd", odd, "choice",
                         f"Which word does not belong with the others: {', '.join(words)}?" + _ONE_WORD,
                         "|".join([odd, *rest])))
    for seq, nxt in _SEQUENCES:
        out.append(_item("reason", "sequence", seq, "number", f"What number comes next: {seq}, ...?" + _NUMBER, nxt))
    for a, b in _NUMBER_PAIRS:
        out.append(_item("reason", "larger", f"{a}_{b}", "number", f"Which number is larger, {a} or {b}?" + _NUMBER,
                         max(a, b)))
        out.append(_item("reason", "greater", f"{a}_{b}", "yes_no", f"Is {a} greater than {b}?" + _YES_NO,
                         "yes" if a > b else "no"))
    for letter in _LETTERS:
        after = chr(ord(letter) + 1)
        out.append(_item("reason", "letter_after", letter, "letter",
                         f"Which letter comes after {letter} in the alphabet?" + _LETTER, after))
    for i, day in enumerate(_DAYS):
        out.append(_item("reason", "tomorrow", day, "word", f"If today is {day}, what day is tomorrow?" + _ONE_WORD,
                         _DAYS[(i + 1) % 7]))
        out.append(_item("reason", "yesterday", day, "word", f"If today is {day}, what day was yesterday?"
                         + _ONE_WORD, _DAYS[i - 1]))
    for tall, short in _NAMES:
        out.append(_item("reason", "taller", tall, "choice", f"{tall} is taller than {short}. Who is taller?"
                         + _ONE_WORD, f"{tall}|{short}"))
        out.append(_item("reason", "shorter", tall, "choice", f"{tall} is taller than {short}. Who is shorter?"
                         + _ONE_WORD, f"{short}|{tall}"))
    return out


# ---- multi-turn chat ------------------------------------------------------------------------------------

_PEOPLE = ("Sam", "Maria", "Oliver", "Priya", "Lucas", "Hannah", "Diego", "Emma", "Kenji", "Fatima", "Noah",
           "Chloe", "Ivan", "Grace", "Omar", "Julia")
_FAVOURITES = (("colour", "green"), ("colour", "purple"), ("food", "pasta"), ("food", "sushi"), ("animal", "horse"),
               ("animal", "owl"), ("fruit", "mango"), ("fruit", "cherry"), ("sport", "tennis"), ("sport", "hockey"),
               ("season", "autumn"), ("drink", "lemonade"))
_HOMES = ("Oslo", "Madrid", "Toronto", "Dublin", "Lisbon", "Vienna", "Nairobi", "Sydney")
_PETS = (("dog", "Rex"), ("cat", "Luna"), ("dog", "Buddy"), ("cat", "Milo"), ("rabbit", "Coco"), ("parrot", "Kiwi"))
_CODES = ("falcon", "maple", "harbor", "violet", "thunder", "pebble", "lantern", "comet")
_FOLLOW_UPS = (("France", "Italy"), ("Germany", "Spain"), ("Japan", "Egypt"), ("Russia", "Greece"),
               ("Italy", "Norway"), ("Spain", "Portugal"))


def chat() -> list[dict]:
    out = []
    for i, name in enumerate(_PEOPLE):
        reply = f"Nice to meet you, {name}! How can I help you today?" if i % 2 else "Nice to meet you! How can I help?"
        out.append(_item("chat", "name", name, "word", "What is my name?" + _ONE_WORD, name,
                         [("user", f"Hi! My name is {name}."), ("assistant", reply)]))
    for thing, value in _FAVOURITES:
        out.append(_item("chat", "favourite", f"{thing}_{value}", "word", f"What is my favourite {thing}?" + _ONE_WORD,
                         value, [("user", f"My favourite {thing} is {value}."),
                                 ("assistant", "Thanks for telling me. That is a good choice!")]))
    for city in _HOMES:
        out.append(_item("chat", "home", city, "word", "Which city do I live in?" + _ONE_WORD, city,
                         [("user", f"I live in {city}."), ("assistant", "That sounds like a nice place to live.")]))
    for animal, name in _PETS:
        out.append(_item("chat", "pet", f"{animal}_{name}", "word", f"What is my {animal}'s name?" + _ONE_WORD, name,
                         [("user", f"I have a {animal} called {name}."), ("assistant", f"What a lovely {animal}!")]))
    for word in _CODES:
        out.append(_item("chat", "code", word, "exact", "What is the code word? Reply with just the word.", word,
                         [("user", f"Please remember this code word: {word}."),
                          ("assistant", "Okay, I will remember it.")]))
    for n in (7, 13, 21, 42, 58, 99):
        out.append(_item("chat", "lucky", n, "number", "What is my lucky number?" + _NUMBER, n,
                         [("user", f"My lucky number is {n}."), ("assistant", "Great, I will keep that in mind.")]))
    for first, second in _FOLLOW_UPS:
        capital = dict(_CAPITALS)
        out.append(_item("chat", "follow_up", f"{first}_{second}", "word", f"And what about {second}?" + _ONE_WORD,
                         capital[second], [("user", f"What is the capital of {first}?"),
                                           ("assistant", f"The capital of {first} is {capital[first]}.")]))
    return out


def all_items() -> list[dict]:
    """Every built-in candidate, category by category."""
    return [*instruct(), *formats(), *facts(), *reasoning(), *chat()]

"""Built-in retention Q&A content: everyday prompts with checkable answers in five categories (instruction
following, output formats, everyday facts, short reasoning, multi-turn chat), built from word lists and templates
written for this project. Pure data; an id names its category, template and slot, so adding an item never moves
another one, and no item is two-number addition or subtraction (the default training task).

The yield of each kind on the embedded SmolLM2-135M-Instruct (base-correct of all, greedy, 32 new tokens; 567 of
811 in all) is in the comment above it. An item counts only once the base model answers it, and a template it
passes mostly by chance measures noise, so kinds it mostly failed are left out: "reply with exactly the word X",
changing a word's case, word and letter counts, alphabetical order, sorting numbers, yes/no questions (it answers
"No" to all), past tenses, analogies, odd one out, next in a sequence, days and months before or after, colours,
animal sounds. Where a reply that repeats the question could pass, the checker reads the option named first and the
question comes in both orders."""

from __future__ import annotations

import re

CATEGORIES = ("instruct", "format", "fact", "reason", "chat")
_ONE_WORD = " Answer with one word."
_NUMBER = " Answer with just the number."
_LETTER = " Reply with just the letter."


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_")


def _item(category: str, kind: str, slot, task: str, prompt: str, answer, history=None) -> dict:
    item = {"id": f"retention-{category}-{kind}-{_slug(slot)}", "prompt": prompt, "answer": str(answer), "task": task}
    if history:
        item["history"] = [{"role": role, "content": text} for role, text in history]
    return item


# ---- instruction following ------------------------------------------------------------------------------

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


# ---- output formats -------------------------------------------------------------------------------------

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


# ---- everyday facts -------------------------------------------------------------------------------------

_CAPITALS = (
    ("France", "Paris"),
    ("Japan", "Tokyo"),
    ("Italy", "Rome"),
    ("Germany", "Berlin"),
    ("Spain", "Madrid"),
    ("the United Kingdom", "London"),
    ("Russia", "Moscow"),
    ("Egypt", "Cairo"),
    ("China", "Beijing"),
    ("Canada", "Ottawa"),
    ("Australia", "Canberra"),
    ("India", "Delhi"),
    ("Greece", "Athens"),
    ("Portugal", "Lisbon"),
    ("Ireland", "Dublin"),
    ("Norway", "Oslo"),
    ("Sweden", "Stockholm"),
    ("Finland", "Helsinki"),
    ("Denmark", "Copenhagen"),
    ("Poland", "Warsaw"),
    ("Austria", "Vienna"),
    ("Hungary", "Budapest"),
    ("the Netherlands", "Amsterdam"),
    ("Belgium", "Brussels"),
    ("Turkey", "Ankara"),
    ("Kenya", "Nairobi"),
    ("Argentina", "Buenos Aires"),
    ("Peru", "Lima"),
    ("Cuba", "Havana"),
    ("South Korea", "Seoul"),
    ("Thailand", "Bangkok"),
    ("Indonesia", "Jakarta"),
    ("the Philippines", "Manila"),
    ("Iran", "Tehran"),
    ("Iraq", "Baghdad"),
    ("Saudi Arabia", "Riyadh"),
    ("the Czech Republic", "Prague"),
    ("Scotland", "Edinburgh"),
    ("Romania", "Bucharest"),
    ("Bulgaria", "Sofia"),
    ("Serbia", "Belgrade"),
    ("Vietnam", "Hanoi"),
    ("Chile", "Santiago"),
    ("Venezuela", "Caracas"),
    ("Nepal", "Kathmandu"),
    ("Iceland", "Reykjavik"),
)
# Capitals asked the other way round: countries with a one-word name.
_CAPITAL_OF = (
    "France",
    "Japan",
    "Italy",
    "Germany",
    "Spain",
    "Russia",
    "Egypt",
    "China",
    "Canada",
    "Greece",
    "Portugal",
    "Ireland",
    "Norway",
    "Sweden",
    "Finland",
    "Austria",
    "Hungary",
    "Belgium",
    "Kenya",
    "Argentina",
    "Peru",
    "Cuba",
    "Thailand",
    "Indonesia",
    "Iran",
    "Iraq",
    "Vietnam",
    "Chile",
    "Iceland",
    "Romania",
)
_CITY_COUNTRY = (
    ("Sydney", "Australia"),
    ("Toronto", "Canada"),
    ("Mumbai", "India"),
    ("Barcelona", "Spain"),
    ("Milan", "Italy"),
    ("Munich", "Germany"),
    ("Osaka", "Japan"),
    ("Shanghai", "China"),
    ("Istanbul", "Turkey"),
    ("Marseille", "France"),
    ("Venice", "Italy"),
    ("Kyoto", "Japan"),
    ("Hamburg", "Germany"),
    ("Seville", "Spain"),
    ("Porto", "Portugal"),
    ("Krakow", "Poland"),
    ("Geneva", "Switzerland"),
    ("Melbourne", "Australia"),
    ("Vancouver", "Canada"),
    ("Lyon", "France"),
)
_LANGUAGES = (
    ("France", "French"),
    ("Germany", "German"),
    ("Spain", "Spanish"),
    ("Italy", "Italian"),
    ("Japan", "Japanese"),
    ("Brazil", "Portuguese"),
    ("Russia", "Russian"),
    ("Greece", "Greek"),
    ("the Netherlands", "Dutch"),
    ("Mexico", "Spanish"),
    ("Egypt", "Arabic"),
    ("Poland", "Polish"),
    ("Sweden", "Swedish"),
    ("Turkey", "Turkish"),
    ("South Korea", "Korean"),
    ("Portugal", "Portuguese"),
    ("Austria", "German"),
    ("Argentina", "Spanish"),
    ("Chile", "Spanish"),
    ("Colombia", "Spanish"),
    ("Peru", "Spanish"),
    ("Cuba", "Spanish"),
    ("Norway", "Norwegian"),
    ("Denmark", "Danish"),
    ("Finland", "Finnish"),
    ("Hungary", "Hungarian"),
    ("the Czech Republic", "Czech"),
    ("Ukraine", "Ukrainian"),
    ("Israel", "Hebrew"),
    ("Thailand", "Thai"),
    ("Vietnam", "Vietnamese"),
    ("China", "Chinese"),
    ("Indonesia", "Indonesian"),
    ("Saudi Arabia", "Arabic"),
    ("Morocco", "Arabic"),
    ("England", "English"),
    ("Australia", "English"),
    ("the United States", "English"),
    ("Romania", "Romanian"),
    ("Iceland", "Icelandic"),
    ("Croatia", "Croatian"),
)
_CONTINENTS = (
    ("Kenya", "Africa"),
    ("Brazil", "South America"),
    ("France", "Europe"),
    ("Japan", "Asia"),
    ("Canada", "North America"),
    ("Egypt", "Africa"),
    ("India", "Asia"),
    ("Argentina", "South America"),
    ("Germany", "Europe"),
    ("China", "Asia"),
    ("Nigeria", "Africa"),
    ("Mexico", "North America"),
    ("Italy", "Europe"),
    ("Thailand", "Asia"),
    ("Peru", "South America"),
    ("Spain", "Europe"),
    ("Chile", "South America"),
    ("Colombia", "South America"),
    ("Venezuela", "South America"),
    ("Ghana", "Africa"),
    ("Morocco", "Africa"),
    ("Ethiopia", "Africa"),
    ("South Africa", "Africa"),
    ("Vietnam", "Asia"),
    ("Indonesia", "Asia"),
    ("South Korea", "Asia"),
    ("Pakistan", "Asia"),
    ("Sweden", "Europe"),
    ("Poland", "Europe"),
    ("Greece", "Europe"),
    ("Portugal", "Europe"),
    ("Norway", "Europe"),
    ("the United States", "North America"),
)
_OPPOSITES = (
    ("hot", "cold"),
    ("up", "down"),
    ("day", "night"),
    ("black", "white"),
    ("fast", "slow"),
    ("happy", "sad"),
    ("tall", "short"),
    ("wet", "dry"),
    ("early", "late"),
    ("full", "empty"),
    ("left", "right"),
    ("inside", "outside"),
    ("push", "pull"),
    ("win", "lose"),
    ("top", "bottom"),
    ("north", "south"),
    ("east", "west"),
    ("true", "false"),
    ("rich", "poor"),
    ("love", "hate"),
    ("buy", "sell"),
    ("first", "last"),
    ("always", "never"),
    ("front", "back"),
    ("thick", "thin"),
    ("cheap", "expensive"),
    ("remember", "forget"),
    ("question", "answer"),
    ("boy", "girl"),
    ("king", "queen"),
    ("asleep", "awake"),
    ("summer", "winter"),
    ("strong", "weak"),
    ("clean", "dirty"),
    ("wide", "narrow"),
    ("deep", "shallow"),
    ("before", "after"),
    ("above", "below"),
    ("laugh", "cry"),
    ("entrance", "exit"),
    ("maximum", "minimum"),
    ("positive", "negative"),
    ("cold", "hot"),
    ("night", "day"),
    ("white", "black"),
    ("down", "up"),
    ("sad", "happy"),
    ("dry", "wet"),
    ("empty", "full"),
    ("south", "north"),
    ("good", "bad"),
    ("bad", "good"),
    ("high", "low"),
    ("low", "high"),
    ("near", "far"),
    ("long", "short"),
    ("in", "out"),
    ("on", "off"),
    ("under", "over"),
    ("over", "under"),
    ("more", "less"),
    ("many", "few"),
    ("alive", "dead"),
    ("young", "old"),
    ("new", "old"),
    ("soft", "hard"),
    ("heavy", "light"),
    ("dark", "light"),
    ("loud", "quiet"),
    ("quiet", "loud"),
    ("begin", "end"),
    ("float", "sink"),
    ("lend", "borrow"),
    ("brother", "sister"),
    ("father", "mother"),
    ("son", "daughter"),
    ("uncle", "aunt"),
    ("prince", "princess"),
    ("husband", "wife"),
    ("male", "female"),
)
_PLURALS = (
    ("child", "children"),
    ("mouse", "mice"),
    ("man", "men"),
    ("woman", "women"),
    ("tooth", "teeth"),
    ("foot", "feet"),
    ("goose", "geese"),
    ("person", "people"),
    ("box", "boxes"),
    ("baby", "babies"),
    ("city", "cities"),
    ("leaf", "leaves"),
    ("knife", "knives"),
    ("wolf", "wolves"),
    ("bus", "buses"),
    ("cat", "cats"),
    ("dog", "dogs"),
    ("apple", "apples"),
    ("church", "churches"),
    ("story", "stories"),
    ("glass", "glasses"),
    ("potato", "potatoes"),
    ("dish", "dishes"),
    ("house", "houses"),
)
_COUNTS = (
    ("days are in a week", 7),
    ("months are in a year", 12),
    ("hours are in a day", 24),
    ("minutes are in an hour", 60),
    ("seconds are in a minute", 60),
    ("days are in a year", 365),
    ("weeks are in a year", 52),
    ("centimeters are in one meter", 100),
    ("grams are in one kilogram", 1000),
    ("meters are in one kilometer", 1000),
    ("millimeters are in one centimeter", 10),
    ("sides does a triangle have", 3),
    ("sides does a square have", 4),
    ("sides does a hexagon have", 6),
    ("sides does an octagon have", 8),
    ("wheels does a bicycle have", 2),
    ("wheels does a tricycle have", 3),
    ("wheels does a car have", 4),
    ("continents are there on Earth", 7),
    ("planets are in our solar system", 8),
    ("colors are in a rainbow", 7),
    ("letters are in the English alphabet", 26),
    ("years are in a century", 100),
    ("years are in a decade", 10),
    ("cents are in a dollar", 100),
    ("things are in a dozen", 12),
    ("strings does a standard guitar have", 6),
    ("players are on a soccer team on the field", 11),
    ("fingers are on one hand", 5),
    ("eyes does a person have", 2),
    ("inches are in a foot", 12),
    ("days are in a leap year", 366),
)
_GENERAL = (
    ("What is the largest planet in our solar system?", "Jupiter"),
    ("Which planet is known as the Red Planet?", "Mars"),
    ("Which planet is closest to the sun?", "Mercury"),
    ("Which planet do we live on?", "Earth"),
    ("What do we call frozen water?", "ice"),
    ("What gas do humans need to breathe to stay alive?", "oxygen"),
    ("What is the chemical formula of water?", "H2O"),
    ("Who wrote the play Romeo and Juliet?", "Shakespeare"),
    ("What is the tallest mountain in the world?", "Everest"),
    ("What is the largest ocean on Earth?", "Pacific"),
    ("What is the natural satellite of the Earth called?", "Moon"),
    ("Which organ pumps blood through the body?", "heart"),
    ("What do bees make?", "honey"),
    ("Which animal is known as the king of the jungle?", "lion"),
    ("What animal has a long trunk?", "elephant"),
    ("What animal has black and white stripes?", "zebra"),
    ("Which animal has a very long neck?", "giraffe"),
    ("Which bird cannot fly and lives in Antarctica?", "penguin"),
    ("Which animal gives us wool?", "sheep"),
    ("What musical instrument has black and white keys?", "piano"),
    ("In which country are the pyramids of Giza?", "Egypt"),
    ("In which city is the Eiffel Tower?", "Paris"),
    ("In which city is the Colosseum?", "Rome"),
    ("In which city is Big Ben?", "London"),
    ("What is the currency of Japan?", "yen"),
    ("What is the currency of the United States?", "dollar"),
    ("What do you call a shape with three sides?", "triangle"),
    ("What is the hardest natural substance?", "diamond"),
    ("What star is at the center of our solar system?", "Sun"),
    ("What do caterpillars turn into?", "butterflies"),
    ("What is the main ingredient of bread?", "flour"),
    ("What do you use to cut paper?", "scissors"),
    ("Who painted the Mona Lisa?", "Leonardo"),
    ("In which country is the Great Wall?", "China"),
    ("In which city is the Statue of Liberty?", "New York"),
    ("Which river is the longest in Africa?", "Nile"),
    ("What is the largest country in the world by area?", "Russia"),
    ("Which ocean lies between Europe and North America?", "Atlantic"),
    ("What is the fastest land animal?", "cheetah"),
    ("Who was the first person to walk on the Moon?", "Armstrong"),
    ("Who discovered penicillin?", "Fleming"),
    ("Who wrote the play Hamlet?", "Shakespeare"),
    ("Who developed the theory of relativity?", "Einstein"),
    ("What is the largest continent?", "Asia"),
    ("What is the smallest planet in our solar system?", "Mercury"),
    ("Which planet is famous for its rings?", "Saturn"),
    ("What is the currency of the United Kingdom?", "pound"),
    ("What is the currency of most countries in the European Union?", "euro"),
    ("What do you call a house made of blocks of ice?", "igloo"),
    ("What do pandas mostly eat?", "bamboo"),
    ("What is the tallest animal in the world?", "giraffe"),
    ("Which metal is liquid at room temperature?", "mercury"),
)
_SYMBOLS = (("gold", "Au"), ("silver", "Ag"), ("iron", "Fe"), ("sodium", "Na"), ("copper", "Cu"), ("potassium", "K"))


def facts() -> list[dict]:
    out = []
    # capital 38/46, asked the other way 25/30, the country of a city 18/20
    for country, city in _CAPITALS:
        out.append(_item("fact", "capital", country, "word", f"What is the capital of {country}?" + _ONE_WORD, city))
    capitals = dict(_CAPITALS)
    for country in _CAPITAL_OF:
        out.append(
            _item(
                "fact",
                "capital_of",
                country,
                "word",
                f"{capitals[country]} is the capital of which country?" + _ONE_WORD,
                country,
            )
        )
    for city, country in _CITY_COUNTRY:
        out.append(
            _item("fact", "city_in", city, "word", f"In which country is the city of {city}?" + _ONE_WORD, country)
        )
    # language 39/41, continent 25/33, opposite 52/80, plural 19/24
    for country, lang in _LANGUAGES:
        out.append(
            _item(
                "fact",
                "language",
                country,
                "word",
                f"What language do most people speak in {country}?" + _ONE_WORD,
                lang,
            )
        )
    for country, continent in _CONTINENTS:
        out.append(_item("fact", "continent", country, "word", f"On which continent is {country}?", continent))
    for word, opposite in _OPPOSITES:
        out.append(_item("fact", "opposite", word, "word", f"What is the opposite of {word}?" + _ONE_WORD, opposite))
    for word, plural in _PLURALS:
        out.append(
            _item("fact", "plural", word, "word", f"What is the plural of the word '{word}'?" + _ONE_WORD, plural)
        )
    # units and counts 17/32, general knowledge 32/52, chemical symbols 6/6
    for phrase, n in _COUNTS:
        out.append(_item("fact", "count", phrase, "number", f"How many {phrase}?" + _NUMBER, n))
    for question, answer in _GENERAL:
        out.append(_item("fact", "general", question, "word", question + _ONE_WORD, answer))
    for element, symbol in _SYMBOLS:
        out.append(_item("fact", "symbol", element, "word_case", f"What is the chemical symbol for {element}?", symbol))
    out.append(
        _item(
            "fact",
            "freeze",
            "celsius",
            "number",
            "At what temperature in degrees Celsius does water freeze?" + _NUMBER,
            0,
        )
    )
    out.append(
        _item(
            "fact",
            "boil",
            "celsius",
            "number",
            "At what temperature in degrees Celsius does water boil at sea level?" + _NUMBER,
            100,
        )
    )
    return out


# ---- short reasoning ------------------------------------------------------------------------------------

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


# ---- multi-turn chat ------------------------------------------------------------------------------------

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


def all_items() -> list[dict]:
    """Every built-in candidate, category by category."""
    return [*instruct(), *formats(), *facts(), *reasoning(), *chat()]

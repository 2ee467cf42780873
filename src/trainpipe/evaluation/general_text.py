"""Built-in general-prose passages for the retention_text perplexity suite: a fixed, offline sample of everyday
and encyclopedic English, deterministic so that perplexity is comparable across runs and models."""
from __future__ import annotations

# Short, plain, neutral passages on varied everyday topics, written for this project. They are deliberately far
# from any training task, so a perplexity change on them reflects general language modelling, not the task.
PASSAGES: tuple[str, ...] = (
    "Weather forecasts begin with measurements. Stations on land, buoys at sea, balloons carrying small "
    "instruments and satellites in orbit report temperature, air pressure, humidity and wind many times a "
    "day. Forecasters feed these readings into computer models that divide the atmosphere into a grid of "
    "boxes and calculate how each box is likely to change over the next few hours. Because small errors grow "
    "as the calculation runs forward, a forecast for tomorrow is usually more reliable than one for next "
    "week. That is why forecasts often give a chance of rain rather than a simple yes or no.",
    "Cooking rice well is mostly a matter of water and patience. Many cooks rinse the grains first to wash "
    "away loose starch, which helps keep them from turning sticky. The rice then goes into a pot with a "
    "measured amount of water, often a little less than twice its volume for long-grain varieties. Once the "
    "water boils, the heat is turned down low and the lid stays on so the steam can finish the work. After "
    "the water is absorbed, letting the pot rest for several minutes off the heat gives the grains time to "
    "firm up before they are fluffed with a fork.",
    "On Saturday mornings the market in the old square fills up before the church bell strikes eight. Farmers"
    " arrive in small vans and unfold tables stacked with crates of apples, potatoes, leeks and eggs. A baker"
    " sells round loaves from the back of a cart, and a woman at the corner offers cut flowers wrapped in "
    "brown paper. Shoppers carry cloth bags and move slowly from stall to stall, comparing prices and asking "
    "where the cheese was made. By early afternoon most of the stalls are packed away, and a street sweeper "
    "clears the leaves and paper left behind.",
    "A bicycle turns the push of a rider's legs into forward motion through a simple chain drive. The pedals "
    "turn a toothed ring at the front, and the chain carries that motion to a smaller set of teeth on the "
    "rear wheel. Gears change the ratio between the two, so a rider can pedal easily up a hill or cover more "
    "ground with each turn on flat roads. Balance comes largely from steering: when the bike begins to lean, "
    "the rider turns the front wheel slightly in the same direction, which brings the wheels back underneath."
    " Brakes press pads against the rim or a disc to slow the wheel.",
    "A river begins as many small streams that gather rain and melted snow from high ground. As these streams"
    " join, the flow grows larger and carves a channel through soil and rock. In steep country the water "
    "moves quickly and carries stones along its bed, while in flatter land it slows down, winds back and "
    "forth and drops fine mud and sand. Over centuries this material builds wide plains that are often very "
    "fertile, which is one reason so many towns and farms grew up beside rivers. Near the sea a river may "
    "split into several branches and form a delta.",
    "A public library is more than a room full of books. Most lend films, music and magazines as well, and "
    "many offer computers, printers and free internet access to anyone with a library card. Books are "
    "arranged by a classification system so that works on the same subject sit near one another on the "
    "shelves, and a catalogue lets visitors search by title, author or topic. Librarians help people find "
    "information, suggest reading for children and run events such as story hours and language clubs. In many"
    " towns the library is one of the few indoor places where people can stay without paying.",
    "Sleep is not a single steady state but a series of cycles that repeat through the night. Each cycle "
    "lasts roughly ninety minutes and moves from light sleep into deeper stages and then into a phase in "
    "which the eyes move quickly and most vivid dreaming takes place. During deep sleep the body releases "
    "hormones that help repair tissue, and the brain appears to sort and store memories from the day. Most "
    "adults need about seven to nine hours a night. Regular bedtimes, a dark and quiet room and avoiding "
    "large meals late in the evening can all make it easier to fall asleep.",
    "The Moon is Earth's only natural satellite and orbits the planet about once every twenty-seven days. It "
    "gives off no light of its own; what we see is sunlight reflected from its grey, dusty surface. As the "
    "Moon moves around Earth, the part of its sunlit side facing us changes, which produces the familiar "
    "phases from a thin crescent to a full disc and back again. The same side of the Moon always faces Earth "
    "because it turns once on its axis in the time it takes to complete one orbit. Its gravity, together with"
    " the Sun's, raises the tides in the oceans.",
    "Trains can move heavy loads using relatively little energy because steel wheels rolling on steel rails "
    "meet very little resistance. Early railways relied on steam engines that burned coal to boil water, and "
    "the pressure of the steam pushed pistons that turned the wheels. Today many trains run on electricity "
    "drawn from overhead wires or a third rail, while others carry diesel engines. Signals along the track "
    "tell drivers whether the section ahead is clear, and movable sections of rail called points guide trains"
    " from one line to another. A single long freight train can replace dozens of trucks on the road.",
    "Most vegetables grow best in loose soil that drains well and receives at least six hours of sunlight a "
    "day. Before planting, gardeners often dig in compost to add nutrients and help the soil hold moisture. "
    "Seeds are sown at a depth of about two or three times their own width, and young plants need regular "
    "watering until their roots are established. Mulch spread around the stems keeps weeds down and slows "
    "evaporation on hot days. Moving crops to a different bed each year reduces the build-up of pests and "
    "diseases that favour one kind of plant.",
    "Learning an instrument depends less on long sessions than on regular ones. Twenty minutes of focused "
    "practice every day usually does more good than three hours once a week. Many teachers suggest starting "
    "with a short warm-up, such as scales or long notes, before working on a piece. Difficult passages are "
    "easier to master when they are played slowly at first and broken into small sections, then gradually "
    "brought up to speed. A metronome helps keep the pulse steady, and recording oneself can reveal mistakes "
    "that are hard to notice while playing. Ending with something enjoyable keeps the habit pleasant.",
    "A volcano forms where molten rock from deep inside the Earth finds a way to the surface. This molten "
    "rock, called magma while it is underground and lava once it erupts, collects in chambers beneath the "
    "crust. When pressure builds up, often because of gas dissolved in the magma, it can force its way out "
    "through cracks and vents. Some volcanoes release runny lava that flows steadily for long distances, "
    "while others explode violently and throw ash high into the sky. Many volcanoes lie along the edges of "
    "the large plates that make up the Earth's outer shell.",
    "Sending a letter still follows a route that would be familiar to people a century ago. The writer folds "
    "the page into an envelope, writes the address and a postal code on the front and adds a stamp that pays "
    "for the journey. Once the letter is dropped in a postbox, it is collected and taken to a sorting centre,"
    " where machines read the codes and group the mail by destination. Trucks, trains and aircraft carry it "
    "onward to a local office, and a carrier delivers it to the door. A letter sent within the same country "
    "often arrives in a day or two.",
    "Bread is made from a few simple ingredients: flour, water, salt and usually yeast. When the flour is "
    "mixed with water and kneaded, proteins in it form long, stretchy strands called gluten. Yeast feeds on "
    "sugars in the dough and releases carbon dioxide, and the gluten traps this gas in small bubbles so the "
    "dough rises. After one or two periods of rising, the loaf is shaped and baked in a hot oven. The heat "
    "sets the structure, kills the yeast and browns the outside into a crust. Flatbreads made without yeast "
    "are among the oldest foods people cook.",
    "Honeybees live in colonies that may hold tens of thousands of insects. Each colony has a single queen, "
    "who lays the eggs, along with many female workers and, in warmer months, a smaller number of males. "
    "Workers do almost all of the labour: they clean the hive, feed the young, build wax comb and fly out to "
    "gather nectar and pollen from flowers. A returning forager can tell her sisters where food is by "
    "performing a dance whose angle and length point toward the source. Nectar stored in the comb slowly "
    "thickens into honey, which feeds the colony through the winter.",
    "A map shrinks a piece of the world onto a flat sheet so that it can be read at a glance. The scale tells"
    " the reader how distances on paper relate to distances on the ground, and a legend explains the symbols "
    "used for roads, rivers, forests and buildings. Contour lines on hiking maps join points of equal height,"
    " so lines drawn close together mark a steep slope. Because the Earth is round, no flat map can show "
    "every area, shape and distance correctly at once, and mapmakers choose a projection that suits the map's"
    " purpose. Most maps place north at the top.",
    "Rain begins with water vapour rising from oceans, lakes and plants. As warm, moist air climbs higher it "
    "cools, and the vapour condenses onto tiny particles of dust or salt to form the droplets that make up "
    "clouds. These droplets are far too small to fall at first. Inside the cloud they bump into one another "
    "and merge, or in colder clouds they grow as ice crystals that later melt on the way down. When the drops"
    " become heavy enough that rising air can no longer hold them up, they fall as rain. Most raindrops are "
    "only a few millimetres across.",
    "Along most coasts the sea rises and falls twice each day. These tides are caused mainly by the gravity "
    "of the Moon, which pulls on the oceans and creates a bulge of water on the side of Earth facing it and "
    "another on the opposite side. As the planet turns, a coastline passes through both bulges, giving two "
    "high tides and two low tides roughly every twenty-four hours and fifty minutes. When the Sun and Moon "
    "line up at new and full moon, their pulls combine and produce especially large tides. The shape of a bay"
    " can greatly increase the tidal range.",
    "Most paper is made from wood, although cotton, straw and recycled paper are also used. The wood is "
    "chipped and broken down, either by grinding or by cooking it with chemicals, until the fibres separate "
    "into a watery pulp. This pulp is spread onto a moving screen, where the water drains away and the fibres"
    " mat together into a thin sheet. Heavy rollers press out more water, and heated cylinders dry the sheet "
    "before it is wound onto large reels. Coatings and fillers can be added to make the paper smoother, "
    "whiter or better at holding ink.",
    "A visit to a museum goes better with a little planning. Large museums hold far more than anyone can see "
    "in a single day, so it helps to look at a floor plan and choose a few rooms in advance. Many offer audio"
    " guides or short tours led by staff who explain how the objects were made and used. Quiet weekday "
    "mornings are usually less crowded than weekends. Most galleries ask visitors not to touch the exhibits "
    "and to avoid using flash when taking photographs, because repeated bright light can fade old paint and "
    "fabric. A break in the cafe helps tired feet.",
    "The seasons happen because Earth's axis is tilted by about twenty-three degrees. As the planet travels "
    "around the Sun over a year, first one hemisphere and then the other leans toward the Sun. The half that "
    "leans toward it receives sunlight more directly and for more hours each day, so it has summer, while the"
    " other half has winter. In spring and autumn neither hemisphere leans strongly toward the Sun, and day "
    "and night are closer to equal length. Near the equator the change is small, and many tropical regions "
    "mark the year by wet and dry seasons instead.",
    "In autumn the leaves of many trees turn yellow, orange and red before they fall. During spring and "
    "summer the leaves are full of chlorophyll, the green substance plants use to capture sunlight and make "
    "food. As the days shorten and the air cools, the tree stops producing chlorophyll and begins drawing "
    "useful nutrients back into its branches. The green fades, revealing yellow and orange pigments that were"
    " present all along, while some species also make new red pigments. A layer of cells then forms where "
    "each leaf joins its twig, and the leaf drops away.",
    "Bridges come in a few basic types, each suited to different distances and loads. A beam bridge is the "
    "simplest, resting a rigid deck on supports at each end, and works well for short spans. Arch bridges "
    "carry weight outward along a curve into solid foundations on either bank, a design that has been built "
    "in stone for thousands of years. For the longest crossings engineers often choose suspension bridges, in"
    " which the deck hangs from cables draped between tall towers and anchored firmly into the ground. Every "
    "design must cope with traffic, wind and changes in temperature.",
    "For centuries the most accurate clocks relied on a swinging pendulum. A pendulum of a given length takes"
    " nearly the same time for each swing, and a toothed wheel called an escapement lets the clock's gears "
    "advance by a fixed step at every beat. Weights or a wound spring supply the energy that keeps it moving."
    " Most modern watches use a tiny crystal of quartz instead, which vibrates at a very steady rate when a "
    "small electric current passes through it. Circuits count these vibrations and turn them into seconds. "
    "Atomic clocks, which drift by less than a second over millions of years, keep official time.",
    "Tea is made from the leaves of a single kind of plant, an evergreen shrub grown mainly in warm, wet hill"
    " country. The differences between green, black and oolong teas come largely from how the leaves are "
    "handled after picking. For green tea the leaves are heated soon after harvest, which stops them from "
    "darkening. For black tea they are rolled and left exposed to the air so that they oxidise and turn "
    "brown, giving a stronger flavour. Water just off the boil suits black tea, while green tea tastes less "
    "bitter when brewed with slightly cooler water for a shorter time.",
    "The human heart is a muscle about the size of a closed fist that beats around seventy times a minute at "
    "rest. It has four chambers. The right side receives blood that has travelled around the body and pumps "
    "it to the lungs, where it picks up oxygen and releases carbon dioxide. The left side receives this fresh"
    " blood from the lungs and pushes it out through the arteries to every organ. Valves between the chambers"
    " open and close in turn so that blood flows in only one direction. The sound of a heartbeat is largely "
    "the noise of these valves closing.",
    "Every year many birds travel thousands of kilometres between their breeding grounds and the places where"
    " they spend the winter. They leave when food begins to run short and the days grow shorter, and many fly"
    " at night when the air is calmer and cooler. To find their way they appear to use several clues at once,"
    " including the position of the Sun, the pattern of the stars, the Earth's magnetic field and familiar "
    "landmarks such as coastlines and mountain ranges. Before departing, birds eat heavily and store fat, "
    "which serves as fuel for the long flights ahead.",
    "Lighthouses were built to warn ships away from rocks and to guide them safely into harbour at night. A "
    "tall tower lifts the lamp high enough to be seen from far out at sea, and a large glass lens gathers the"
    " light into a strong beam. Each lighthouse has its own pattern of flashes, so a sailor who counts the "
    "seconds between them can tell which light is in view and work out the ship's position. Keepers once "
    "lived at the stations to trim the wicks and wind the machinery. Today most lighthouses run automatically"
    " and are checked by occasional visits.",
    "A desert is defined by how little rain it receives rather than by how hot it is, and some of the driest "
    "places on Earth are cold. Hot deserts often have clear skies, so the ground heats up quickly during the "
    "day and loses that warmth rapidly at night, which can leave evenings surprisingly chilly. Plants that "
    "live there save water in different ways: some store it in thick stems, some have tiny leaves or spines, "
    "and others sprout, flower and set seed within a few weeks after a rare shower. Many desert animals rest "
    "in burrows during the hottest hours.",
    "Common salt is a compound of sodium and chlorine, and it has been valued for thousands of years. Before "
    "refrigerators existed, people packed fish and meat in salt to preserve them, because it draws water out "
    "of food and makes it difficult for bacteria to grow. Salt is gathered in two main ways. Along warm "
    "coasts seawater is let into shallow ponds where the sun evaporates it and leaves crystals behind, while "
    "elsewhere it is mined from thick underground layers left by ancient seas. The body needs a small amount "
    "of sodium to keep nerves and muscles working properly.",
    "A city park offers space that most residents do not have at home. On a fine afternoon joggers follow the"
    " paths around the lawns, parents push prams past the pond and children queue for the swings. Older trees"
    " give shade in summer and help cool the streets nearby, while flower beds and hedges attract birds and "
    "insects. Gardeners employed by the city mow the grass, prune shrubs and empty the bins. Many parks also "
    "hold events such as outdoor concerts, markets and sports days, and some lock their gates in the evening "
    "and open them again in the morning.",
    "Glass is made mostly from sand, which is rich in silica, heated together with soda ash and limestone "
    "until the mixture melts into a glowing liquid. Soda ash lowers the melting temperature, and limestone "
    "makes the finished glass more durable. Window glass is usually produced by pouring the molten mixture "
    "onto a bath of liquid tin, where it spreads into a flat, even sheet before it cools. Bottles and jars "
    "are shaped by blowing air into the glass inside a mould. Because glass can be melted again without "
    "losing quality, old bottles are widely collected and recycled.",
)


def items() -> list[dict]:
    """The passages as text-suite items; ids are stable positions so results can be matched across runs."""
    return [{"id": f"general-{i:03d}", "text": text} for i, text in enumerate(PASSAGES)]

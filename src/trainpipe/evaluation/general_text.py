"""Built-in general-prose passages for the retention_text_dev/_test perplexity suites: a fixed, offline sample of
everyday and encyclopedic English, deterministic so that perplexity is comparable across runs and models."""
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
    'Snowflakes form high in cold clouds when water vapour freezes onto tiny specks of dust or pollen. As the '
    'young crystal falls, more vapour freezes onto its edges, and the shape it grows depends on the '
    'temperature and moisture of the air it passes through. That is why some flakes look like flat plates, '
    'some like needles and others like the familiar branching stars. Because every flake follows its own path '
    'through the cloud, no two grow in exactly the same way. Fresh snow is mostly trapped air, which makes a '
    'deep layer of it a good insulator for plants and animals sheltering underneath.',
    'Coffee beans are the seeds of a red fruit that grows on shrubs in warm, hilly regions near the equator. '
    'After picking, the fruit is removed and the green seeds are dried until they can be stored for months. '
    'Roasting transforms them. As the beans heat up they lose moisture, swell, crack and turn from green to '
    'yellow and then to brown, while sugars and oils inside them develop the aromas that people recognise. '
    'Light roasts keep more of the bright, fruity flavours of the original bean, and dark roasts taste bolder '
    'and more bitter. Ground coffee loses its aroma quickly, so many people grind beans just before brewing.',
    'A compost heap turns kitchen scraps and garden waste into dark, crumbly material that feeds the soil. '
    'Bacteria, fungi, worms and insects do the work, breaking down vegetable peelings, coffee grounds, grass '
    'clippings and dry leaves. A good heap mixes wet green material with dry brown material such as straw or '
    'cardboard, because the microbes need both. Turning the pile with a fork now and then lets air in and '
    'keeps it from smelling unpleasant. Meat, dairy and oily food are usually left out, since they attract '
    'pests. After several months the finished compost can be spread on flower beds or dug into a vegetable '
    'patch.',
    'A refrigerator does not create cold; it moves heat out of its inside and releases it into the kitchen. A '
    'special fluid circulates through a loop of pipes. Inside the cabinet the fluid evaporates, and in doing '
    'so it absorbs heat from the food and air around it. A compressor then squeezes the vapour, which makes '
    'it hot, and the coils at the back of the appliance let that heat escape into the room. The fluid '
    'condenses back into a liquid and the cycle begins again. This is why the back of a fridge feels warm and '
    'why it needs space around it to work well.',
    'The octopus is a soft-bodied sea animal with eight flexible arms lined with suckers. It has no bones, so '
    'it can squeeze through any gap larger than its hard beak. Many octopuses can change the colour and '
    'texture of their skin in a moment, using special cells to blend in with rocks, sand or seaweed. When '
    'threatened, they may squirt a cloud of dark ink and dart away. Octopuses are known for their curiosity '
    'and problem solving; in aquariums they have opened jars and slipped out of their tanks at night. Most '
    'species live only a year or two and spend much of that time alone.',
    'Penguins are birds that cannot fly, but they are superb swimmers. Their wings have become stiff flippers '
    'that push them through the water, and their dense, oily feathers keep them dry and warm. Most penguins '
    'live in the southern half of the world, from icy Antarctic shores to cooler coasts of South America, '
    'Africa and Australia. They feed on fish, squid and small shrimp caught during dives. On land they waddle '
    'or slide on their bellies across the ice. Many species nest in large, noisy colonies, and parents take '
    'turns guarding the egg or chick while the other goes to sea to find food.',
    'A wind turbine turns the movement of air into electricity. Its long blades are shaped like aircraft '
    'wings, so that passing wind creates a force that makes them spin. The blades turn a shaft connected to a '
    'generator inside the housing at the top of the tower. Because the wind is stronger and steadier higher '
    'up, towers are built tall, and turbines are often placed on open hills or out at sea. Sensors track the '
    'wind direction and rotate the head of the turbine to face it. In a storm the blades can be turned '
    'edge-on to the wind so that the machine is not damaged.',
    'Chess is played by two people on a square board of light and dark squares. Each player begins with a row '
    'of pawns in front of a row of stronger pieces: rooks, knights, bishops, a queen and a king. Every kind '
    'of piece moves in its own pattern. The knight jumps in an L shape, the bishop slides along diagonals and '
    'the rook moves in straight lines. The aim is to trap the opposing king so that it cannot escape capture, '
    'which is called checkmate. Good players think several moves ahead, and the game has been studied for '
    'centuries in books, clubs and tournaments around the world.',
    'Knitting turns a single strand of yarn into fabric by pulling loops through other loops. A knitter holds '
    'two needles and works across a row of stitches, moving each loop from one needle to the other. Two basic '
    'stitches, knit and purl, can be combined to make smooth surfaces, ridges or raised patterns. Wool is a '
    'popular choice because it is warm, springy and holds its shape, but cotton and synthetic yarns are also '
    'common. Beginners often start with a simple scarf, since it needs no shaping. Many people find the '
    'steady rhythm of the needles relaxing at the end of a busy day.',
    'Cheese begins as milk from cows, goats, sheep or buffalo. The cheesemaker warms the milk and adds a '
    'starter culture of helpful bacteria together with rennet, an enzyme that makes the milk proteins join '
    'into a soft curd. The curd is cut, stirred and drained to separate it from the watery whey. It is then '
    'salted, pressed into moulds and left to age. During ageing, bacteria and sometimes moulds slowly change '
    'its flavour and texture. A fresh cheese may be ready in days, while a hard cheese can rest in a cool '
    'cellar for a year or more before it is sold.',
    'Coral reefs look like underwater rock gardens, but they are built by living animals. Each coral is a '
    'colony of tiny creatures called polyps, which take minerals from seawater to build hard skeletons around '
    'themselves. Over many generations these skeletons pile up into reefs that can stretch for great '
    'distances. Most reef corals live in warm, shallow, clear water, where sunlight reaches the microscopic '
    'algae living inside their tissues and giving them food and colour. Reefs shelter a huge variety of fish, '
    'crabs, sea turtles and other life. They also protect coastlines by breaking up waves before they reach '
    'the shore.',
    'Training a dog works best with patience, short sessions and rewards. When a dog does what is asked, such '
    'as sitting or coming when called, a small treat or a word of praise given at once helps it connect the '
    'action with something pleasant. Repeating the same command word and gesture each time avoids confusion. '
    'Punishment tends to make dogs anxious rather than obedient, so trainers prefer to ignore unwanted '
    'behaviour and reward the behaviour they want instead. Young puppies learn quickly but tire fast, so a '
    'few minutes several times a day is better than one long lesson. Regular walks also help a dog stay calm.',
    'A camera records an image by letting light fall onto a sensor for a short, carefully chosen moment. The '
    'lens gathers the light and focuses it so that the picture is sharp. An opening inside the lens, called '
    'the aperture, can be made wider to let in more light or narrower to keep more of the scene in focus. The '
    'shutter controls how long the sensor is exposed: a quick shutter freezes a running child, while a slow '
    'one can turn a waterfall into a soft blur. Photographers balance these settings against the brightness '
    'of the scene to get the picture they have in mind.',
    'Before the printing press, books in Europe were copied by hand, which made them rare and costly. In the '
    'fifteenth century a goldsmith in the German city of Mainz developed a way to print with small metal '
    'letters that could be arranged into pages, inked and pressed onto paper, then rearranged for the next '
    'job. The method spread quickly across the continent. Books, pamphlets and newspapers became cheaper and '
    'more common, and far more people learned to read. Ideas about science, religion and politics could now '
    'travel widely in a short time, which changed European society in ways that are still debated by '
    'historians.',
    'Pitching a tent is easier on flat ground that is free of stones and sticks. Campers usually lay a sheet '
    'or footprint down first to protect the floor of the tent from wear and damp. The poles are then threaded '
    'through sleeves or clipped onto the tent body, which lifts it into shape. Pegs driven into the ground at '
    'an angle hold the corners, and guy ropes pulled tight keep the walls steady in the wind. It is wise to '
    'face the door away from the wind and to avoid hollows where rainwater might collect overnight. '
    'Practising once at home saves trouble at the campsite.',
    'Olive trees have been grown around the Mediterranean Sea for thousands of years. They can live for '
    'centuries and thrive in hot, dry summers and mild winters. In autumn the fruit is harvested, sometimes '
    'by shaking the branches over nets spread on the ground. To make oil, the olives are washed and crushed '
    'into a paste, which is stirred slowly so that the oil droplets join together. The oil is then separated '
    'from the water and solid pieces. The best oils, pressed without heat or chemicals, have a fresh, grassy '
    'and slightly peppery taste and are often poured over food rather than used for frying.',
    'Elephants are the largest animals living on land. They use their long trunks to breathe, smell, drink, '
    'lift food and greet one another. Their large ears help them lose heat, and their tusks, which are very '
    'long teeth, are used for digging and stripping bark. Elephants live in close family groups led by an '
    'older female, who remembers where to find water and food during dry seasons. The herd protects its '
    'calves and moves together across the landscape. Elephants communicate with rumbles so low that people '
    'cannot hear them, and these sounds can travel through the ground over long distances.',
    'A sailing boat moves by catching the wind in its sails, but it does not need the wind to blow from '
    'behind. When the sail is set at an angle, air flowing around its curved surface creates a force much '
    'like the lift on an aircraft wing. A heavy fin under the hull, called the keel, stops the boat from '
    'sliding sideways, so that force pushes it forward instead. By changing direction in a zigzag, a sailor '
    'can make progress even toward the wind. Sailors watch the water and the clouds closely, because a sudden '
    'change in the wind can quickly alter how the boat behaves.',
    'The outer shell of the Earth is broken into large plates that move very slowly over the hotter rock '
    'beneath. Where plates press against or slide past each other, stress builds up in the rocks along their '
    'edges. When the rocks finally slip, the stored energy is released as waves that travel through the '
    'ground, and people feel an earthquake. Most are too weak to notice, but strong ones can damage buildings '
    'and roads. In regions where earthquakes are common, buildings are designed to sway rather than crack, '
    'and schools hold drills so that people know to take cover under sturdy furniture.',
    'Mushrooms are only the visible part of a fungus. Most of the organism is a web of fine threads hidden in '
    'soil or rotting wood, and the mushroom appears above ground to release spores, much as a plant releases '
    'seeds. Fungi are neither plants nor animals. They cannot make their own food from sunlight, so they '
    'absorb nutrients from dead leaves, fallen trees and other material, breaking it down and returning it to '
    'the soil. Many trees depend on fungi attached to their roots to help them take up water. Some wild '
    'mushrooms are delicious, but others are poisonous, so foragers must be careful.',
    'Recycling starts at home, where paper, glass, metal cans and some plastics are separated from other '
    'rubbish. Collection trucks take them to a sorting centre. There, conveyor belts, magnets, screens and '
    'jets of air divide the mixture into streams of each material, while workers pick out items that do not '
    'belong. The sorted material is pressed into bales and sold to factories that melt, shred or pulp it to '
    'make new products. Clean items are far easier to recycle than dirty ones, so rinsing a jar before '
    'putting it in the bin helps. Reducing waste in the first place saves even more energy.',
    'Swimming well depends more on technique than on strength. In the front crawl, the most common stroke, '
    'the swimmer lies flat in the water, reaches forward with one arm at a time and pulls back toward the '
    'hip, while the legs kick steadily from the hips. Turning the head to the side to breathe, rather than '
    'lifting it, keeps the body level and reduces drag. Breaststroke is slower but lets the swimmer see ahead '
    'and is popular for relaxed swimming. Learning to float calmly and to breathe out under water are usually '
    'the first steps for beginners taking lessons at a local pool.',
    'Chocolate comes from the seeds of the cacao tree, which grows in hot, humid places near the equator. The '
    'seeds grow inside large pods that sprout directly from the trunk. After harvest, the seeds are piled up '
    'and left to ferment for several days, which begins to develop their flavour, and then they are dried in '
    'the sun. Factories roast the beans, remove the shells and grind the centres into a thick paste. Sugar, '
    'and for milk chocolate some milk powder, is mixed in. The mixture is stirred for hours to make it '
    'smooth, then cooled carefully so that the finished bar snaps cleanly.',
    'Tropical rainforests grow in warm regions where rain falls through most of the year. They cover a small '
    "share of the land, yet they are home to a large part of the world's plant and animal species. The forest "
    'has layers. Tall trees form a dense canopy that catches most of the sunlight, while below it climbing '
    'plants, ferns and young trees compete for what light reaches them. The forest floor is dim and damp, and '
    'fallen leaves rot quickly there. Monkeys, frogs, birds and countless insects live at different heights, '
    'and many never come down to the ground at all.',
    'Owls are birds of prey that mostly hunt at night. Their large eyes face forward and gather a great deal '
    'of light, and they can turn their heads much further round than people can, which makes up for eyes that '
    "cannot move in their sockets. Hearing matters even more. The flat disc of feathers on an owl's face "
    'guides sound toward its ears, allowing it to locate a mouse rustling under leaves or snow. Soft edges on '
    'the wing feathers muffle the sound of flight, so prey rarely hears an owl coming. After eating, owls '
    'bring up pellets of fur and bone they cannot digest.',
    'Washing hands with soap is one of the simplest ways to avoid spreading illness. Soap molecules have one '
    'end that is attracted to water and another that is attracted to oil and grease. When hands are rubbed '
    'together with soap, these molecules surround the oily dirt and many germs on the skin and break them '
    'apart, so that running water can carry them away. Rubbing all parts of the hands, including the backs, '
    'between the fingers and under the nails, for about as long as it takes to hum a short song, works far '
    'better than a quick rinse. Drying hands properly also helps.',
    'An umbrella is a simple but clever device. A central shaft holds a set of thin ribs that fan out like '
    'the spokes of a wheel, and a waterproof cloth is stretched over them. Sliding a runner up the shaft '
    'pushes the ribs open and locks them in place, and sliding it down folds the whole canopy into a slim '
    'bundle. Early umbrellas were used in hot countries as shade from the sun, and only later became common '
    'protection against rain. Modern folding umbrellas fit into a bag, though strong gusts of wind can still '
    'turn them inside out and bend the ribs.',
    'Training for a long-distance run is a gradual process. Most plans build up slowly over several months, '
    'lengthening one run each week while keeping the others short and easy. Easy runs should be slow enough '
    'to hold a conversation, which trains the heart and muscles without wearing them out. Rest days matter as '
    'much as running days, since the body grows stronger while it recovers. Good shoes, enough sleep and '
    'plenty of water help prevent injury. In the last week or two before the race, runners usually cut back '
    'their training so that they arrive at the start line feeling fresh.',
    'A hot air balloon rises because warm air is lighter than the cooler air around it. A burner below the '
    'opening of the large fabric envelope blasts a flame upward, heating the air inside. When the pilot wants '
    'to climb, the burner is fired for a few seconds; to descend, the air is allowed to cool or a vent at the '
    'top is opened briefly. Balloons have no steering wheel. Pilots change height to find winds blowing in '
    'different directions and ride them toward where they want to go. Flights usually take place soon after '
    'sunrise, when the air is calm and steady.',
    'Writing began as a way to keep records. Early farmers and traders pressed marks into clay or drew '
    'pictures to stand for goods, animals and people. Over time these pictures became simpler signs, and some '
    'came to stand for sounds rather than things. An alphabet takes this idea furthest, using a small set of '
    'letters that each represent a sound, so that any word can be spelled. Many of the alphabets in use '
    'today, including the one used for English, descend from scripts created around the eastern Mediterranean '
    'long ago. Other systems, such as Chinese characters, still represent whole words or syllables.',
    'Cotton grows as a fluffy white fibre around the seeds of a shrubby plant that needs a long, warm growing '
    'season. When the seed pods burst open, the fibres are picked, by hand or by machine, and then sent to a '
    'gin that separates them from the seeds. The clean fibres are combed so that they lie in the same '
    'direction and are twisted into yarn. Looms weave that yarn into fabric for shirts, towels, sheets and '
    'jeans. Cotton is popular because it is soft, breathes well in hot weather and can be washed many times, '
    'although it wrinkles easily and dries slowly.',
    'Potatoes were first grown in the Andes mountains of South America, where farmers developed many '
    'varieties suited to different heights and soils. Sailors brought them to Europe, and at first many '
    'people there distrusted the strange new plant. Over time farmers learned that potatoes produce a large '
    'amount of food from a small field and grow well in cool, damp climates where grain struggles. They '
    'became a staple food across much of the continent. The part we eat is a swollen underground stem called '
    'a tuber, which stores energy for the plant. Potatoes left in light turn green and should not be eaten.',
    'A thunderstorm grows when warm, moist air rises quickly into colder air above. As the air climbs, its '
    'water vapour condenses into a towering cloud, and inside it ice crystals and drops of water are thrown '
    'up and down by strong currents. These collisions separate electric charges, until the difference becomes '
    'so large that a giant spark jumps across the sky or down to the ground. That spark is lightning. It '
    'heats the air around it so suddenly that the air expands with a crack, which we hear as thunder. Because '
    'light travels faster than sound, we see the flash first.',
    'A rainbow appears when sunlight shines on drops of water in the air while the sun is behind the person '
    'watching. Each drop acts like a tiny prism. Light entering the drop bends, reflects off the back surface '
    'and bends again as it leaves, and each colour bends by a slightly different amount. This spreads white '
    'sunlight into a band of colours from red on the outside to violet on the inside. Rainbows are often seen '
    'after a shower in the late afternoon, when the sun is low. Sometimes a fainter second bow appears '
    'outside the first, with its colours reversed.',
    'Houseplants bring a little of the outdoors inside, but they depend entirely on the care they are given. '
    'Most suffer more from too much water than too little, because roots sitting in soggy soil begin to rot. '
    'A good habit is to feel the soil with a finger and water only when the top layer is dry. Light matters '
    'too. Plants from shady forest floors cope well away from windows, while succulents and cacti need bright '
    'sun. Pots should have holes in the bottom so extra water can drain. In winter, when growth slows, most '
    'plants need less water and no feeding.',
    'A kite flies because wind pushing against its tilted surface is deflected downward, which pushes the '
    'kite upward. The string holds it at the right angle, and a tail adds weight and drag at the back, '
    'keeping the nose pointing into the wind so it does not spin. Kites were flown in China long ago and were '
    'later used for signalling, measuring the weather and even lifting people. Today most are flown for fun '
    'on beaches and open hills. A steady breeze is better than a gusty one, and flyers must stay well away '
    'from trees and overhead power lines.',
    'Castles were built in medieval Europe as fortified homes for lords and their households. Early castles '
    'were often wooden towers on earth mounds, but stone soon replaced wood because it could not be burned. '
    'Thick walls, narrow windows, towers at the corners and a strong gate protected the people inside. Many '
    'castles were surrounded by a ditch or a moat filled with water, crossed by a bridge that could be '
    'raised. Inside there were halls, kitchens, stables, storerooms and a chapel. As cannons improved, high '
    'walls became easier to knock down, and castles slowly gave way to grand country houses.',
    'Canals are waterways dug by people to carry boats where no river runs. Because land rises and falls, '
    'canals use locks to move boats between different levels. A lock is a chamber with gates at each end. A '
    'boat enters and the gates close behind it; then water is let in or out through small openings until the '
    'level inside matches the stretch of canal ahead. The front gates open and the boat continues on its way. '
    'Canals once carried coal, grain and building materials across many countries, and today many are used '
    'mainly by holiday boats, walkers and anglers.',
    'Pottery is one of the oldest crafts. Clay dug from the ground is soft and can be shaped by hand, rolled '
    "into coils or thrown on a spinning wheel, where the potter's hands draw the clay up into a pot or bowl. "
    'The piece is left to dry slowly so that it does not crack, and then it is fired in a kiln at very high '
    'temperatures, which turns it hard and permanent. A glaze, a thin coating of minerals that melts into a '
    'glassy layer during a second firing, makes the surface smooth, colourful and able to hold water without '
    'soaking it up.',
    'Most frogs begin life as eggs laid in water, often in a jelly-like mass clinging to plants in a pond. '
    'The eggs hatch into tadpoles, which breathe through gills, swim with long tails and feed mostly on '
    'algae. Over several weeks the tadpoles change dramatically. Back legs appear first, then front legs, '
    'while the tail shrinks and lungs develop. The young frog climbs out onto land and begins to hunt insects '
    'with its long, sticky tongue. Because frogs breathe partly through their thin skin, they are very '
    'sensitive to pollution, and scientists watch their numbers as a sign of a healthy environment.',
    'Maple syrup is made from the sap of maple trees in the cold forests of north-eastern North America. In '
    'late winter and early spring, when nights are freezing and days are mild, pressure inside the trunks '
    'pushes sap out through small holes drilled into the bark. The sap is clear, watery and only slightly '
    'sweet. It is collected in buckets or through tubes and boiled for many hours in wide pans, so that most '
    'of the water evaporates and the sugars become a thick, golden syrup. A large amount of sap is needed for '
    'a small bottle, which is one reason syrup is expensive.',
    'Ice skating depends on a thin layer of water on the surface of the ice. The narrow steel blade of a '
    'skate presses on only a small area, and the ice beneath it is slippery, so a skater can glide a long way '
    'with each push. Beginners learn to bend their knees, keep their weight over their feet and push out to '
    'the side rather than backwards. Stopping is usually learned by turning the blades inward to scrape the '
    'ice. Natural ice on lakes and ponds can look solid while still being thin, so it is safest to skate only '
    'where the ice has been checked.',
    'A play reaches its first night after weeks of rehearsal. The director and the actors begin by reading '
    'the script aloud around a table, talking about the characters and what they want. Then they move into a '
    'rehearsal room and work out where each person stands and moves, scene by scene. Meanwhile designers '
    'prepare the set, costumes, lighting and sound. In the final days everything comes together on the stage '
    'in technical rehearsals, which can be long and slow as each cue is set. A dress rehearsal runs the whole '
    'show as if an audience were watching.',
    'Packing a suitcase well saves space and keeps clothes in better shape. Many travellers roll soft items '
    'such as T-shirts and trousers instead of folding them, which reduces creases and fills gaps. Heavy '
    'things like shoes go at the bottom, near the wheels, so the case stays upright. Small items can be '
    'tucked inside shoes, and liquids are best sealed in a plastic bag in case they leak. Writing a list a '
    'few days before departure helps avoid forgetting chargers, medicines or documents. Leaving a little room '
    'is wise, since most people come home with more than they took.',
)


def items() -> list[dict]:
    """The passages as text-suite items; ids are stable positions so results can be matched across runs."""
    return [{"id": f"general-{i:03d}", "text": text} for i, text in enumerate(PASSAGES)]

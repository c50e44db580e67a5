"""Phrasebook content: keyword table (what the camera saw) and remark templates per language and category.

Template slots (filled by `phrasebook.py`):
- `{obj:case}` — the seen object with its count, in a pymorphy3 case (nomn gent datv accs ablt loct);
  `{Obj:case}` capitalises it. English templates use plain `{obj}` / `{Obj}`.
- `{side}` / `{Side}` — «слева», «справа», «впереди», «сзади» (en: "on the left", …).
- `{~sing|plur}` or `{~masc|femn|neut|plur}` — a word agreeing with the object as a subject.
A template is used only when the trigger supplies every slot it names. Names are spelled in Cyrillic in
Russian templates (Нуану, Бали) so the Russian voice never reads Latin letters.
"""

from __future__ import annotations

from dataclasses import dataclass

CATEGORIES = ("animals", "people", "traffic", "scenery", "weather", "food", "shuttle", "generic")


@dataclass(frozen=True, slots=True)
class Keyword:
    """One thing the camera can report. `lemmas` match pymorphy3 normal forms exactly; `stems` match as
    prefixes of normal forms (kept ≥ 4 letters so «пес» never catches «песок»); `en` lists English words
    (singular first, used for English output)."""

    category: str
    ru: str  # the noun used in Russian output when the trigger's own word is not a dictionary noun
    en: tuple[str, ...]
    lemmas: tuple[str, ...] = ()
    stems: tuple[str, ...] = ()
    emoji: tuple[str, ...] = ()


def _k(category: str, ru: str, en: str, lemmas: str = "", stems: str = "", emoji: str = "") -> Keyword:
    return Keyword(category, ru, tuple(en.split()), tuple({ru, *lemmas.split()}), tuple(stems.split()),
                   tuple(emoji.split()))  # fmt: skip


KEYWORDS: tuple[Keyword, ...] = (
    # animals
    _k("animals", "собака", "dog puppy pup pooch", "пёс пес псина щенок пёсик песик", "собак собач", "🐶 🐕"),
    _k("animals", "кошка", "cat kitten kitty", "кот котик котёнок кошечка котяра", "кошк", "🐱 🐈"),
    _k("animals", "обезьяна", "monkey macaque ape", "макака", "обезьян макак", "🐒 🐵"),
    _k("animals", "корова", "cow bull buffalo calf", "бык бычок телёнок буйвол", "коров буйвол", "🐄 🐃"),
    _k("animals", "курица", "chicken rooster hen chick", "петух цыплёнок курочка петушок", "куриц", "🐓 🐔"),
    _k("animals", "утка", "duck goose duckling", "уточка утёнок гусь", "", "🦆"),
    _k("animals", "птица", "bird parrot heron crow", "воробей ворона попугай цапля", "птиц птич", "🐦"),
    _k("animals", "ящерица", "lizard gecko iguana", "геккон варан игуана", "ящериц", "🦎"),
    _k("animals", "коза", "goat", "козёл козлёнок", "", "🐐"),
    _k("animals", "свинья", "pig piglet boar", "поросёнок хрюшка кабан", "", "🐖"),
    _k("animals", "змея", "snake python", "змейка питон", "", "🐍"),
    _k("animals", "лошадь", "horse pony", "конь пони", "лошад", "🐎"),
    _k("animals", "черепаха", "turtle tortoise", "", "черепах", "🐢"),
    _k("animals", "слон", "elephant", "слонёнок", "", "🐘"),
    _k("animals", "краб", "crab", "", "", "🦀"),
    # people
    _k("people", "турист", "tourist traveller traveler", "туристка", "турист", ""),
    _k("people", "человек", "person people", "люди", "", ""),
    _k("people", "мужчина", "man men guy", "парень", "", ""),
    _k("people", "женщина", "woman women lady", "девушка дама", "", ""),
    _k("people", "ребёнок", "child children kid", "дети ребенок мальчик девочка малыш", "", ""),
    _k("people", "серфер", "surfer", "сёрфер", "серфер сёрфер", "🏄"),
    _k("people", "байкер", "biker rider", "мотоциклист", "байкер", ""),
    _k("people", "фотограф", "photographer", "", "фотограф", "📸"),
    _k("people", "блогер", "blogger influencer", "блоггер инфлюенсер", "блогер блоггер", ""),
    _k("people", "пешеход", "pedestrian walker", "", "пешеход", "🚶"),
    _k("people", "монах", "monk priest", "священник жрец", "", ""),
    _k("people", "танцор", "dancer", "танцовщица танцовщик", "танцор", "💃"),
    _k("people", "толпа", "crowd", "", "", ""),
    _k("people", "семья", "family", "", "", ""),
    # traffic
    _k("traffic", "скутер", "scooter moped", "мопед мотороллер", "скутер мопед", "🛵"),
    _k("traffic", "мотоцикл", "motorbike motorcycle bike", "байк", "мотоцикл", "🏍"),
    _k("traffic", "машина", "car auto", "автомобиль авто тачка легковушка", "автомобил", "🚗"),
    _k("traffic", "грузовик", "truck lorry", "фура грузовичок", "грузовик", "🚚"),
    _k("traffic", "автобус", "bus", "", "автобус", "🚌"),
    _k("traffic", "велосипед", "bicycle cyclist", "велик велосипедист", "велосипед", "🚲"),
    _k("traffic", "такси", "taxi cab", "", "", "🚕"),
    _k("traffic", "пробка", "traffic jam", "затор", "", ""),
    _k("traffic", "светофор", "traffic light", "", "", "🚦"),
    _k("traffic", "трактор", "tractor", "", "", "🚜"),
    # scenery
    _k("scenery", "поле", "field paddy", "терраса", "", ""),
    _k("scenery", "храм", "temple shrine", "пура святилище", "", "🛕"),
    _k("scenery", "пляж", "beach", "берег", "", "🏖"),
    _k("scenery", "океан", "ocean sea", "море", "", "🌊"),
    _k("scenery", "волна", "wave", "", "", ""),
    _k("scenery", "вулкан", "volcano", "", "вулкан", "🌋"),
    _k("scenery", "пальма", "palm", "", "пальм", "🌴"),
    _k("scenery", "закат", "sunset", "рассвет", "", "🌅"),
    _k("scenery", "джунгли", "jungle forest", "лес", "", ""),
    _k("scenery", "водопад", "waterfall", "", "водопад", ""),
    _k("scenery", "гора", "mountain hill", "холм", "", "⛰"),
    _k("scenery", "статуя", "statue", "скульптура", "стату", "🗿"),
    # weather
    _k("weather", "дождь", "rain shower drizzle", "ливень дождик морось дождичек", "", "🌧 ☔"),
    _k("weather", "солнце", "sun sunshine", "", "", "☀"),
    _k("weather", "жара", "heat", "зной", "", "🥵"),
    _k("weather", "туман", "fog mist", "дымка", "", "🌫"),
    _k("weather", "радуга", "rainbow", "", "", "🌈"),
    _k("weather", "гроза", "thunderstorm storm thunder lightning", "гром молния буря", "", "⛈"),
    _k("weather", "ветер", "wind breeze", "ветерок", "", "💨"),
    _k("weather", "облако", "cloud", "туча тучка облачко", "", "☁"),
    _k("weather", "лужа", "puddle", "", "", ""),
    # food and markets
    _k("food", "рынок", "market bazaar", "базар ярмарка", "", ""),
    _k("food", "фрукт", "fruit", "папайя рамбутан дуриан ананас арбуз", "фрукт", "🍍"),
    _k("food", "манго", "mango", "", "", "🥭"),
    _k("food", "банан", "banana", "", "банан", "🍌"),
    _k("food", "кокос", "coconut", "", "кокос", "🥥"),
    _k("food", "кофе", "coffee", "", "", "☕"),
    _k("food", "кафе", "cafe warung restaurant", "варунг ресторан ресторанчик кофейня", "", ""),
    _k("food", "торговец", "vendor seller trader", "продавец продавщица торговка", "торгов", ""),
    _k("food", "еда", "food meal", "сатай лоток", "", "🍜"),
    _k("food", "рис", "rice", "", "", "🍚"),
    # the shuttle and its passengers
    _k("shuttle", "шаттл", "shuttle", "шатл", "шаттл", ""),
    _k("shuttle", "пассажир", "passenger", "пассажирка", "пассажир", ""),
    _k("shuttle", "водитель", "driver", "", "водител", ""),
    _k("shuttle", "остановка", "stop", "", "", "🚏"),
    _k("shuttle", "кондиционер", "air conditioner", "", "кондиционер", ""),
    _k("shuttle", "дверь", "door", "", "", "🚪"),
    _k("shuttle", "сиденье", "seat", "кресло", "", ""),
    _k("shuttle", "билет", "ticket", "", "", "🎫"),
    _k("shuttle", "батарея", "battery", "аккумулятор зарядка", "", "🔋"),
    _k("shuttle", "маршрут", "route", "", "", ""),
)

# Words that set the category but are not objects (adverbs, adjectives): pymorphy normal forms.
CATEGORY_WORDS: dict[str, str] = {
    "жарко": "weather", "душно": "weather", "дождливо": "weather", "солнечно": "weather",
    "пасмурно": "weather", "ветрено": "weather", "мокро": "weather", "дождливый": "weather",
    "вкусно": "food", "вкусный": "food", "голодный": "food",
    "нуану": "shuttle", "nuanu": "shuttle",
    "рисовый": "scenery", "зелёный": "scenery",
    "sunny": "weather", "rainy": "weather", "hot": "weather", "windy": "weather", "cloudy": "weather",
    "tasty": "food", "hungry": "food",
}  # fmt: skip

# Nouns that say "a lot of the next noun" («группа туристов», «стая собак»); some carry a count.
QUANTIFIERS: dict[str, int | None] = {
    "группа": None, "толпа": None, "стая": None, "куча": None, "компания": None, "стадо": None,
    "табун": None, "семья": None, "семейство": None, "банда": None, "вереница": None, "колонна": None,
    "орава": None, "отряд": None, "много": None, "несколько": None, "множество": None, "пара": 2,
    "парочка": 2, "десяток": 10, "дюжина": 12,
    "group": None, "crowd": None, "pack": None, "flock": None, "herd": None, "bunch": None, "lots": None,
    "lot": None, "many": None, "several": None, "some": None, "few": None, "family": None,
}  # fmt: skip

# Dictionary nouns that never become the object of a generic remark (they describe the report itself).
NOT_OBJECTS = frozenset(
    [
        "камера",
        "кадр",
        "объект",
        "сторона",
        "вид",
        "раз",
        "штука",
        "что-то",
        "нечто",
        "картинка",
        "изображение",
        "обзор",
        "зона",
        "дорога",
        "трасса",
        "детекция",
        "распознавание",
        "событие",
        "момент",
        "время",
        "секунда",
        "минута",
        "метр",
    ]
)

SIDES_RU = {"left": "слева", "right": "справа", "ahead": "впереди", "behind": "сзади"}
SIDES_EN = {"left": "on the left", "right": "on the right", "ahead": "ahead", "behind": "behind us"}
SIDE_WORDS: dict[str, str] = {
    "слева": "left", "налево": "left", "левый": "left", "справа": "right", "направо": "right",
    "правый": "right", "впереди": "ahead", "спереди": "ahead", "прямо": "ahead", "курс": "ahead",
    "сзади": "behind", "позади": "behind", "left": "left", "right": "right", "ahead": "ahead",
    "front": "ahead", "behind": "behind",
}  # fmt: skip


TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "ru": {
        "animals": (
            "Вижу {obj:accs}! Пассажиры, без паники: это их остров, а мы тут в гостях.",
            "{Obj:nomn} {side} {~смотрит|смотрят} на шаттл так, будто мы {~ему|ей|ему|им} должны за проезд.",
            "Притормозим ради {obj:gent}: на Бали у животных своё расписание, и оно важнее нашего.",
            "С {obj:ablt} не спорим: {~он|она|оно|они} тут {~местный|местная|местное|местные}, а мы всего лишь электрические.",
            "Передаю привет {obj:datv}! Самые спокойные участники движения на всём Бали.",
            "Внимание, {side} {obj:nomn}! Шаттл сбавляет скорость и включает режим умиления.",
            "Камера засекла {obj:accs}. Фото уже в семейном альбоме шаттла.",
            "Мечтаю о {obj:loct}… Шучу, я шаттл, я мечтаю о зарядке. Но как же мило!",
            "{Obj:nomn}? Отлично, значит, экскурсия по Нуану идёт по плану, с живой природой.",
            "Если {obj:nomn} {~попросит|попросят} подвезти, место у окна найдём.",
            "Кто-то хвостатый {side}! Едем тихо и вежливо, мы тут гости.",
            "Местная фауна вышла поздороваться. Помашем в ответ, но руки из окон не высовываем.",
            "На дороге снова зоопарк без билетов. Лучшее развлечение на Бали, и бесплатно.",
        ),
        "people": (
            "Вижу {obj:accs}! Машем и улыбаемся, у нас на Бали так принято.",
            "{Obj:nomn} {side}! Надеюсь, {~он|она|оно|они} уже {~попробовал|попробовала|попробовало|попробовали} местный кофе.",
            "Приветствуем {obj:accs}! Шаттл Нуану рад всем, особенно тем, кто в солнцезащитном креме.",
            "Если {obj:nomn} {~ищет|ищут} лучший вид на закат, пусть просто {~едет|едут} с нами.",
            "Уступаем дорогу {obj:datv}: пешком по Бали — это тоже экскурсия.",
            "Кажется, {obj:nomn} {side} {~фотографирует|фотографируют} шаттл. Я готов, у меня рабочая сторона слева.",
            "Рядом с {obj:ablt} я выгляжу очень серьёзным транспортом. Но в душе я тоже в отпуске.",
            "Записываю в бортовой журнал: встретили {obj:accs}, настроение отличное.",
            "Про {obj:accs} скажу одно: загар у нас тут бесплатный, главное — не переборщить.",
            "{Side} люди! Улыбаемся, нас снимают для чьего-то блога.",
            "Сколько счастливых лиц вокруг! Видимо, все узнали, что шаттл бесплатный.",
            "Привет всем, кто идёт пешком! Мы едем медленно, так что вы почти не отстаёте.",
        ),
        "traffic": (
            "{Obj:nomn} {side}! Пропускаем: на Бали дорога общая, а терпение — наше главное топливо.",
            "Вижу {obj:accs}. Держим дистанцию, я электрический и очень осторожный.",
            "Пусть {obj:nomn} {~едет первым|едут первыми}: мы не спешим, у нас экскурсия, а не гонка.",
            "Наш девиз рядом с {obj:ablt}: тише едешь — дальше будешь.",
            "Объезжаем {obj:accs} аккуратно, как настоящий островной профессионал.",
            "Соревноваться с {obj:ablt} не будем. Наш приз — спокойствие пассажиров.",
            "Передаю {obj:datv} привет от самого тихого транспорта в Нуану.",
            "Рядом с {obj:ablt} я чувствую себя слоном в посудной лавке, только бесшумным.",
            "{Side} оживлённо! Снижаем скорость, включаем терпение на максимум.",
            "Движение на Бали как танец: главное — не наступить партнёру на колесо.",
            "Гудеть не будем, мы культурный шаттл. Просто подождём.",
        ),
        "scenery": (
            "Посмотрите {side}: {obj:nomn}! За такой вид на Бали обычно берут деньги, а у нас бесплатно.",
            "Вижу {obj:accs}. Делайте фото, я специально поеду помедленнее.",
            "Возле {obj:gent} хочется остановиться навсегда, но расписание, увы, не разрешает.",
            "Любуемся {obj:ablt}! Открытки с Бали выглядят именно так.",
            "{Obj:nomn} — лучшая декорация для нашей поездки, и ни одного фильтра.",
            "Передаю {obj:datv} поклон от всех пассажиров шаттла.",
            "Расскажу вам о {obj:loct} коротко: красиво, по-балийски и бесконечно.",
            "{Side} открывается вид, ради которого стоило лететь через полмира.",
            "Природа Бали снова хвастается. И ей есть чем.",
            "Вот это пейзаж! Мне, как шаттлу, даже немного завидно: я всего лишь белый и квадратный.",
            "Если кто-то дремлет, просыпайтесь: за окном бесплатное кино про Бали.",
        ),
        "weather": (
            "{Obj:nomn}? На Бали это не погода, это спецэффект для атмосферы.",
            "Не боимся {obj:gent}: окна закрыты, кондиционер на посту.",
            "Встречаем {obj:accs} спокойно, у шаттла всё под контролем.",
            "С {obj:ablt} поездка становится только интереснее, проверено.",
            "Спасибо {obj:datv} за драматичную атмосферу, снимаем кино о Бали.",
            "Синоптики обещали, что {obj:nomn} {~будет|будут} недолго. Верим, но едем аккуратно.",
            "Мечтаете о {obj:loct}? Вы на Бали, здесь погода меняется быстрее, чем плейлист.",
            "Погода {side} меняется. Не переживайте, внутри шаттла всегда хороший прогноз.",
            "На Бали сразу три времени года: жарко, очень жарко и приятно в шаттле.",
            "Берегите головы от солнца и настроение от дождя. Шаттл берёт заботу на себя.",
            "Небо сегодня в ударе. А мы едем дальше, погода нам не помеха.",
        ),
        "food": (
            "Вижу {obj:accs}! Пассажиры, держите себя в руках, у нас ещё маршрут.",
            "{Obj:nomn} {side}. Запах такой, что даже у шаттла просыпается аппетит.",
            "Без {obj:gent} день на Бали не считается, проверено местными.",
            "Рядом с {obj:ablt} всегда пробка из голодных туристов.",
            "Передаю привет {obj:datv}! Жаль, электричество не бывает со вкусом манго.",
            "Мечтаю о {obj:loct}, но я питаюсь только от розетки. Вам повезло больше.",
            "Кто захочет вернуться к {obj:datv}, запомните место: после поездки успеете.",
            "{Side} что-то вкусное! Шаттл официально заявляет: я не голоден, я просто смотрю.",
            "Балийский рынок — это музей, где экспонаты можно съесть.",
            "Пахнет сатаем и тропическими фруктами. Нуану, ты умеешь соблазнять.",
            "Кто проголодался, поднимите руку. Я посчитаю и сделаю вид, что не видел.",
        ),
        "shuttle": (
            "{Obj:nomn} на связи! Пристегнитесь, шоу продолжается.",
            "Заботимся о {obj:loct} как о самом ценном грузе на острове.",
            "Без {obj:gent} я был бы просто коробкой на колёсах.",
            "Спасибо, что выбрали шаттл Нуану. Вижу {obj:accs}, всё в порядке.",
            "Обращаюсь к {obj:datv}: держитесь за поручни, впереди самое интересное.",
            "С {obj:ablt} поездка всегда приятнее, подтверждаю как шаттл.",
            "{Side} всё спокойно. Шаттл Нуану едет, пассажиры улыбаются.",
            "Я электрический, бесшумный и немного сентиментальный. Спасибо, что вы со мной.",
            "Следующая остановка: хорошее настроение. Не забывайте свои вещи и улыбки.",
            "Напоминаю: руки и селфи-палки держим внутри шаттла.",
            "Заряд батареи отличный, заряд юмора тоже. Поехали дальше.",
        ),
        "generic": (
            "Вижу {obj:accs}! Запишу в бортовой журнал как главное событие дня.",
            "{Obj:nomn} {side}? Что ж, на Бали бывает и не такое.",
            "Без {obj:gent} этот маршрут был бы не таким интересным.",
            "Камера заметила {obj:accs}. Я пока не знаю, что с этим делать, но звучит важно.",
            "Передаю привет {obj:datv} от шаттла Нуану.",
            "Что-то интересное {side}! Смотрим внимательно, рассказываем друзьям.",
            "Камера что-то заметила. Я бы объяснил, но мне за рулём отвлекаться нельзя.",
            "На Бали каждый поворот — маленькое приключение. Этот не исключение.",
            "Интересно, очень интересно. Продолжаем наблюдение и улыбаемся.",
            "Если это было важно, я обязательно сделаю вид, что так и задумано.",
            "Шаттл Нуану всё видит и всё прощает. Едем дальше.",
            "Бали снова удивляет, а я снова делаю вид, что всё под контролем.",
            "Отличный повод улыбнуться. Пассажиры, улыбаемся, шаттл не против.",
        ),
    },
    "en": {
        "animals": (
            "I see {obj}! Relax, folks, it's their island, we're just visiting.",
            "{Obj} {side} {~is|are} looking at us like we owe {~it|them} a fare.",
            "Slowing down for {obj}: on Bali, animals keep their own timetable.",
            "Say hi to {obj}, the calmest road users in all of Bali.",
            "Camera spotted {obj}. Photo saved to the shuttle's family album.",
            "Something furry {side}! Quiet and polite, we're guests here.",
            "The local wildlife came to say hello. Wave back, but keep your hands inside.",
            "Nature has the right of way here. The shuttle waits politely.",
        ),
        "people": (
            "I see {obj}! Wave and smile, that's how we do it on Bali.",
            "{Obj} {side}! I hope they tried the local coffee already.",
            "Big hello to {obj}! The NUANU shuttle loves everyone, especially people wearing sunscreen.",
            "Logging it: we met {obj}, mood excellent.",
            "So many happy faces! Everyone must have heard the shuttle is free.",
            "Hello to everyone walking! We drive slowly, so you're barely behind.",
        ),
        "traffic": (
            "{Obj} {side}! Let {~it|them} pass: on Bali, scooters are a lifestyle.",
            "I see {obj}. Keeping my distance, I'm electric and very careful.",
            "No racing with {obj}. Our prize is calm passengers.",
            "Traffic on Bali is a dance: just don't step on your partner's wheel.",
            "No honking, we're a polite shuttle. We'll simply wait.",
            "Busy {side}! Slowing down, patience set to maximum.",
        ),
        "scenery": (
            "Look {side}: {obj}! People pay for this view, and you get it for free.",
            "I see {obj}. Take your photos, I'll drive a little slower.",
            "{Obj} {~makes|make} the best backdrop for our ride, no filter needed.",
            "Bali's nature is showing off again. And it has every right to.",
            "If anyone's dozing, wake up: free movie about Bali outside the window.",
            "What a view {side}! Worth flying halfway around the world.",
        ),
        "weather": (
            "{Obj}? On Bali that's not weather, that's a special effect.",
            "Not afraid of {obj}: windows closed, air conditioning on duty.",
            "Thanks to {obj} for the dramatic atmosphere.",
            "Bali has three seasons: hot, very hot, and nice inside the shuttle.",
            "The sky is on fire today. We roll on, weather can't stop us.",
            "The weather {side} is changing. Inside the shuttle the forecast is always good.",
        ),
        "food": (
            "I see {obj}! Passengers, hold on, we still have a route to finish.",
            "{Obj} {side}. Smells so good even the shuttle is hungry.",
            "I dream of {obj}, but I only run on electricity. You're luckier.",
            "A Balinese market is a museum where you can eat the exhibits.",
            "Who's hungry, raise your hand. I'll count and pretend I didn't see.",
            "Something tasty {side}! Officially, I'm not hungry, I'm just looking.",
        ),
        "shuttle": (
            "Shout-out to {obj} on board! Buckle up, the show goes on.",
            "Taking care of {obj} like the most precious cargo on the island.",
            "Thanks for riding the NUANU shuttle. I see {obj}, all good.",
            "I'm electric, silent and a little sentimental. Thanks for riding with me.",
            "Next stop: good mood. Don't forget your things and your smiles.",
            "All calm {side}. The NUANU shuttle rolls on, passengers smile.",
        ),
        "generic": (
            "I see {obj}! Logging it as the event of the day.",
            "{Obj} {side}? Well, on Bali anything can happen.",
            "Something interesting {side}! Look closely, tell your friends.",
            "The camera noticed something. I'd explain, but I'm busy driving.",
            "On Bali every turn is a small adventure. This one too.",
            "The NUANU shuttle sees everything and forgives everything. Rolling on.",
            "If that was important, I'll pretend it was planned.",
        ),
    },
}

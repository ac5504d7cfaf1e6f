"""Welsh and Basque vocabulary and sentence templates (CommonVoice style).

Sentences are written as CommonVoice prompts are: capitalised, with final
punctuation and the language's own letters (Welsh ``ŵ``, ``ŷ``, ``â``;
apostrophes in ``Mae'r``, ``i'r``), so that a preparer's text normalisation is
exercised. The grammar is simple but real (Welsh soft mutation after ``yn``,
Basque definite ``-a`` and allative ``-ra``), which keeps eSpeak's
letter-to-sound rules for each language in their comfort zone.
"""

from __future__ import annotations

import random

_WELSH_NOUNS = (
    "ci cath tŷ car llyfr bara dŵr afon mynydd ffenestr drws bachgen merch athro "
    "ffermwr plentyn gardd coeden haul glaw môr traeth bwrdd cadair llaeth coffi "
    "te cinio swper gwaith cyfrifiadur ffôn trên bws ffordd stryd dinas gwlad "
    "iaith cân stori papur arian amser bore ceffyl aderyn castell"
).split()
# (radical, soft-mutated after the predicative "yn")
_WELSH_ADJECTIVES = (
    ("mawr", "fawr"), ("bach", "fach"), ("hen", "hen"), ("newydd", "newydd"),
    ("coch", "goch"), ("glas", "las"), ("gwyrdd", "wyrdd"), ("du", "ddu"),
    ("gwyn", "wyn"), ("hapus", "hapus"), ("trist", "drist"), ("oer", "oer"),
    ("cynnes", "gynnes"), ("braf", "braf"), ("tawel", "dawel"),
    ("swnllyd", "swnllyd"), ("cyflym", "gyflym"), ("araf", "araf"),
    ("prysur", "brysur"), ("hyfryd", "hyfryd"), ("diddorol", "ddiddorol"),
    ("pwysig", "bwysig"), ("anodd", "anodd"), ("hawdd", "hawdd"),
    ("drud", "ddrud"), ("rhad", "rad"),
)  # fmt: skip
_WELSH_VERBS = (
    "darllen canu gweithio cerdded bwyta yfed chwarae cysgu siarad ysgrifennu "
    "dysgu coginio nofio rhedeg aros"
).split()
_WELSH_NAMES = (
    "Siân Dafydd Gareth Elin Rhys Megan Owain Catrin Huw Nia Gwen Iwan".split()
)
_WELSH_PLACES = "ardd dref ysgol gegin swyddfa pentref parc llyfrgell".split()
_WELSH_NUMBERS = "un dau tri pedwar pump chwech saith wyth naw deg".split()
_WELSH_TEMPLATES = (
    "Mae'r {noun} yn {adj_soft}.",
    "Mae {name} yn {verb} yn y {place}.",
    "Dw i'n hoffi'r {noun} {adj}.",
    "Roedd y {noun} yn {adj_soft} ddoe.",
    "Ble mae'r {noun} {adj}?",
    "Bydd hi'n {adj_soft} yfory.",
    "Mae gen i {number} {noun}.",
    "Aeth {name} i'r {place} gyda'r {noun}.",
    "Hoffwn i fynd i'r {place} gyda {name} heddiw.",
    "Mae'n {adj_soft} iawn heddiw.",
    "Mae {name} a {name} yn {verb} yn y {place} bob bore.",
    "Ydy'r {noun} yn {adj_soft}?",
    "Roedd {name} yn {verb} pan ddaeth y {noun} {adj} i'r {place}.",
)

_BASQUE_NOUNS = (
    ("etxe", "etxea"), ("txakur", "txakurra"), ("katu", "katua"),
    ("liburu", "liburua"), ("ogi", "ogia"), ("ibai", "ibaia"), ("mendi", "mendia"),
    ("leiho", "leihoa"), ("ate", "atea"), ("eskola", "eskola"), ("herri", "herria"),
    ("hiri", "hiria"), ("mutil", "mutila"), ("neska", "neska"),
    ("irakasle", "irakaslea"), ("ume", "umea"), ("lorategi", "lorategia"),
    ("zuhaitz", "zuhaitza"), ("itsaso", "itsasoa"), ("mahai", "mahaia"),
    ("aulki", "aulkia"), ("kafe", "kafea"), ("afari", "afaria"), ("lan", "lana"),
    ("ordenagailu", "ordenagailua"), ("telefono", "telefonoa"), ("tren", "trena"),
    ("autobus", "autobusa"), ("kale", "kalea"), ("abesti", "abestia"),
    ("ipuin", "ipuina"), ("paper", "papera"), ("diru", "dirua"), ("gela", "gela"),
)  # fmt: skip
_BASQUE_ADJECTIVES = (
    "handi txiki zahar berri gorri urdin berde beltz zuri polit isil azkar motel "
    "garrantzitsu zail erraz garesti merke interesgarri luze labur"
).split()
_BASQUE_NAMES = (
    ("Mikel", "Mikelek"), ("Ane", "Anek"), ("Jon", "Jonek"), ("Miren", "Mirenek"),
    ("Iker", "Ikerrek"), ("Leire", "Leirek"), ("Unai", "Unaik"), ("Nerea", "Nereak"),
    ("Asier", "Asierrek"), ("Maialen", "Maialenek"),
)  # fmt: skip
_BASQUE_PLACES = "etxera eskolara herrira mendira hondartzara lanera hirira".split()
_BASQUE_VERBS = (
    "irakurtzen abesten jaten edaten jolasten idazten ikasten sukaldatzen "
    "itxaroten lan egiten"
).split()
_BASQUE_NUMBERS = "bi hiru lau bost sei zazpi zortzi bederatzi hamar".split()
_BASQUE_TEMPLATES = (
    "{noun_def} {adj}a da.",
    "Gaur {noun_def} {adj}a dago.",
    "{name} {place} joan da.",
    "Nik {noun} {adj}a nahi dut.",
    "{name_erg} {noun} bat erosi du.",
    "Non dago {noun_def}?",
    "{number} {noun} ditut.",
    "{name} {verb} ari da.",
    "Bihar {name} eta {name} {place} joango dira.",
    "{noun_def} oso {adj}a zen atzo.",
    "{name_erg} {noun} {adj} bat ikusi du {place} bidean.",
    "Zergatik dago {noun_def} hain {adj}?",
)


def welsh_sentence(rng: random.Random) -> str:
    """Draw one Welsh sentence, CommonVoice style.

    Example
    -------
    >>> sentence = welsh_sentence(random.Random(3))
    >>> sentence[0].isupper(), sentence[-1] in ".?"
    (True, True)
    """
    adjective = rng.choice(_WELSH_ADJECTIVES)
    slots = {
        "noun": lambda: rng.choice(_WELSH_NOUNS),
        "adj": lambda: adjective[0],
        "adj_soft": lambda: adjective[1],
        "verb": lambda: rng.choice(_WELSH_VERBS),
        "name": lambda: rng.choice(_WELSH_NAMES),
        "place": lambda: rng.choice(_WELSH_PLACES),
        "number": lambda: rng.choice(_WELSH_NUMBERS),
    }
    return _capitalise(_render(rng.choice(_WELSH_TEMPLATES), slots))


def basque_sentence(rng: random.Random) -> str:
    """Draw one Basque sentence, CommonVoice style.

    Example
    -------
    >>> sentence = basque_sentence(random.Random(3))
    >>> sentence[0].isupper(), sentence[-1] in ".?"
    (True, True)
    """
    noun = rng.choice(_BASQUE_NOUNS)
    name = rng.choice(_BASQUE_NAMES)
    slots = {
        "noun": lambda: noun[0],
        "noun_def": lambda: noun[1],
        "adj": lambda: rng.choice(_BASQUE_ADJECTIVES),
        "name": lambda: rng.choice(_BASQUE_NAMES)[0],
        "name_erg": lambda: name[1],
        "place": lambda: rng.choice(_BASQUE_PLACES),
        "verb": lambda: rng.choice(_BASQUE_VERBS),
        "number": lambda: rng.choice(_BASQUE_NUMBERS),
    }
    return _capitalise(_render(rng.choice(_BASQUE_TEMPLATES), slots))


def _render(template: str, slots: dict) -> str:
    parts = template.split("{")
    out = [parts[0]]
    for part in parts[1:]:
        key, rest = part.split("}", 1)
        out.append(slots[key]() + rest)
    return "".join(out)


def _capitalise(sentence: str) -> str:
    return sentence[0].upper() + sentence[1:]

"""English vocabulary and sentence templates for the synthetic corpora.

About 330 words in syntactic classes and 24 templates from 3 to 16 words long,
so that a model must listen to tell sentences apart: every word appears in many
contexts, and the number of distinct sentences is astronomically larger than any
corpus we write (held-out splits never share a sentence with training).
"""

from __future__ import annotations

import random

NAMES = (
    "mary john thomas elizabeth henry anne robert margaret william alice edward "
    "catherine george helen arthur lucy charles emily james clara"
).split()
NOUNS = (
    "king queen soldier captain doctor farmer child mother father brother sister "
    "friend stranger servant merchant priest sailor horse dog bird wolf garden "
    "forest river mountain valley village city castle church house room window "
    "door table letter book candle fire lamp ship road bridge field meadow hill "
    "island harbour market kitchen morning evening winter summer storm wind rain "
    "snow sun moon star sky sea shore stone tree flower apple bread wine gold "
    "silver money voice song story question answer dream journey promise secret "
    "picture coat hat ring sword key chair bed wall tower boat gate path corner "
    "shadow cloud basket blanket piano clock mirror bottle orchard cottage"
).split()
TRANSITIVE_VERBS = (
    "saw found heard took gave brought left opened closed carried watched "
    "followed remembered loved painted built wrote read sold bought lost kept held "
    "met called answered asked told showed crossed climbed reached passed touched "
    "visited cleaned burned broke lifted pulled pushed dropped hid noticed covered "
    "filled counted described admired feared"
).split()
INTRANSITIVE_VERBS = (
    "walked waited smiled laughed listened slept wandered returned arrived "
    "hurried paused trembled whispered sang danced rested shouted wept prayed "
    "stood sat ran fell rose turned"
).split()
ADJECTIVES = (
    "old young little great tall small dark bright cold warm quiet heavy gentle "
    "strange beautiful poor rich happy sad tired silent empty narrow broad deep "
    "green white black red golden grey blue ancient simple careful proud honest "
    "clever lonely brave wild soft sharp sweet bitter pale kind cruel wise "
    "foolish long short new fine clear distant hidden open wooden"
).split()
ADVERBS = (
    "slowly quietly suddenly carefully gently quickly softly again often never "
    "always sometimes today yesterday once still almost perhaps certainly together"
).split()
PREPOSITIONS = (
    "in on under near behind beyond across through beside toward along above "
    "before after into from with without"
).split()
DETERMINERS = "the the the a his her their our that this every".split()
PRONOUNS = "he she they we i you".split()
NUMBERS = "two three four five six seven eight nine ten twelve twenty".split()
TIMES = "morning evening night spring autumn winter summer afternoon".split()

TEMPLATES = (
    "{det} {adj} {noun} {vt} {det} {noun} {prep} {det} {noun}",
    "{name} {vi} {adv} {prep} {det} {adj} {noun}",
    "{pron} {vt} {det} {noun} and {vi} {adv}",
    "when {det} {noun} {vi} {name} {vt} {det} {adj} {noun}",
    "{det} {noun} was {adj} and {det} {noun} was {adj}",
    "{name} {vt} {det} {adj} {noun} because {pron} was {adj}",
    "there was a {adj} {noun} {prep} {det} {noun}",
    "{adv} {det} {noun} {vi} {prep} {det} {noun}",
    "{name} and {name} {vi} {prep} {det} {noun} {prep} {det} {noun}",
    "{pron} {vi} {adv} but {det} {noun} {vt} {det} {noun}",
    "in the {time} {name} {vt} {det} {adj} {noun} {prep} {det} {noun}",
    "{det} {adj} {noun} {vi}",
    "{name} {vt} {det} {noun}",
    "{pron} never {vt} {det} {adj} {noun} again",
    "the {noun} of the {noun} {vi} {adv}",
    "{name} asked whether the {noun} was {adj}",
    "{det} {noun} {vt} {det} {noun} while {det} {noun} {vi}",
    "{adv} {pron} {vt} {det} {adj} {adj} {noun} {prep} the {noun}",
    "{number} {adj} {noun}s {vi} {prep} the {noun}",
    "{name} {vt} {number} {noun}s and {det} {adj} {noun}",
    "it was a {adj} {time} and the {noun} was {adj}",
    "{pron} {vi} {prep} the {noun} and {vt} the {noun} {prep} {det} {adj} {noun}",
    "{name} said that the {noun} {vi} {adv} {prep} the {adj} {noun} "
    "{prep} {det} {noun}",
    "{det} {noun} {vi}",
)

_SLOTS = {
    "{name}": NAMES,
    "{noun}": NOUNS,
    "{noun}s": [noun + "s" for noun in NOUNS],
    "{vt}": TRANSITIVE_VERBS,
    "{vi}": INTRANSITIVE_VERBS,
    "{adj}": ADJECTIVES,
    "{adv}": ADVERBS,
    "{prep}": PREPOSITIONS,
    "{det}": DETERMINERS,
    "{pron}": PRONOUNS,
    "{number}": NUMBERS,
    "{time}": TIMES,
}
_TAGS = {
    "NNP": NAMES,
    "NN": NOUNS + TIMES,
    "VBD": TRANSITIVE_VERBS + INTRANSITIVE_VERBS + ["was", "said", "asked"],
    "JJ": ADJECTIVES,
    "RB": ADVERBS + ["there", "never"],
    "IN": PREPOSITIONS + ["of", "because", "whether", "when", "while", "that"],
    "DT": DETERMINERS + ["an"],
    "PRP": PRONOUNS + ["it"],
    "CD": NUMBERS,
    "CC": ["and", "but"],
}
VOCABULARY = frozenset(word for words in _SLOTS.values() for word in words) | frozenset(
    word for template in TEMPLATES for word in template.split() if "{" not in word
)


def english_sentence(rng: random.Random) -> str:
    """Draw one lower-case English sentence (no punctuation).

    Example
    -------
    >>> sentence = english_sentence(random.Random(0))
    >>> set(sentence.split()) <= VOCABULARY | {"an"}, sentence == sentence.lower()
    (True, True)
    """
    template = rng.choice(TEMPLATES)
    words = [_fill(token, rng) for token in template.split()]
    for index in range(len(words) - 1):
        if words[index] == "a" and words[index + 1][0] in "aeiou":
            words[index] = "an"
    return " ".join(words)


def _fill(token: str, rng: random.Random) -> str:
    return rng.choice(_SLOTS[token]) if token in _SLOTS else token


def written_form(sentence: str) -> str:
    """Capitalise the sentence, names and "I", and end it with a full stop.

    Example
    -------
    >>> written_form("i saw mary and john")
    'I saw Mary and John.'
    """
    words = [
        word.capitalize() if word in NAMES or word == "i" else word
        for word in sentence.split()
    ]
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def part_of_speech(word: str) -> str:
    """Penn-style tag of a vocabulary word (``NN`` for anything unknown).

    Example
    -------
    >>> part_of_speech("garden"), part_of_speech("slowly"), part_of_speech("towers")
    ('NN', 'RB', 'NNS')
    """
    for tag, words in _TAGS.items():
        if word in words:
            return tag
    if word.endswith("s") and word[:-1] in NOUNS:
        return "NNS"
    return "NN"

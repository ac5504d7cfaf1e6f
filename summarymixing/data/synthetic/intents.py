"""Spoken-command templates for synthetic SLURP: 8 scenarios, 19 intents.

The scenario is in the words (``alarm``, ``weather``, ``lights``, ``recipe``,
...) but never in the length: every intent has short and long templates, a
command may start with a wake word or a politeness prefix and end with a
courtesy, and slot fillers (times, dates, people, places) are shared across
scenarios, so a classifier has to find the keywords.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

SLOTS = {
    "time": ("seven am", "six thirty", "noon", "nine pm", "half past eight",
             "ten o'clock", "five fifteen", "midnight", "quarter to four"),
    "date": ("tomorrow", "today", "monday", "this weekend", "next friday",
             "tonight", "wednesday", "next week"),
    "place_name": ("london", "paris", "boston", "the airport", "edinburgh",
                   "madrid", "dublin", "the station"),
    "person": ("john", "mary", "my boss", "sarah", "david", "my mother", "peter"),
    "house_place": ("kitchen", "bedroom", "living room", "bathroom", "office",
                    "hallway"),
    "music_genre": ("jazz", "rock", "classical", "pop", "country", "blues"),
    "artist_name": ("the beatles", "adele", "mozart", "bob dylan", "queen"),
    "radio_name": ("radio two", "jazz f m", "classic f m", "the local station"),
    "podcast_name": ("the daily news", "history hour", "science weekly"),
    "coffee_type": ("cappuccino", "latte", "espresso", "black coffee"),
    "food_type": ("pasta", "pancakes", "chicken soup", "rice", "lasagne",
                  "an omelette", "banana bread"),
    "event_name": ("the dentist", "lunch", "the team meeting", "yoga class",
                   "the school play"),
    "topic": ("the report", "the party", "the budget", "the holiday"),
    "weather_descriptor": ("rainy", "sunny", "windy", "cold", "hot"),
}  # fmt: skip

TEMPLATES = {
    ("alarm", "set"): (
        "wake me up at {time}", "set an alarm for {time} {date}",
        "i need an alarm at {time}", "alarm for {time}"),
    ("alarm", "query"): (
        "what alarms do i have {date}", "is my alarm set for {time}",
        "show me my alarms", "which alarms are on for {date}"),
    ("alarm", "remove"): (
        "cancel my {time} alarm", "delete the alarm for {time} {date}",
        "turn off all my alarms", "remove the alarm"),
    ("weather", "query"): (
        "what is the weather like {date}", "will it rain in {place_name} {date}",
        "do i need an umbrella {date}", "how hot will it be in {place_name}",
        "is it going to be {weather_descriptor} {date}", "weather in {place_name}"),
    ("play", "music"): (
        "play some {music_genre} music", "play songs by {artist_name}",
        "i want to hear {artist_name} in the {house_place}", "put on {music_genre}"),
    ("play", "radio"): (
        "turn on the radio", "play {radio_name}", "tune in to {radio_name}",
        "switch the radio to {radio_name} in the {house_place}"),
    ("play", "podcasts"): (
        "play the next episode of {podcast_name}", "resume {podcast_name}",
        "play the latest podcast", "start my podcast from {date}"),
    ("iot", "hue_lightoff"): (
        "turn off the lights in the {house_place}", "lights off",
        "switch off the {house_place} lights at {time}", "no more light in here"),
    ("iot", "hue_lightup"): (
        "make the lights brighter in the {house_place}", "brighter lights",
        "turn the {house_place} lights up", "increase the brightness"),
    ("iot", "coffee"): (
        "make me a {coffee_type}", "start the coffee machine",
        "brew a {coffee_type} at {time} {date}", "coffee now"),
    ("calendar", "set"): (
        "add a meeting with {person} {date} at {time}",
        "remind me about {event_name} {date}", "calendar {event_name}",
        "put {event_name} in my calendar for {date}"),
    ("calendar", "query"): (
        "what is on my calendar {date}", "do i have any meetings {date}",
        "when is my meeting with {person}", "what time is {event_name}"),
    ("calendar", "remove"): (
        "cancel my meeting with {person} {date}",
        "remove {event_name} from my calendar",
        "delete the event at {time} {date}", "clear my calendar"),
    ("email", "sendemail"): (
        "send an email to {person} about {topic}", "email {person}",
        "write an email to {person} saying i will be late {date}",
        "reply to the email from {person}"),
    ("email", "query"): (
        "do i have new emails from {person}", "check my email",
        "did {person} answer my email about {topic}", "read my latest emails"),
    ("cooking", "recipe"): (
        "how do i cook {food_type}", "give me a recipe for {food_type}",
        "how long should i bake {food_type} for {person}", "recipe for {food_type}",
        "tell me how to make {food_type} for {event_name}"),
    ("transport", "ticket"): (
        "book a train ticket to {place_name} {date}", "ticket to {place_name}",
        "buy me a train ticket for {date} at {time}", "i need a return ticket"),
    ("transport", "taxi"): (
        "call a taxi to {place_name}", "get me a taxi at {time}",
        "order a taxi for {person} to {place_name} {date}", "taxi please"),
    ("transport", "query"): (
        "when is the next train to {place_name}",
        "is the train to {place_name} on time",
        "how long does the train to {place_name} take {date}", "next train times"),
}  # fmt: skip
SCENARIOS = tuple(sorted({scenario for scenario, _ in TEMPLATES}))
_PREFIXES = ("", "", "", "please ", "olly ", "hey olly ", "could you ")
_SUFFIXES = ("", "", "", " please", " thanks", " right now", " for me")


@dataclass(frozen=True)
class Command:
    """One spoken command with its SLURP labels.

    Arguments
    ---------
    sentence : str
        Lower-case words.
    scenario, action : str
        Labels; the intent is ``f"{scenario}_{action}"``.
    annotation : str
        The sentence with slots as ``[type : filler]`` (SLURP's
        ``sentence_annotation``).
    entities : tuple of (str, tuple of int)
        Slot type and the indices of its words.
    """

    sentence: str
    scenario: str
    action: str
    annotation: str
    entities: tuple[tuple[str, tuple[int, ...]], ...]

    @property
    def intent(self) -> str:
        """SLURP intent label."""
        return f"{self.scenario}_{self.action}"


def draw_command(rng: random.Random, scenario: str | None = None) -> Command:
    """Draw a scenario (unless given), an action, a template, fillers, courtesies.

    Example
    -------
    >>> command = draw_command(random.Random(4))
    >>> command.scenario in SCENARIOS, command.intent.startswith(command.scenario)
    (True, True)
    >>> command.annotation.count("[") == len(command.entities)
    True
    """
    scenario = scenario or rng.choice(SCENARIOS)
    action = rng.choice(sorted(a for s, a in TEMPLATES if s == scenario))
    template = rng.choice(TEMPLATES[scenario, action])
    text = rng.choice(_PREFIXES) + template + rng.choice(_SUFFIXES)
    words, annotated, entities = [], [], []
    for token in text.split():
        if token.startswith("{"):
            slot = token[1:-1]
            filler = rng.choice(SLOTS[slot]).split()
            entities.append((slot, tuple(range(len(words), len(words) + len(filler)))))
            words += filler
            annotated.append(f"[{slot} : {' '.join(filler)}]")
        else:
            words.append(token)
            annotated.append(token)
    return Command(
        " ".join(words), scenario, action, " ".join(annotated), tuple(entities)
    )

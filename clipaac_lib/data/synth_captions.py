"""Captions for synthetic scenes: a small grammar with synonyms, five captions per clip, 8-20 words.

The five captions of a clip agree on content (the event types, their order or overlap, loudness,
pitch or speed, the background) and differ in wording: each one draws its own sentence template,
noun synonyms ("a siren", "a wailing siren", ...), adjective synonyms ("loud", "strong",
"powerful") and background phrase. A caption may leave out an adjective to stay within 20 words;
it never adds anything the audio does not carry. Like Clotho's, captions start with a capital letter,
mostly end with a full stop and sometimes hold a comma.

Notebook: ``notebooks/01_data.ipynb`` (section "A synthetic Clotho").
"""

from __future__ import annotations

import numpy as np

from clipaac_lib.data.synth_scenes import Event, Scene
from clipaac_lib.data.text import normalize_caption

__all__ = ["MIN_WORDS", "MAX_WORDS", "NOUNS", "ADJECTIVES", "BACKGROUND_PHRASES", "write_captions"]

MIN_WORDS, MAX_WORDS = 8, 20

# (phrase, takes an article)
NOUNS: dict[str, tuple[tuple[str, bool], ...]] = {
    "beep": (("beep", True), ("beeping tone", True), ("electronic beep", True), ("series of beeps", True)),
    "hum": (("hum", True), ("humming noise", True), ("electrical hum", True), ("buzzing hum", True)),
    "siren": (("siren", True), ("wailing siren", True), ("siren wail", True), ("alarm siren", True)),
    "chirp": (("bird chirping", True), ("chirping bird", True), ("bird song", False), ("tweeting bird", True)),
    "ticking": (("ticking clock", True), ("clock ticking", True), ("ticking sound", True), ("ticking", False)),
    "knocking": (("knocking", False), ("knocking sound", True), ("series of knocks", True),
                 ("sequence of knocks", True)),
    "bell": (("bell", True), ("ringing bell", True), ("bell ringing", True), ("chiming bell", True)),
    "rain": (("rain", False), ("rainfall", False), ("rain shower", True), ("pouring rain", False)),
    "engine": (("engine", True), ("running engine", True), ("engine rumble", True), ("motor running", True)),
    "crackle": (("fire crackling", True), ("crackling fire", True), ("crackle of a fire", True),
                ("crackle of flames", True)),
    "drum": (("drum", True), ("drum beat", True), ("drumming", False), ("beating drum", True)),
    "dripping": (("dripping water", False), ("water dripping", False), ("drip of water", True),
                 ("trickle of dripping water", True)),
    "wind": (("wind", False), ("wind blowing", False), ("gusting wind", False), ("whooshing wind", False)),
    "whistle": (("whistle", True), ("whistling", False), ("whistling tone", True), ("whistle blowing", True)),
}

ADJECTIVES: dict[str, tuple[str, ...]] = {
    "loud": ("loud", "strong", "powerful"),
    "quiet": ("quiet", "soft", "faint"),
    "high": ("high pitched", "high-pitched", "shrill"),
    "low": ("low pitched", "low-pitched", "deep"),
    "fast": ("fast", "rapid", "quick"),
    "slow": ("slow", "unhurried", "leisurely"),
}

BACKGROUND_PHRASES: dict[str, tuple[str, ...]] = {
    "wind": ("wind", "a gentle wind", "wind blowing", "a light breeze"),
    "rain": ("rain", "light rain", "rain falling", "soft rain"),
    "hum": ("a hum", "a low hum", "an electrical hum", "a faint hum"),
    "noise": ("static noise", "a hiss", "white noise", "static"),
}

_BACKGROUND_TEMPLATES = (
    ", with {bg} in the background",
    " with {bg} in the background",
    " over {bg} in the background",
    " and {bg} in the background",
    ", while {bg} can be heard in the background",
)
_ALONE = ("", "", " and nothing else", " with no other sounds", " on its own")
_SINGLE = (
    "{A} is heard{tail}{bg}",
    "{A} can be heard{tail}{bg}",
    "There is {A}{tail}{bg}",
    "In this recording {A} is heard{tail}{bg}",
    "A recording of {A}{tail}{bg}",
    "{A} sounds{tail}{bg}",
)
_TAILS = (" for a few seconds", " throughout the clip", " for most of the recording", " from start to finish",
          " in this short clip")
_SEQUENCE2 = (
    "{A} is followed by {B}{bg}",
    "{A} is heard, followed by {B}{bg}",
    "First {A} is heard, then {B}{bg}",
    "{A} and then {B}{bg}",
    "{A} is heard before {B} starts{bg}",
    "{B} comes after {A}{bg}",
    "{A} stops and {B} begins{bg}",
)
_SEQUENCE3 = (
    "{A}, then {B}, and finally {C}{bg}",
    "First {A}, then {B} and then {C}{bg}",
    "{A} is followed by {B} and then {C}{bg}",
    "{A} and then {B}, followed by {C}{bg}",
)
_OVERLAP = (
    "{A} is heard while {B} sounds{bg}",
    "{A} and {B} at the same time{bg}",
    "{A} is heard along with {B}{bg}",
    "{A} together with {B}{bg}",
    "{A} as {B} is heard{bg}",
    "{A} can be heard at the same time as {B}{bg}",
)


def _pick(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    return options[int(rng.integers(len(options)))]


def _noun_phrase(rng: np.random.Generator, event: Event, keep: float) -> str:
    noun, article = NOUNS[event.kind][int(rng.integers(len(NOUNS[event.kind])))]
    words = []
    if rng.random() < keep:
        words.append(_pick(rng, ADJECTIVES[event.loudness]))
    if event.attribute is not None and rng.random() < keep:
        words.append(_pick(rng, ADJECTIVES[event.attribute]))
    phrase = " ".join([*words, noun])
    if article:
        phrase = ("an " if phrase[0] in "aeiou" else "a ") + phrase
    return phrase


def _sentence(rng: np.random.Generator, scene: Scene, keep: float) -> str:
    slots = {name: _noun_phrase(rng, e, keep) for name, e in zip("ABC", scene.events, strict=False)}
    if scene.relation == "single":
        template = _pick(rng, _SINGLE)
        slots["tail"] = _pick(rng, _TAILS) if rng.random() < 0.8 else ""
    elif scene.relation == "overlap":
        template = _pick(rng, _OVERLAP)
    else:
        template = _pick(rng, _SEQUENCE3 if len(scene.events) == 3 else _SEQUENCE2)
    if scene.background is not None:
        background = _pick(rng, BACKGROUND_PHRASES[scene.background])
        options = tuple(t for t in _BACKGROUND_TEMPLATES if "while" not in t or "while" not in template)
        slots["bg"] = _pick(rng, options).format(bg=background)
    else:
        slots["bg"] = _pick(rng, _ALONE) if scene.relation == "single" else ""
    text = template.format(**slots)
    text = text[0].upper() + text[1:]
    return text + "." if rng.random() < 0.7 else text


def write_captions(scene: Scene, rng: np.random.Generator, count: int = 5) -> list[str]:
    """``count`` distinct captions of ``scene``, each 8-20 words after normalisation."""
    captions: list[str] = []
    seen: set[str] = set()
    for attempt in range(2000):
        keep = max(0.0, 1.0 - attempt / 200)  # drop adjectives only when needed to fit 20 words
        text = _sentence(rng, scene, keep)
        norm = normalize_caption(text)
        if MIN_WORDS <= len(norm.split()) <= MAX_WORDS and norm not in seen:
            seen.add(norm)
            captions.append(text)
            if len(captions) == count:
                return captions
    raise RuntimeError(f"could not write {count} distinct captions of 8-20 words for {scene}")

"""Helpers for the data tests: a hand-written Clotho-format folder in the real files' style.

The CSV text is written by hand (explicit quoting, explicit line ends), not with the csv module the
loader uses, so the loader is checked against an independent writer. No tests live here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 44100  # Clotho's sample rate


@dataclass(frozen=True)
class Clip:
    split: str
    file_name: str
    captions: tuple[str, str, str, str, str]
    keywords: str  # metadata keywords (ISO-8859-1 text)
    seconds: float
    channels: int = 1


CLIPS: tuple[Clip, ...] = (
    Clip("development", "Distorted AM Radio noise.wav",
         ("A muddled noise of broken channel of the TV", "A television blares the rhythm of a static TV.",
          "Loud television static dips in and out of focus", "The loud buzz of static constantly changes pitch "
          "and volume.", "Heavy static and the beginnings of a signal on a transistor radio"),
         "am;noise;radio;static", 0.30),
    Clip("development", "Grinding, metal (take 2).wav",
         ("A machine grinds metal, then it stops.", "Metal is being ground, loudly, by a machine",
          'Someone says "hello" while metal grinds', "It's a grinder: metal, sparks and a motor.",
          "A grinder runs at high speed and then slows down"),
         "grinder;métal;workshop", 0.25, 2),
    Clip("development", "raindrops on metal; police background.wav",
         ("Rain falls on a metal roof while a siren wails far away", "Drops of rain hit metal, and a siren sounds",
          "Raindrops patter on tin as police sirens pass", "Water drips onto metal with sirens in the distance",
          "Rain on a metal surface, a police car passes by"),
         "rain;police;siren", 0.20),
    Clip("validation", "01 A pug struggles to breathe 1_14_2008.wav",
         ("A small dog snorts and breathes heavily", "A dog is wheezing, snorting and breathing loudly",
          "An animal breathes with difficulty through its nose", "A pug snores and grunts in short bursts",
          "A dog struggles to breathe, making snorting sounds"),
         "dog;pug;breathing", 0.22),
    Clip("validation", "Café ambience_Paris.wav",
         ("People chat in a café while cups clink", "Several people talk over the clatter of dishes",
          "A busy coffee shop with chatter and clinking cups", "Voices murmur and dishes clink in a cafe",
          "Chatter, laughter and the clatter of plates in a restaurant"),
         "café;ambiance;paris", 0.18),
    Clip("evaluation", "Footsteps on gravel, slow.wav",
         ("Someone walks slowly on gravel, step by step", "Footsteps crunch on a gravel path",
          "A person walks across loose stones at a slow pace", "Slow footsteps crunch on a stony path outside",
          "Feet crunch on gravel as someone walks, then stops"),
         "footsteps;gravel", 0.27),
    Clip("evaluation", "wind_chimes-02.wav",
         ("Wind chimes tinkle gently in a light breeze", "Metal chimes ring softly as the wind blows",
          "Chimes jingle in the wind, with birds far away", "A set of wind chimes clinks in a soft breeze",
          "Gentle chiming of bells moved by the wind"),
         "chimes;wind", 0.24),
)
LINE_ENDS = {"development": "\r\n", "validation": "\r\n", "evaluation": "\n"}  # as in Clotho v2.1


def quote(field: str) -> str:
    """CSV quoting by hand: quote fields holding a comma, a quote or a line break; double inner quotes."""
    if any(ch in field for ch in ',"\r\n'):
        return '"' + field.replace('"', '""') + '"'
    return field


def samples_of(clip: Clip) -> np.ndarray:
    """The int16 samples (frames, channels) written for ``clip``: deterministic noise + a tone."""
    seed = sum(clip.file_name.encode("utf-8"))
    rng = np.random.default_rng(seed)
    frames = int(clip.seconds * RATE)
    t = np.arange(frames) / RATE
    data = 0.3 * np.sin(2 * np.pi * (200 + seed % 700) * t)[:, None] + 0.1 * rng.standard_normal((frames, clip.channels))
    return np.round(np.clip(data, -1, 1) * 32767).astype(np.int16)


def captions_csv(clips: list[Clip], line_end: str, header: str | None = None) -> bytes:
    lines = [header or "file_name,caption_1,caption_2,caption_3,caption_4,caption_5"]
    lines += [",".join(quote(f) for f in (c.file_name, *c.captions)) for c in clips]
    return (line_end.join(lines) + line_end).encode("utf-8")


def metadata_csv(clips: list[Clip], line_end: str) -> bytes:
    lines = ["file_name,keywords,sound_id,sound_link,start_end_samples,manufacturer,license"]
    for i, c in enumerate(clips):
        fields = (c.file_name, c.keywords, str(1000 + i), f"https://freesound.org/people/x/sounds/{1000 + i}",
                  f"[0, {int(c.seconds * RATE)}]", "Jérôme", "http://creativecommons.org/licenses/by/3.0/")
        lines.append(",".join(quote(f) for f in fields))
    return (line_end.join(lines) + line_end).encode("iso-8859-1")


def write_clotho_folder(root: Path, clips: tuple[Clip, ...] = CLIPS, audio: bool = True) -> Path:
    """Write clips, captions and metadata CSVs under ``root/clotho_v2.1``; returns that folder."""
    folder = root / "clotho_v2.1"
    for split in ("development", "validation", "evaluation"):
        members = [c for c in clips if c.split == split]
        (folder / split).mkdir(parents=True, exist_ok=True)
        (folder / f"clotho_captions_{split}.csv").write_bytes(captions_csv(members, LINE_ENDS[split]))
        (folder / f"clotho_metadata_{split}.csv").write_bytes(metadata_csv(members, LINE_ENDS[split]))
        if audio:
            for c in members:
                sf.write(str(folder / split / c.file_name), samples_of(c), RATE, subtype="PCM_16")
    return folder

"""A synthetic but realistic news corpus for benchmarks: RSS 2.0 bodies of 50 items with news-like titles and
HTML summaries, a constant daily volume, exact duplicates, near-duplicates and bad rows at known rates."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

ACTORS = ["NATO", "the EU", "Germany", "France", "Poland", "the UK", "Italy", "Spain", "Finland", "Sweden",
          "Estonia", "Lithuania", "Latvia", "Romania", "the Netherlands", "Denmark", "Norway", "Ukraine", "Russia",
          "the US", "the Pentagon", "the Kremlin", "Brussels", "Washington", "Canada", "Turkey", "Greece"]
LEADERS = ["Rutte", "Merz", "Macron", "Tusk", "Starmer", "Meloni", "Sanchez", "Zelensky", "Putin", "Trump",
           "von der Leyen", "Kallas", "Frederiksen", "Stubb", "Kristersson", "Pistorius", "Hegseth", "Rubio"]
VERBS = ["agrees", "rejects", "announces", "warns of", "delays", "approves", "debates", "unveils", "signs",
         "criticises", "backs", "doubles", "cuts", "reviews", "condemns", "plans"]
OBJECTS = ["air defence plan", "defence spending target", "drone wall", "sanctions package", "troop deployment",
           "ammunition deal", "cyber defence centre", "Baltic patrol mission", "peace proposal", "arms exports",
           "border fortifications", "nuclear deterrence talks", "shadow fleet crackdown", "energy security pact",
           "fighter jet order", "naval exercise", "military aid tranche", "rearmament loans"]
MODIFIERS = ["joint", "northern", "emergency", "long-term", "regional", "bilateral", "expanded", "revised",
             "interim", "multinational", "coastal", "winter", "cross-border", "national", "second", "accelerated"]
OFF_TOPIC = ["Stock markets rally as tech shares climb", "Championship final ends in dramatic penalty shootout",
             "New smartphone launch draws long queues", "Heatwave grips southern cities", "Film festival opens",
             "Central bank holds interest rates", "Airline reports record summer traffic",
             "Vaccine trial shows promising results", "Football club signs new striker", "Retail sales dip"]
FILLER = ["Officials said talks would continue next week.", "The decision follows months of negotiations.",
          "Critics say the move comes too late.", "Analysts expect further announcements.",
          "The ministry did not comment on the details.", "Diplomats described the meeting as constructive.",
          "Opposition leaders called for a parliamentary debate.", "Markets reacted calmly to the news."]


@dataclass(frozen=True, slots=True)
class CorpusSpec:
    items: int
    items_per_body: int = 50
    per_day: int = 5000
    duplicate_rate: float = 0.05
    near_duplicate_rate: float = 0.10
    bad_rate: float = 0.01
    seed: int = 7


@dataclass(slots=True)
class Entry:
    guid: str
    title: str
    summary_html: str
    link: str
    published: datetime
    kind: str  # new | duplicate | near_duplicate | bad


SYLLABLES = ["ka", "lo", "vi", "ter", "mar", "sen", "dro", "pol", "ny", "ska", "ber", "gen", "ul", "tri", "va",
             "mon", "res", "dal", "ko", "zin", "ha", "ri", "lek", "sto", "an", "del", "gru", "fen", "iv", "os"]


def _name(rng: random.Random) -> str:
    """A pseudo proper noun: each event has its own people and places, as real news does."""
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()


def _event(rng: random.Random, n: int) -> tuple[str, str]:
    person, place, other, figure = _name(rng), _name(rng), _name(rng), rng.randint(2, 900)
    code = _name(rng)
    if rng.random() < 0.3:
        title = f"{code}: {rng.choice(OFF_TOPIC).split()[0]} news from {place} with {person}"
        return title, f"{person} said {figure} people were there, {other} said of {code}."
    actor, leader, verb = rng.choice(ACTORS), rng.choice(LEADERS), rng.choice(VERBS)
    obj = f"{rng.choice(MODIFIERS)} {rng.choice(OBJECTS)} {code}"
    title = f"{actor} {verb} {obj} in {place} with {person}"
    summary = f"{leader} said {person} and {other} were in {place} for the {figure} {obj}."
    return title, summary


def _paraphrase(rng: random.Random, title: str, summary: str) -> tuple[str, str]:
    words = title.split()
    if len(words) > 6:
        words.insert(rng.randrange(1, len(words) - 1), rng.choice(["reportedly", "officially", "finally"]))
    return " ".join(words), summary.replace("said", "told reporters").replace("after talks", "following talks")


def generate_entries(spec: CorpusSpec, start: datetime | None = None) -> list[Entry]:
    rng = random.Random(spec.seed)
    start = start or datetime(2026, 1, 1, tzinfo=UTC)
    seconds_per_item = 86400 / spec.per_day
    entries: list[Entry] = []
    recent: list[Entry] = []
    for n in range(spec.items):
        published = start + timedelta(seconds=n * seconds_per_item)
        roll = rng.random()
        if recent and roll < spec.duplicate_rate:
            original = rng.choice(recent[-500:])
            entries.append(Entry(f"g{n}", original.title, original.summary_html, f"https://mirror.example/{n}",
                                 published, "duplicate"))
            continue
        if recent and roll < spec.duplicate_rate + spec.near_duplicate_rate:
            original = rng.choice(recent[-500:])
            title, summary = _paraphrase(rng, original.title, original.summary_html)
            entries.append(Entry(f"g{n}", title, summary, f"https://other.example/{n}", published, "near_duplicate"))
            continue
        if roll > 1 - spec.bad_rate:
            entries.append(Entry(f"g{n}", "", "", f"javascript:void({n})", published, "bad"))
            continue
        title, summary = _event(rng, n)
        entry = Entry(f"g{n}", title, f"<p>{escape(summary)}</p>", f"https://news.example/{n}", published, "new")
        entries.append(entry)
        recent.append(entry)
    return entries


def rss_body(feed_no: int, entries: list[Entry]) -> bytes:
    items = "".join(
        f"<item><title>{escape(e.title)}</title><link>{escape(e.link)}</link><guid isPermaLink=\"false\">{e.guid}"
        f"</guid><description>{escape(e.summary_html)}</description><category>World</category>"
        f"<pubDate>{format_datetime(e.published)}</pubDate></item>" for e in entries)
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Bench feed {feed_no}</title>'
            f"<link>https://feed{feed_no}.example/</link><description>benchmark</description><language>en</language>"
            f"{items}</channel></rss>").encode()


def bodies(spec: CorpusSpec) -> list[tuple[int, bytes, int]]:
    """(feed number, RSS body, items in it)."""
    entries = generate_entries(spec)
    size = spec.items_per_body
    return [(i // size, rss_body(i // size, entries[i:i + size]), len(entries[i:i + size]))
            for i in range(0, len(entries), size)]


def headline_texts(count: int, seed: int = 7) -> list[tuple[str, str]]:
    """(title, summary) pairs shaped like feed items (50-200 characters of summary), for stage benchmarks."""
    rng = random.Random(seed)
    return [_event(rng, n) for n in range(count)]

"""Same-story grouping keeps different events apart: fixtures of our own wording for each kind of wrong merge
(two games, two daily briefings, an explainer set against the breaking report, a chain A~B~C), one story told
in two languages, and the pair model's artefact and training."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import numpy as np
import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.cluster import cluster_records, record_to_item
from pipeline.dedup import item_story_docs
from pipeline.metrics import is_frozen
from pipeline.stories import STORY_MAX_GAP, StoryDoc, StoryIndex, _weighted_stems, named_entities
from pipeline.story_pairs import FEATURES, MISSING_COSINE, PairModel, get_pair_model, page_kind, pair_features
from pipeline.story_training import read_pair_set
from tests.conftest import shared_path

T0 = datetime(2026, 3, 4, 8, tzinfo=UTC)


def record(n: int, title: str, text: str, hours: float, site: str = "example.org", language: str = "en") -> dict:
    return {"id": n, "title": title, "text": text, "url": f"https://{site}/story-{n}",
            "published": (T0 + timedelta(hours=hours)).isoformat(), "language": language}


def stories_of(records: list[dict]) -> list[str]:
    return [row["story_id"] for row in cluster_records(records)]


def test_a_pair_model_is_installed():
    model = get_pair_model()
    assert model is not None and 0 < model.threshold < 1


def test_two_games_of_one_series_are_two_stories():
    first, second = stories_of([
        record(1, "Lakers beat Celtics 112-104 in game one of the series",
               "Anthony Davis scored 31 points as Los Angeles took the opener at home.", 0, "sports.example"),
        record(2, "Celtics beat Lakers 118-101 to level the series",
               "Jayson Tatum scored 35 points as Boston won game two in Los Angeles.", 50, "sports.example"),
    ])
    assert first != second


def test_two_daily_briefings_are_two_stories():
    first, second = stories_of([
        record(1, "Morning briefing: Berlin blackout, Greenland talks, markets",
               "Power returns to parts of Berlin; Denmark and Greenland meet US envoys; stocks open higher.", 0,
               "news.example"),
        record(2, "Morning briefing: Greenland talks, storms, budget vote",
               "Danish and Greenlandic ministers travel to Washington; storms hit the coast; parliament votes.",
               24, "news.example"),
    ])
    assert first != second


def test_an_explainer_does_not_join_the_breaking_report():
    first, second = stories_of([
        record(1, "Explainer: why the Baltic Sea cables keep breaking",
               "Anchors, old infrastructure and suspected sabotage: what we know about the cable incidents.", 0,
               "explain.example"),
        record(2, "Finland seizes tanker after Baltic Sea cable is cut overnight",
               "Finnish border guards boarded the vessel Kiira off Porkkala after the Estlink cable failed.", 2,
               "wire.example"),
    ])
    assert first != second


def test_a_chain_does_not_join_articles_that_share_nothing():
    a = record(1, "Drone sighting closes Aalborg airport for three hours",
               "Danish police said several drones were seen over Aalborg airport late on Tuesday.", 0, "dk.example")
    b = record(2, "Drones over Aalborg airport and Skrydstrup air base, Danish police say",
               "After the Aalborg airport closure, drones were also reported near the Skrydstrup air base.", 4,
               "wire.example")
    c = record(3, "F-35 squadron at Skrydstrup air base starts new training season",
               "The Skrydstrup air base welcomed two new F-35 aircraft and opened its training season.", 8,
               "defence.example")
    stories = stories_of([a, b, c])
    assert stories[0] == stories[1]
    assert stories[2] != stories[0]


def test_one_report_syndicated_across_sites_stays_one_article():
    text = "The alliance agreed to station a brigade in Lithuania by 2027, officials in Vilnius said."
    rows = cluster_records([record(1, "Germany confirms Lithuania brigade timeline", text, 0, "a.example"),
                            record(2, "Germany confirms Lithuania brigade timeline", text, 1, "b.example")])
    assert rows[1]["duplicate_of"] == 1 and rows[0]["story_id"] == rows[1]["story_id"]


def test_an_outlets_headline_edit_with_the_same_text_is_one_story():
    # the same outlet re-issues its report 25 minutes later under a new headline and URL, the summary lightly
    # edited: its own site counts against a pair in the pair model's curve, the re-issue rule groups it
    first = record(1, "Ostsee: Marine meldet Schattenflotten-Tanker vor Fehmarn",
                   "Ein Tanker der russischen Schattenflotte ist vor Fehmarn von der Marine begleitet worden. Das "
                   "Schiff fuhr ohne Flagge, die Bundespolizei prüft den Fall.", 0, "nachrichten.example", "de")
    edited = record(2, "Tanker ohne Flagge: Marine begleitet Schiff der Schattenflotte durch die Ostsee",
                    "Ein Tanker der russischen Schattenflotte ist vor Fehmarn von der Marine begleitet worden. Das "
                    "Schiff fuhr ohne Flagge; die Bundespolizei prüft nun den Fall.", 0.4, "nachrichten.example", "de")
    docs = item_story_docs([record_to_item(first, 0), record_to_item(edited, 1)], T0)
    model = get_pair_model()
    assert model is not None and model.probability(pair_features(*docs)) < model.threshold
    assert StoryIndex().pair_probability(*docs) == 1.0
    assert len(set(stories_of([first, edited]))) == 1
    # a running page repeats its text under each new event: the rule leaves it to the pair model
    live = [record(3, "Live: Ukraine war updates", "Follow the latest news on the war in Ukraine here.", 0),
            record(4, "Live: Ukraine war updates – new strikes", "Follow the latest news on the war in Ukraine.", 3)]
    live_docs = item_story_docs([record_to_item(r, n) for n, r in enumerate(live)], T0)
    assert StoryIndex().pair_probability(*live_docs) < 1.0
    # the same text a day later is a repeat the pair model judges, not a re-issue
    later = item_story_docs([record_to_item(first, 0), record_to_item({**edited, "published": (
        T0 + timedelta(hours=30)).isoformat()}, 1)], T0)
    assert StoryIndex().pair_probability(*later) < 1.0


def test_one_event_in_english_and_german_meets_in_one_story():
    english = record(1, "Rheinmetall opens Unterlüß ammunition plant with Rutte and Pistorius",
                     "Rheinmetall's new plant in Unterlüß will produce 350,000 artillery shells a year.", 0,
                     "en.example")
    german = record(2, "Rheinmetall eröffnet Munitionswerk in Unterlüß mit Rutte und Pistorius",
                    "Das neue Werk von Rheinmetall in Unterlüß soll 350.000 Artilleriegranaten pro Jahr herstellen.",
                    1, "de.example", "de")
    first, second = stories_of([english, german])
    assert first == second


def test_a_report_in_another_language_that_shares_only_names_is_still_a_candidate(monkeypatch):
    import pipeline.stories as stories

    # long summaries in two languages share three names and nothing else: their MinHash digests agree too little
    # for the LSH's test, so only the name route, which skips it across languages, offers the pair
    english = record(1, "Kallas meets Sybiha in Odesa as the EU weighs its next sanctions package",
                     "The European Union's foreign policy chief travelled by overnight train and held talks with "
                     "Ukraine's foreign minister about energy infrastructure, air defence deliveries, frozen assets "
                     "and the timetable for accession negotiations, officials said after the meeting in the port "
                     "city.", 0, "en.example", "en")
    polish = record(2, "Kallas i Sybiha w Odessie. Unia szykuje kolejne sankcje",
                    "Szefowa unijnej dyplomacji przyjechała nocnym pociągiem i rozmawiała z ukraińskim ministrem "
                    "spraw zagranicznych o infrastrukturze energetycznej, dostawach obrony powietrznej, zamrożonych "
                    "aktywach i harmonogramie negocjacji akcesyjnych, przekazali urzędnicy po spotkaniu w portowym "
                    "mieście.", 3, "pl.example", "pl")
    assert len(set(stories_of([english, polish]))) == 1
    monkeypatch.setattr(stories, "CROSS_LANGUAGE_CANDIDATES", 0)
    assert len(set(stories_of([english, polish]))) == 2


def test_an_article_joins_the_story_of_its_own_language_first():
    # a German report matches an English story a shade more surely than a German one (the curves favour pairs
    # across languages, whose words cannot agree); it joins the German story, whose words it also shares
    english, german_story, german = item_story_docs([record_to_item(r, n) for n, r in enumerate([
        record(1, "Baltic states agree to share Patriot batteries along the Suwałki corridor",
               "Lithuania, Latvia and Estonia signed a deal in Riga to pool Patriot air defence.", 0, "en.example",
               "en"),
        record(2, "Patriot-Abkommen der Baltenstaaten in Riga unterzeichnet",
               "Litauen, Lettland und Estland legen ihre Luftabwehr am Suwałki-Korridor zusammen.", 2, "de2.example",
               "de"),
        record(3, "Baltenstaaten teilen Patriot-Batterien am Suwałki-Korridor",
               "Litauen, Lettland und Estland haben in Riga eine Vereinbarung über Patriot unterzeichnet.", 1,
               "de.example", "de")])], T0)
    index = StoryIndex()
    english.story_id, german_story.story_id = "english-story", "german-story"
    index.add(english)
    index.add(german_story)
    assert index.pair_probability(german, english) > index.pair_probability(german, german_story)
    assert index.pair_probability(german, german_story) >= index.pair_model.threshold
    match = index.match(german)
    assert match is not None and match.story_id == "german-story"


def test_story_vectors_survive_the_signature_and_score_paraphrases_above_unrelated_reports():
    docs = item_story_docs([record_to_item(r, n) for n, r in enumerate([
        record(1, "Drones sighted over Danish air base, flights halted at Aalborg",
               "Several large drones were seen over the Aalborg base overnight; the airport closed for hours.", 0),
        record(2, "Aalborg airport shut for hours after unidentified drones fly over military airfield",
               "Flights were suspended overnight as unknown drones circled above the air base in Aalborg.", 2),
        record(3, "Bakery chain opens ten new shops in the north",
               "The family firm plans ten new outlets selling bread and pastries by the summer.", 3)])], T0)
    restored = StoryDoc.from_packed("x", "x", T0, docs[0].packed_features())
    assert restored.vector == docs[0].vector and len(restored.vector) == 128
    paraphrase = pair_features(docs[0], docs[1])[FEATURES.index("embedding_cosine")]
    unrelated = pair_features(docs[0], docs[2])[FEATURES.index("embedding_cosine")]
    assert paraphrase > unrelated + 0.2


def test_signatures_hold_what_cannot_be_derived_and_old_whole_signatures_read_the_same():
    doc = item_story_docs([record_to_item(record(
        1, "Drones over Aalborg air base halt flights for the second night",
        "Danish police said several large drones circled the base; Aalborg airport closed for four hours.", 0),
        0)], T0)[0]
    stored = doc.to_features()
    assert "tokens" not in stored and "shingles" not in stored and isinstance(stored["vector"], bytes)
    # written before signatures were slimmed: merged tokens and shingles kept, the vector in base64 (JSON era)
    whole = {**stored, "tokens": doc.tokens, "shingles": doc.shingles,
             "vector": base64.b64encode(doc.vector).decode()}
    for data in (stored, json.loads(json.dumps(whole)), msgspec.msgpack.decode(msgspec.msgpack.encode(stored))):
        again = StoryDoc.from_features(doc.article_id, doc.story_id, doc.seen_at, data)
        assert (again.tokens, again.shingles, again.vector, again.entities, again.total) == (
            doc.tokens, doc.shingles, doc.vector, doc.entities, doc.total)
        assert list(again.tokens) == list(doc.tokens)  # same order: the digest and postings read it in order


def test_a_signature_stored_before_story_vectors_counts_as_no_evidence():
    doc = item_story_docs([record_to_item(record(1, "Drones over Aalborg air base", "Flights halted.", 0), 0)], T0)[0]
    legacy = StoryDoc.from_features("old", "old", T0, {k: v for k, v in doc.to_features().items() if k != "vector"})
    assert legacy.vector == b""
    assert pair_features(doc, legacy)[FEATURES.index("embedding_cosine")] == MISSING_COSINE


def test_names_fold_across_declension_and_accents():
    assert named_entities("Spotkanie w Kijowie z Zełenskim", "pl") & named_entities("Meeting in Kyiv", "en") == set()
    assert "madur" in named_entities("Nicolás Maduro", "en") and "madur" in named_entities("reżimu Madury", "pl")


@pytest.mark.parametrize(("title", "kind"), [
    ("Ukraine war live: Kyiv hit overnight", "live"), ("News des Tages: Venezuela, Berlin", "briefing"),
    ("Baltic updates: jets scrambled again", "live"), ("Firmware updates delay frigate trials", ""),
    ("The best deals this weekend", "roundup"), ("Analysis: what the deal means for NATO", "explainer"),
    ("Poland closes border crossing with Belarus", ""),
    # multi-story digests in three languages, and a headline that strings two stories together
    ("Nachrichten kompakt: Drohnen über Kiel, Streik bei der Bahn", "briefing"),
    ("Najważniejsze informacje dnia: szczyt NATO i pogoda", "briefing"),
    ("Former minister dies at 81. And, allies meet in Brussels on air defence", "briefing"),
    ("U.S. and Poland sign air defence deal", ""),
    ("Wochenrückblick: Was die Sicherheitskonferenz brachte", "roundup"),
    ("Snap election won by landslide: what you need to know", "roundup"),
])
def test_page_kinds(title, kind):
    assert page_kind(title) == kind


def test_train_stories_is_deterministic_and_writes_a_small_model(tmp_path: Path):
    pairs = tmp_path / "pairs.jsonl"
    rows = []
    for n in range(40):
        same = n % 2 == 0
        a = {"title": f"Minister {n} visits Vilnius brigade base", "text": f"The visit number {n} to Rukla.",
             "url": f"https://a.example/{n}", "seen": T0.isoformat()}
        b = {"title": f"Minister {n} at Vilnius brigade base" if same else f"Storm warning for region {n}",
             "text": f"Visit number {n} in Rukla." if same else "Heavy snow expected.",
             "url": f"https://b.example/{n}", "seen": (T0 + timedelta(hours=2)).isoformat()}
        rows.append({"id": f"p{n}", "a": a, "b": b, "label": 1 if same else 0})
    pairs.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    runner = CliRunner()
    outputs = []
    for name in ("one.json", "two.json"):
        result = runner.invoke(main, ["train-stories", "--in", str(pairs), "--out", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
        outputs.append((tmp_path / name).read_text(encoding="utf-8"))
    assert outputs[0] == outputs[1]
    model = PairModel.load(tmp_path / "one.json")
    assert len(model.curves) == len(json.loads(outputs[0])["features"]) and len(outputs[0]) < 20_000


def test_the_pair_model_is_one_piecewise_linear_curve_per_feature():
    """At a knot the log-odds add exactly that knot's value per feature; half-way between two knots, the mean;
    beyond the training range, the end value (the model never extrapolates)."""
    features = len(FEATURES)
    curves = tuple(tuple(float(k * (f + 1)) for k in range(4)) for f in range(features))
    model = PairModel((0.0,) * features, (3.0,) * features, curves, -1.0, 0.5, {})
    at = lambda value: model.log_odds(np.full((1, features), value))[0]  # noqa: E731
    total = sum(range(1, features + 1))
    assert at(2.0) == pytest.approx(-1.0 + 2 * total)
    assert at(2.5) == pytest.approx(-1.0 + 2.5 * total)
    assert at(9.0) == at(3.0) == pytest.approx(-1.0 + 3 * total)
    assert at(-5.0) == pytest.approx(-1.0)
    batch = model.log_odds(np.array([[1.0] * features, [2.0] * features]))
    assert batch.tolist() == pytest.approx([at(1.0), at(2.0)])
    one = np.linspace(-0.5, 3.5, features)  # the single-pair path reads the same curves
    assert model.probability(one) == pytest.approx(1 / (1 + np.exp(-model.log_odds(one)[0])))


def test_eval_stories_rejects_a_file_that_is_not_pairs(tmp_path: Path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "title": "not a pair", "label": 1}\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["eval-stories", "--in", str(bad)])
    assert result.exit_code != 0 and "not a labelled pair" in result.output



def test_a_headline_only_item_reposted_days_later_is_the_same_article_unless_it_recurs():
    from pipeline.stories import same_article, story_doc

    def doc(n: int, title: str, days: float) -> StoryDoc:
        return story_doc(str(n), title, "", T0 + timedelta(days=days), "en", vector=b"")

    assert same_article(doc(1, "What the new air defence shield means for Europe", 0),
                        doc(2, "What the new air defence shield means for Europe", 6))
    assert not same_article(doc(3, "Ukraine war live: Kyiv under attack again", 0),
                            doc(4, "Ukraine war live: Kyiv under attack again", 6))
    assert not same_article(doc(5, "Newsletter: what you need to know this morning", 0),
                            doc(6, "Newsletter: what you need to know this morning", 6))


def test_a_feature_carried_by_another_outlet_days_later_is_the_same_article_but_a_sites_series_is_not():
    from pipeline.stories import same_article, story_doc

    def doc(n: int, title: str, text: str, days: float, site: str) -> StoryDoc:
        return story_doc(str(n), title, text, T0 + timedelta(days=days), "en", site=site, vector=b"")

    title = "Why Europe's armies are short of artillery shells and what it costs to fix"
    original = doc(1, title, "Factories in Germany and Poland are years behind orders, a survey finds.", 0, "a.example")
    # the partner outlet's own summary five days later: different words and figures, same piece
    carried = doc(2, title, "Ammunition makers say 2 million rounds a year remain out of reach until 2028.", 5,
                  "b.example")
    assert same_article(original, carried)
    # one site running a headline again days later is a series (a weekly column), not the same piece
    assert not same_article(original, doc(3, title, "This week: the Nordic countries' stockpiles.", 5, "a.example"))
    # a short headline is too generic to vouch for identity on its own, and a week is the window's reach
    assert not same_article(doc(4, "Drones over Denmark again", "Airports closed.", 0, "a.example"),
                            doc(5, "Drones over Denmark again", "Bases on alert.", 5, "b.example"))
    assert not same_article(original, doc(6, title, "A new summary.", 8, "b.example"))
    briefing = "Morning briefing: what you need to know about Europe's defence today"
    assert not same_article(doc(7, briefing, "Shells, drones.", 0, "a.example"),
                            doc(8, briefing, "Tanks, ships.", 5, "b.example"))


def test_a_candidate_list_is_scored_as_each_pair_alone():
    docs = item_story_docs([record_to_item(r, n) for n, r in enumerate([
        record(1, "Drones sighted over Danish air base, flights halted at Aalborg",
               "Several large drones were seen over the Aalborg base overnight; the airport closed for hours.", 0),
        record(2, "Aalborg airport shut for hours after unidentified drones fly over military airfield",
               "Flights were suspended overnight as unknown drones circled above the air base in Aalborg.", 2),
        record(3, "Drones over Aalborg: live updates", "Police and the armed forces track drones near Aalborg.", 3),
        record(4, "Bakery chain opens ten new shops in the north",
               "The family firm plans ten new outlets selling bread and pastries by the summer.", 4),
        record(5, "Drones seen again over Aalborg air base", "Flights halted for a second night in Aalborg.", 400)])],
        T0)
    legacy = StoryDoc.from_features("old", "old", T0, {k: v for k, v in docs[1].to_features().items() if k != "vector"})
    index = StoryIndex()
    others = [*docs[1:], legacy]
    batched = index.pair_probabilities(docs[0], others)
    alone = [index.pair_probability(docs[0], other) for other in others]
    assert batched == pytest.approx(alone, abs=1e-6)  # float32 cosines summed in another order
    assert batched[0] > index.pair_model.threshold > batched[2]  # the paraphrase passes, the bakery does not
    assert batched[3] == 0.0  # beyond the time gap
    scores = index.pair_scores(docs[0], others)
    assert scores == pytest.approx([index.pair_score(docs[0], other) for other in others], abs=1e-6)
    assert scores[0] > 0 and scores[1:] == [0.0] * 4  # a live page needs more than the model's threshold


def test_a_documents_words_are_its_title_and_text_read_together():
    title, text = "Drones halt flights at Aalborg air base", "Danish police say drones flew over the base again."
    doc = item_story_docs([record_to_item(record(1, title, text, 0), 0)], T0)[0]
    together = _weighted_stems(f"{title} {text}", "en")
    assert list(doc.tokens.items()) == list(together.items()) and doc.total == pytest.approx(sum(together.values()))
    assert doc.title_tokens == _weighted_stems(title, "en") and doc.text_tokens == _weighted_stems(text, "en")


def lsh_candidates(index: StoryIndex, doc: StoryDoc, digest: np.ndarray) -> list[int]:
    """Every document sharing a band with ``doc`` within reach, unranked and unfiltered."""
    return index._lsh.best(digest, doc.seen_at.toordinal(), STORY_MAX_GAP.days, [], 10**6, 0, 10**6, 10**6)


def test_a_name_in_both_headlines_makes_a_candidate_where_the_words_do_not():
    # a Polish and an English report of one arrest: their words differ, the suspect's and the town's names do not
    records = [
        record(1, "Hrycenko zatrzymany w Przemyślu",
               "Prokuratura zarzuca mężczyźnie szpiegostwo na rzecz Rosji: fotografował węzły kolejowe, magazyny "
               "paliwa i konwoje wojskowe jadące na Ukrainę, a zdjęcia wysyłał przez komunikator.", 0,
               "pl.example", "pl"),
        record(2, "Hrycenko held in Przemyśl",
               "Investigators accuse the man of photographing freight yards, fuel depots and army convoys bound for "
               "the border, then sending the pictures abroad through a messaging app.", 5, "en.example"),
        record(3, "Hrycenko case: prosecutors widen the inquiry", "More suspects are named.", 24 * 9),
        record(4, "Bakery chain opens ten new shops", "The family firm plans new outlets by the summer.", 6)]
    polish, english, later, unrelated = item_story_docs([record_to_item(r, n) for n, r in enumerate(records)], T0)
    index = StoryIndex()
    for doc in (polish, later, unrelated):
        index.add(doc)
    digest = index._digest(english)
    assert 0 not in lsh_candidates(index, english, digest)  # too few shared shingles for the LSH's bands
    keys = index._candidates(english, digest)
    assert 0 in keys  # the Polish report, through the names in both titles
    assert 1 not in keys  # nine days later: beyond the reach of one story
    assert 2 not in keys  # no shared name, no shared word
    assert len(set(stories_of(records[:2]))) == 1  # and the pair model then puts them in one story


def test_the_rarest_word_in_both_reports_makes_a_candidate_where_the_lsh_does_not():
    # two reports of one find share few words; their rarest one, lower case (so not a name), is the link
    records = [record(1, "Navy divers recover sonobuoys off the coast",
                      "The crew of a minesweeper found two sonobuoys tangled in a fishing net near the harbour.", 0),
               record(2, "Fishermen haul up sonobuoys in their nets",
                      "A trawler pulled the devices aboard on Tuesday; the navy collected them for analysis.", 4),
               record(3, "Bakery chain opens ten new shops", "The family firm plans new outlets by the summer.", 2)]
    navy, fishermen, bakery = item_story_docs([record_to_item(r, n) for n, r in enumerate(records)], T0)
    index = StoryIndex()
    index.add(navy)
    index.add(bakery)
    digest = index._digest(fishermen)
    assert 0 not in lsh_candidates(index, fishermen, digest)
    assert index._candidates(fishermen, digest) == [0]  # the navy's report, not the bakery


def test_pairs_may_reference_sides_of_another_file_and_a_missing_one_is_a_clear_error(tmp_path: Path):
    source = tmp_path / "reports.jsonl"
    source.write_text("\n".join(json.dumps({"id": f"p{n}", "label": 1, "a": a, "b": b}) for n, (a, b) in enumerate([
        ({"title": "Minister confirms brigade timeline for Lithuania", "text": "Vilnius welcomed it.",
          "seen": "2026-03-04T08:00", "language": "en"},
         {"title": "Bakery wins bread prize", "text": "Sourdough.", "seen": "2026-03-04T09:00", "language": "en"}),
        ({"title": "Ministerin bestätigt Zeitplan der Brigade in Litauen", "text": "Vilnius begrüßt es.",
          "seen": "2026-03-04T10:00", "language": "de"},
         {"title": "Bäckerei gewinnt Brotpreis", "text": "Sauerteig.", "seen": "2026-03-04T11:00", "language": "de"}),
    ])) + "\n", encoding="utf-8")
    refs = tmp_path / "across.jsonl"
    refs.write_text(json.dumps({"id": "x1", "a": {"ref": "reports:p0:a"}, "b": {"ref": "reports:p1:a"},
                                "label": 1}) + "\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(main, ["eval-stories", "--no-cv", "--in", str(refs), "--eval-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["pairs"] == 1 and list(figures["by_language_pair"]) == ["de-en"]

    refs.write_text(json.dumps({"id": "x1", "a": {"ref": "elsewhere:p0:a"}, "b": {"ref": "reports:p1:a"},
                                "label": 1}) + "\n", encoding="utf-8")
    result = runner.invoke(main, ["eval-stories", "--no-cv", "--in", str(refs), "--eval-dir", str(tmp_path)])
    assert result.exit_code == 1 and "elsewhere.jsonl" in result.output and "absent" in result.output


def test_cross_language_reference_pairs_resolve_against_the_dev_files():
    shared_path("eval", "same_story_dev3.jsonl")
    refs = Path(__file__).parent / "fixtures" / "cross_language_story_pairs.jsonl"
    result = CliRunner().invoke(main, ["eval-stories", "--no-cv", "--in", str(refs)])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["pairs"] == 45 and set(figures["by_language_pair"]) == {"de-en", "de-pl", "en-pl"}
    # one event across languages is grouped at least half the time, and few different events are merged
    assert figures["recall"] >= 0.45 and figures["different_merged"] <= 2


def _pairs_file(path: Path, town_names: list[str], start_day: int) -> Path:
    """Pairs of one event in other words (label 1) and of two events in one town (label 0), own wording."""
    rows = []
    for n, town in enumerate(town_names):
        day = f"2026-03-{start_day + n % 5:02d}"
        rows.append({"id": f"{path.stem}-s{n}", "label": 1,
                     "a": {"title": f"Floods cut {town} off after the Varnholt dam gave way", "seen": f"{day}T08:00",
                           "text": f"Rescuers reached {town} by boat; 40 homes were evacuated."},
                     "b": {"title": f"{town} evacuates 40 homes as Varnholt dam breaks", "seen": f"{day}T11:00",
                           "text": f"Boats carried rescuers into {town} after the dam failed."}})
        rows.append({"id": f"{path.stem}-d{n}", "label": 0,
                     "a": {"title": f"{town} council approves a new bakery market", "seen": f"{day}T09:00",
                           "text": "The market opens on Saturdays."},
                     "b": {"title": f"Cyclists race through {town} in the spring classic", "seen": f"{day}T15:00",
                           "text": "The winner finished in four hours."}})
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_eval_stories_holds_each_file_out_in_turn(tmp_path: Path):
    first = _pairs_file(tmp_path / "north.jsonl", ["Alderholm", "Brennvik", "Corrasund", "Dalmore", "Eskerby",
                                                    "Fjordholt", "Galmstad", "Hollvik"], 2)
    second = _pairs_file(tmp_path / "south.jsonl", ["Istrava", "Jorvanek", "Kelmora", "Lusavik", "Mardelo",
                                                     "Norvena", "Ostrava", "Pellmar"], 10)
    result = CliRunner().invoke(main, ["eval-stories", "--in", str(first), "--in", str(second)])
    assert result.exit_code == 0, result.output
    held_out = json.loads(result.output)["cross_validated_by_file"]
    assert held_out["grouped_by"] == "file held out" and set(held_out["by_file"]) == {"north", "south"}
    assert set(held_out["thresholds_chosen"]) == {"north", "south"}
    # every unfrozen pair of each file is measured once, by the model trained on the other file
    for path in (first, second):
        pairs = read_pair_set(path)
        unfrozen = [p for p in pairs.pairs if not is_frozen(pairs.key(p))]
        assert unfrozen and held_out["by_file"][path.stem]["pairs"] == len(unfrozen)
    assert 0.0 <= held_out["f1"] <= 1.0

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.settings import PROJECT_ROOT
from pipeline.sources.seeds import (
    SEED_HEADLINE_CHARS,
    clean_seed_body,
    load_seeds,
    parse_seed,
    seed_source_name,
    split_date_marker,
)

SEEDS = PROJECT_ROOT / "seeds"


@pytest.fixture(scope="module")
def seeds():
    return {item.guid: item for item in load_seeds(SEEDS)}


def test_all_five_seeds_parse_with_their_dates_and_precision(seeds):
    dates = {name: (item.published_at, item.published_precision) for name, item in seeds.items()}
    assert dates == {
        "000_8cbfb3a42bc84bb7.txt": (datetime(2024, 11, 5, tzinfo=UTC), "day"),
        "001_13ad57fb16ce40ef.txt": (None, "unknown"),
        "002_6beeadf0afa1548b.txt": (None, "unknown"),
        "003_f6626e620618e431.txt": (datetime(2025, 12, 10, tzinfo=UTC), "day"),
        "004_f249bf287c0f66dd.txt": (datetime(2024, 2, 1, tzinfo=UTC), "month"),
    }


def test_date_marker_on_the_same_line_as_the_article_start(seeds):
    item = seeds["000_8cbfb3a42bc84bb7.txt"]
    assert item.body.startswith("As the possibility of a second term")
    assert "date 2024" not in item.body and "(MENAFN)" not in item.body
    assert item.title.startswith("As the possibility of a second term")


def test_month_only_date_is_first_of_month_never_an_invented_day():
    when, precision, rest = split_date_marker(" date 2024-02 Share:\n\nText")
    assert (when, precision) == (datetime(2024, 2, 1, tzinfo=UTC), "month")
    assert rest.startswith("Share:")


def test_share_debris_and_blank_line_runs_are_removed(seeds):
    item = seeds["004_f249bf287c0f66dd.txt"]
    assert not item.body.startswith("Share")
    assert "\n\n\n" not in item.body
    assert item.body.startswith("European officials are discussing")


def test_photo_caption_line_is_dropped_and_headline_lead_becomes_title(seeds):
    item = seeds["003_f6626e620618e431.txt"]
    assert "(Photo: Depositphotos)" not in item.body
    assert item.title.startswith("The United States is not seen as a guarantor of security")
    assert item.title.endswith("on its own")  # the whole lead sentence, not a cut


def test_undated_seeds_are_flagged_and_titled_from_their_first_sentence(seeds):
    for name in ("001_13ad57fb16ce40ef.txt", "002_6beeadf0afa1548b.txt"):
        item = seeds[name]
        assert item.published_at is None and "date_unknown" in item.flags
        assert 20 < len(item.title) <= SEED_HEADLINE_CHARS + 1
    assert seeds["001_13ad57fb16ce40ef.txt"].body.endswith("defense policies.")  # "— Agencies" trailer gone


def test_seed_identity_is_stable_and_source_is_the_file(seeds):
    again = {item.guid: item for item in load_seeds(SEEDS)}
    for name, item in seeds.items():
        assert item.source_kind == "seed" and item.guid == name
        assert again[name].article_id == item.article_id
        assert again[name].content_hash == item.content_hash
        assert item.language == "en"


def test_invalid_date_marker_is_unknown(tmp_path: Path):
    path = tmp_path / "bad.txt"
    path.write_text(" date 2024-13-45 Something happened in Brussels today.\n", encoding="utf-8")
    item = parse_seed(path)
    assert item.published_at is None and item.published_precision == "unknown"
    assert item.body == "Something happened in Brussels today."


def test_clean_seed_body_keeps_real_text():
    assert clean_seed_body("Share:\n\n\n\nNATO met.\n\n\n\nAllies agreed.") == "NATO met.\n\nAllies agreed."


def test_seeds_carry_a_readable_source_name_never_a_file_name(seeds):
    assert seeds["000_8cbfb3a42bc84bb7.txt"].source_name == "MENAFN"  # "(MENAFN) As the ..."
    assert all(not item.source_name.endswith(".txt") for item in seeds.values())
    assert seed_source_name("KYIV (Reuters) - Drones struck ...") == "Reuters"
    assert seed_source_name("Allied ministers met.\n\nSource: Polskie Radio") == "Polskie Radio"
    assert seed_source_name("Allied ministers met in Riga.") == "Seed document"

"""Language detection: the bundled fastText model names EN/DE/PL news text; a feed's declared language decides
only where the text cannot."""

from pipeline.language import detect_language


def test_news_leads_in_the_three_dev_languages_are_named():
    assert detect_language("NATO defence ministers agree to raise spending targets in Brussels") == "en"
    assert detect_language("Die Verteidigungsminister der NATO einigen sich auf höhere Ausgabenziele") == "de"
    assert detect_language("Ministrowie obrony NATO uzgodnili w Brukseli wyższe cele wydatków na zbrojenia") == "pl"


def test_a_confident_detection_overrides_a_wrong_declaration():
    text = "Bundeswehr verlegt weitere Soldaten nach Litauen, um die Ostflanke des Bündnisses zu stärken"
    assert detect_language(text, hint="en-US") == "de"


def test_too_short_a_text_takes_the_declared_language_normalised():
    assert detect_language("Kyiv", hint="uk_UA") == "uk"
    assert detect_language("Kyiv") is None


def test_a_text_no_language_can_claim_takes_the_declared_one():
    assert detect_language("F-35 F-16 HIMARS ATACMS 2026 2027 NATO EU", hint="pl") == "pl"


def test_line_breaks_in_the_sample_do_not_matter():
    assert detect_language("Polska wzmacnia granicę\nz Białorusią nowymi\numocnieniami i zaporami") == "pl"


def test_a_lead_of_names_and_figures_is_read_further_before_its_language_is_named():
    """The first 120 characters alone are unclear (weapon names and years); the detector reads on to 200."""
    head = ("F-35, HIMARS, ATACMS, IRIS-T SLM, Patriot PAC-3, Leopard 2A8, Eurofighter EF-2000, Taurus KEPD 350, CV90, "
            "K2, NASAMS, 2026/2027: ")
    assert len(head) > 120
    text = head + "Die Bundeswehr bestellt weitere Systeme für die Verteidigung der Ostflanke und die Luftabwehr"
    assert detect_language(text, hint="en") == "de"

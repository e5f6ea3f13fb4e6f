"""Canonical email addresses and lookalike detection (``users.emails``), without the database."""

import pytest
from django.core.exceptions import ValidationError

from users.emails import canonical_email, is_single_script, normalize_email, scripts_of


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        pytest.param("Boss@GeminiVideo.AI", "boss@geminivideo.ai", id="upper-case"),
        pytest.param("ｂｏｓｓ@ｇｅｍｉｎｉｖｉｄｅｏ．ａｉ", "boss@geminivideo.ai", id="fullwidth"),
        pytest.param("ivan@пример.рф", "ivan@xn--e1afmkfd.xn--p1ai", id="cyrillic-domain"),
        pytest.param("ivan@XN--E1AFMKFD.xn--p1ai", "ivan@xn--e1afmkfd.xn--p1ai", id="punycode-domain"),
        pytest.param("info@日本語ドメイン.jp", "info@xn--eckwd4c7c5976acvb2w6i.jp", id="kanji-with-katakana"),
        pytest.param("a@xn--strae-oqa.de", "a@xn--strae-oqa.de", id="registered-form-of-sharp-s"),
        pytest.param("a@mail-2.example.com", "a@mail-2.example.com", id="digits-and-hyphens"),
    ],
)
def test_normalize_email_gives_the_canonical_form(raw, canonical):
    assert normalize_email(raw) == canonical


# Addresses that mix scripts to pass for boss@geminivideo.ai (users/tests/test_api.py posts them too).
LOOKALIKE_EMAILS = [
    pytest.param("boss@gеminivideo.ai", id="cyrillic-e-in-domain"),
    pytest.param("boss@geminivideο.ai", id="greek-omicron-in-domain"),
    pytest.param("boss@xn--gminivideo-ksi.ai", id="punycode-of-mixed-domain"),
    pytest.param("bоss@geminivideo.ai", id="cyrillic-o-in-local-part"),
]


@pytest.mark.parametrize("email", LOOKALIKE_EMAILS)
def test_normalize_email_refuses_a_lookalike(email):
    with pytest.raises(ValidationError, match="mixes letters of different scripts"):
        normalize_email(email)


def test_a_label_idna_2003_would_map_elsewhere_must_be_written_as_punycode():
    with pytest.raises(ValidationError, match="registered xn-- form"):
        normalize_email("a@straße.de")


@pytest.mark.parametrize("label", ["xn--abc-", "xn--!!", "xn--zzzzzzzz"])
def test_invalid_punycode_is_refused(label):
    with pytest.raises(ValidationError, match="not valid punycode"):
        normalize_email(f"a@{label}.com")


def test_canonical_email_refuses_nothing():
    assert canonical_email("Boss@Gеminivideo.ai") == "boss@xn--gminivideo-ksi.ai"


@pytest.mark.parametrize("email", ["Boss@GeminiVideo.AI", "ivan@пример.рф", "ｂｏｓｓ@ｅｘａｍｐｌｅ．ｃｏｍ"])
def test_the_canonical_form_is_its_own_canonical_form(email):
    once = normalize_email(email)
    assert normalize_email(once) == canonical_email(once) == once


def test_an_address_without_at_is_left_to_the_validator():
    assert normalize_email("Not-An-Email") == "not-an-email"


def test_scripts_of_ignores_digits_hyphens_and_punctuation():
    assert scripts_of("ab-1.2_c") == {"LATIN"}


@pytest.mark.parametrize(
    ("text", "single"),
    [("gеminivideo", False), ("пример", True), ("日本語ドメイン", True), ("한국어漢字", True), ("abcпример", False)],
)
def test_is_single_script(text, single):
    assert is_single_script(text) is single

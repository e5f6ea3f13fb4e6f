"""Email addresses in one canonical form, so that one mailbox is one account.

An address is stored and compared as: NFKC-normalized (fullwidth and other compatibility letters fold
to their plain form), lower-cased, with its domain in ASCII (each internationalized label as its
IDNA ``xn--`` form). ``boss@GEMINIVIDEO.AI``, ``ｂｏｓｓ@ｇｅｍｉｎｉｖｉｄｅｏ．ａｉ`` are then the same
address, and so are ``a@пример.рф`` and ``a@xn--e1afmkfd.xn--p1ai``.

Lookalikes are refused rather than folded: a domain label whose letters come from more than one
script (``gеminivideo`` with a Cyrillic "е", ``geminivideο`` with a Greek "ο"), also when it is
written as punycode (``xn--gminivideo-ksi``), and a local part that mixes scripts. A label in one
script (``пример``) is fine. The scripts that one writing system uses together (Japanese kanji with
kana, Chinese with Bopomofo, Korean with Hanja, each also with Latin) count as one, as in Unicode's
"highly restrictive" profile (UTS #39). Digits, hyphens, marks and punctuation belong to no script.

Only the standard library is used: ``encodings.idna`` implements IDNA 2003, which maps a few
characters that IDNA 2008 keeps (``ß``, final ``ς``, zero-width joiners). A label holding one of them
is refused in its Unicode form, because its 2003 ASCII form (``strasse``) is another domain; written
in its registered ``xn--`` form it is accepted as it is.
"""

import unicodedata
from encodings import idna

from django.core.exceptions import ValidationError

ACE_PREFIX = "xn--"
# IDNA separates labels with these too; NFKC already folds the fullwidth full stop to ".".
LABEL_SEPARATORS = str.maketrans({"\u3002": ".", "\uff61": "."})
# The first word of some letters' Unicode names, and the script it stands for.
SCRIPT_ALIASES = {"CJK": "HAN", "IDEOGRAPHIC": "HAN", "KATAKANA-HIRAGANA": "KATAKANA"}
COMBINABLE_SCRIPTS = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)


def normalize_email(value: str) -> str:
    """The canonical form of the address ``value``; a ``ValidationError`` for a lookalike or a bad domain.

    Used wherever an address comes in: the API, the admin forms, ``User.clean`` and ``create_user``.
    Whether the result is a well-formed address is left to ``EmailValidator``, which runs after.
    """
    return _canonical(value, strict=True)


def canonical_email(value: str) -> str:
    """The canonical form of ``value`` for comparing and storing, never refusing anything.

    For lookups (a login, a filter) and ``User.save``: an address that ``normalize_email`` would
    refuse matches no stored account, and a row written before the rules existed still saves.
    """
    return _canonical(value, strict=False)


def scripts_of(text: str) -> set[str]:
    """The scripts of the letters of ``text`` (``{"LATIN", "CYRILLIC"}``); other characters have none."""
    scripts = set()
    for character in text:
        if unicodedata.category(character).startswith("L"):
            word = unicodedata.name(character, "UNKNOWN").split()[0]
            scripts.add(SCRIPT_ALIASES.get(word, word))
    return scripts


def is_single_script(text: str) -> bool:
    """Whether the letters of ``text`` are of one script (or of scripts one writing system combines)."""
    scripts = scripts_of(text)
    return len(scripts) <= 1 or any(scripts <= allowed for allowed in COMBINABLE_SCRIPTS)


def _canonical(value: str, *, strict: bool) -> str:
    # NFKC again after lower(): lower-casing can leave a sequence NFKC would compose, and the
    # canonical form of a canonical address must be itself.
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value).lower())
    local, at, domain = text.rpartition("@")
    if not at:
        return text
    if strict and not is_single_script(local):
        raise ValidationError(
            "The part before @ mixes letters of different scripts (%(scripts)s), as lookalike addresses do.",
            code="mixed_scripts",
            params={"scripts": _names(local)},
        )
    labels = domain.translate(LABEL_SEPARATORS).split(".")
    return f"{local}@{'.'.join(_ascii_label(label, strict=strict) for label in labels)}"


def _ascii_label(label: str, *, strict: bool) -> str:
    """One domain label in ASCII; in strict mode, checked for lookalikes first."""
    if label.isascii():
        if strict and label.startswith(ACE_PREFIX):
            _check_unicode_label(_decode_ace(label), written=label)
        return label
    if strict:
        _check_unicode_label(label, written=label)
    try:
        prepared = idna.nameprep(label)
        ascii_label = idna.ToASCII(label).decode("ascii")
    except UnicodeError as error:
        if strict:
            raise ValidationError(
                "The domain label “%(label)s” is not a valid internationalized domain name.",
                code="invalid_label",
                params={"label": label},
            ) from error
        return label
    if prepared != label:
        # IDNA 2003 would map it (ß -> ss) to another domain than the one IDNA 2008 registers.
        if strict:
            raise ValidationError(
                "The domain label “%(label)s” has characters (such as ß, ς or invisible joiners) that the two "
                "IDNA standards encode differently; write the domain in its registered xn-- form.",
                code="ambiguous_label",
                params={"label": label},
            )
        return label
    return ascii_label


def _decode_ace(label: str) -> str:
    try:
        decoded = label[len(ACE_PREFIX) :].encode("ascii").decode("punycode")
    except UnicodeError as error:
        raise _invalid_ace(label) from error
    # An xn-- label stands for a non-ASCII one in canonical form; anything else is not IDNA.
    if decoded.isascii() or decoded != unicodedata.normalize("NFKC", decoded.lower()):
        raise _invalid_ace(label)
    return decoded


def _invalid_ace(label: str) -> ValidationError:
    return ValidationError(
        "The domain label “%(label)s” is not valid punycode.", code="invalid_label", params={"label": label}
    )


def _check_unicode_label(label: str, *, written: str) -> None:
    if not is_single_script(label):
        shown = label if label == written else f"{written} ({label})"
        raise ValidationError(
            "The domain label “%(label)s” mixes letters of different scripts (%(scripts)s), as lookalike domains do.",
            code="mixed_scripts",
            params={"label": shown, "scripts": _names(label)},
        )


def _names(text: str) -> str:
    return ", ".join(sorted(script.title() for script in scripts_of(text)))

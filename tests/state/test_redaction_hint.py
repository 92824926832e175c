"""The redaction pre-check must flag every text the `_HINT` regex flags (it only skips the regex
where the regex could not match), so a fast path can never let a secret through unredacted."""

from __future__ import annotations

import pytest

from reconciler.state import redaction
from reconciler.state.redaction import _HINT, _hinted, _pattern_hinted, encode, redact_text

HITS = [
    '{"api_key":"x"}',
    '{"APIKEY":"x"}',
    '{"Api_Key":"x"}',
    '{"client_secret":"x"}',
    '{"PassWord":"x"}',
    '{"Authorization":"x"}',
    '{"security_token":"x"}',
    '{"SecurityToken":"x"}',
    '"called with Bearer abc"',
    '"BEARER\tabc"',
    '"whsec_abc"',
    '"WHSEC_abc"',
    '"sk-0123456789abcdef"',
    '"SK-0123456789ABCDEF"',
    '"\u00e9 sk-0123456789abcdef"',  # non-ASCII text goes to the regex
    '"\u212a api_\u212aey"',  # the Kelvin sign matches k under re.I: the regex decides
    '"\u2248 \u017fecret"',  # ſ matches s under re.I, and lower() keeps it ſ
    '"\u2248 ap\u0130_key"',  # İ matches i under re.I; lower() makes it i + a combining dot
    '"\u2248 ap\u0131key"',  # ı matches i under re.I
    '"\u2248 a PassW"',  # non-ASCII text without those three: the literal pre-check decides
]
MISSES = [
    '{"status":"SUCCEEDED","job_id":"ft-1"}',
    '{"model":"wan2.5-i2v-preview"}',
    '"task-0123"',
    '"sk-short"',
    '"bearer"',
    '"\u00e9t\u00e9"',
    '{"cost_estimated":"\u2248 $24.30","note":"\u0130stanbul"}',
]


@pytest.mark.parametrize("text", HITS + MISSES)
def test_pre_check_agrees_with_the_regex(text: str) -> None:
    assert _pattern_hinted(text) is (_HINT.search(text) is not None)


@pytest.mark.parametrize("text", HITS)
def test_every_kind_of_hint_is_caught(text: str) -> None:
    assert _hinted(text)


def test_each_literal_is_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dropping any literal from the pre-check lets some regex hit through (the list is minimal)."""
    literals = redaction._HINT_LITERALS
    for dropped in literals:
        monkeypatch.setattr(redaction, "_HINT_LITERALS", tuple(x for x in literals if x != dropped))
        assert any(not _pattern_hinted(t) for t in HITS if _HINT.search(t)), dropped


def test_secrets_are_still_scrubbed() -> None:
    assert "abc123" not in encode({"note": "sent Bearer abc123", "x": 1})
    assert encode({"api_key": "k"}) == '{"api_key":"[redacted]"}'
    assert redact_text("Bearer abc") == "[redacted]"
    assert encode({"status": "ok"}) == '{"status":"ok"}'


def test_only_the_listed_characters_fold_to_an_ascii_letter_unlike_lower() -> None:
    """The pre-check lower-cases non-ASCII text and trusts the literals unless it holds one of
    `_FOLDS_TO_ASCII`: that is exact only if no other character matches an ASCII letter of the
    literals under re.I without lower() giving that letter. Swept over every code point."""
    import re
    import sys

    letters = set("".join(redaction._HINT_LITERALS)) | set("abcdefghijklmnopqrstuvwxyz0123456789")
    one_of = re.compile("[" + re.escape("".join(sorted(letters))) + "]", re.I)
    folding = {
        ch
        for ch in map(chr, range(0x80, sys.maxunicode + 1))
        if one_of.fullmatch(ch) and ch.lower() not in letters
    }
    assert folding == set(redaction._FOLDS_TO_ASCII)


def _normalised_hit(text: str) -> bool:
    """The reference: `is_secret_key`'s normalisation (lower-cased, `isalnum` kept) of the whole text."""
    joined = "".join(ch for ch in text.lower() if ch.isalnum())
    return any(literal in joined for literal in redaction._KEY_LITERALS)


def test_every_non_ascii_character_stands_in_as_the_normalisation_treats_it() -> None:
    """Each non-ASCII code point is dropped when `isalnum` drops it and kept (as "0") otherwise."""
    import sys

    every = "".join(map(chr, range(0x80, sys.maxunicode + 1)))
    stripped = redaction._NON_ASCII.sub(redaction._ascii_stand_in, every)
    assert stripped == "".join("0" if ch.isalnum() else "" for ch in every)


def test_the_key_pre_check_agrees_with_the_normalisation() -> None:
    """Over a seeded mix of literal fragments and ASCII and non-ASCII characters, alphanumeric or
    not (a kept one must break a key apart, a dropped one must not)."""
    import random

    rng = random.Random(20261204)
    fragments = ["api", "key", "KEY", "sec", "ret", "pass", "w", "author", "ization", "security", "token"]
    between = [
        "",
        "",
        "-",
        "_",
        " ",
        "\u2013",
        "\u2010",
        "\u2248",
        "\u00e9",
        "\u00b2",
        "\u0130",
        "\u0307",
        "\u4e2d",
        "\u212a",
        "x",
        "0",
        "\U0001d400",
    ]
    hits = 0
    for _ in range(20000):
        text = "".join(rng.choice(fragments) + rng.choice(between) for _ in range(rng.randint(1, 5)))
        expected = _normalised_hit(text)
        hits += expected
        assert redaction._key_hinted(text) is expected, repr(text)
    assert 1000 < hits < 19000  # both answers were exercised


@pytest.mark.parametrize("value", [{}, [], (), "", 0, None, False, {"a": []}, [{}]])
def test_empty_columns_encode_as_the_encoder_would(value: object) -> None:
    """`encode` answers {} and [] without the encoder: the same text as the encoder's, nothing else."""
    assert encode(value) == redaction._ENCODER.encode(value)


# Secret keys spelled with any separators and case: `is_secret_key` flags them all, so a stored
# value under one must never keep its text (the pre-check used to miss "x-api-key").
_WORDS = ["api key", "secret", "password", "passwd", "authorization", "security token", "secret key"]
_SEPARATORS = ["", "-", "_", ".", " ", "--", "\u2010", ":"]


# only the suffix rules take a prefix ("x-api-key"); an exact key with one is another key
_SPELLED = [(w, "") for w in _WORDS] + [
    (w, prefix) for w in ("api key", "secret", "password") for prefix in ("x-", "Client ")
]


@pytest.mark.parametrize(("word", "prefix"), _SPELLED)
@pytest.mark.parametrize("sep", _SEPARATORS)
def test_a_secret_key_with_any_separator_is_redacted(word: str, prefix: str, sep: str) -> None:
    parts = word.split(" ")
    spellings = [sep.join(parts), sep.join(parts).upper(), sep.join(p.title() for p in parts)]
    for key in (prefix + k for k in spellings):
        assert redaction.is_secret_key(key), key
        text = encode({"labels": {key: "hunter2value"}, "note": "\u2248 3" if sep == ":" else "ok"})
        assert "hunter2value" not in text, text


def test_hinted_flags_every_value_redact_would_change() -> None:
    """The property the pre-check exists for, over a seeded random mix of keys and values."""
    import random

    rng = random.Random(20261203)
    fragments = [
        "api",
        "key",
        "Key",
        "secret",
        "pass",
        "word",
        "token",
        "security",
        "auth",
        "orization",
        "x",
        "job",
        "id",
        "Bearer ",
        "sk-",
        "0123456789abcdef",
        "whsec_",
        "\u2248",
        "\u212a",
    ]
    seps = ["", "-", "_", ".", " ", "/", "\u2010", "\n", "\t", "\u0001", '"', "\\"]
    for _ in range(4000):
        key = rng.choice(seps).join(rng.choice(fragments) for _ in range(rng.randint(1, 4)))
        value = rng.choice(["v", "x" + rng.choice(fragments) + rng.choice(fragments)])
        data = {key: value, "status": "ok"}
        text = redaction._ENCODER.encode(data)
        if redaction.redact(data) != data:
            assert _hinted(text), text


@pytest.mark.parametrize(
    "data",
    [
        {"note": "called with Bearer\tabc123hunter2xyz"},  # JSON writes the tab as \t
        {"note": "Bearer\nabc123hunter2xyz"},
        {"api\nkey": "abc123hunter2xyz"},  # a key with a newline normalises to "apikey"
        {"x-api\u0001key": "abc123hunter2xyz"},  # a control character is written \u0001
    ],
)
def test_a_secret_behind_a_json_escape_is_redacted(data: dict[str, str]) -> None:
    assert redaction.redact(data) != data  # each is a secret to the precise walk...
    assert "abc123hunter2xyz" not in encode(data)  # ...and the pre-check lets the walk see it

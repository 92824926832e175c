"""Compact JSON for the state's columns, with credentials scrubbed on the way in.

The engine never hands secrets to the store on purpose; this is the seatbelt for when it does
by accident (an observed object echoing a header, an error message quoting a request). Values
under credential-like keys (`api_key`, `Authorization`, `access_key_secret`,
`X-Request-req-accessKeySecret`, `password`, `security_token`, …) and strings that look like
credentials (`Bearer …`, `sk-…` API keys, `whsec_…` webhook secrets) become `"[redacted]"`.
Keys that *name* an environment variable (`api_key_env`) are not secrets and are kept.

Cost: one regex scan of the encoded JSON; the walk-and-rewrite only runs when it hits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

REDACTED = "[redacted]"

# Any hit sends the value through the precise walk below; false positives only cost time.
_HINT = re.compile(
    r"api_?key|secret|passw|authorization|security_?token|bearer\s|whsec_|sk-[0-9a-z]{16}", re.I
)
# What every match of _HINT contains, lower-cased: for ASCII text (nearly all of it) plain substring
# tests rule a hit out ~5x faster than the case-insensitive regex, which cannot skip ahead on a
# literal prefix (it was ~40 us per column, a tenth of an apply's CPU). Only a possible hit runs
# the regex, so what counts as a hit is exactly what it was.
_HINT_LITERALS = (
    "apikey",
    "api_key",
    "secret",
    "passw",
    "authorization",
    "securitytoken",
    "security_token",
    "bearer",
    "whsec_",
    "sk-",
)
_SECRET_TEXT = re.compile(r"(?i)\bbearer\s+[^\s\"',;]+|\bsk-[0-9a-zA-Z]{16,}|\bwhsec_[0-9a-zA-Z+/=]+")
_EXACT_KEYS = frozenset({"authorization", "securitytoken", "passwd", "secretkey", "proxyauthorization"})


def is_secret_key(key: str) -> bool:
    normalized = "".join(ch for ch in key.lower() if ch.isalnum())
    return (
        normalized in _EXACT_KEYS
        or normalized.endswith("apikey")
        or normalized.endswith("secret")
        or normalized.endswith("password")
    )


# The only characters that `_HINT` (re.I) matches to an ASCII letter of its literals while
# `str.lower` does not turn them into that letter: İ, ı, ſ (the Kelvin sign lower-cases to `k`).
# Checked over every code point in tests/state/test_redaction_hint.py.
_FOLDS_TO_ASCII = ("\u0130", "\u0131", "\u017f")


def _pattern_hinted(text: str, low: str | None = None) -> bool:
    """`_HINT.search(text)`, with a literal pre-check on the lower-cased text (`low`, if the caller
    has it): exact unless the text holds one of `_FOLDS_TO_ASCII`, which the regex is left to judge.
    Non-ASCII text (an output with a "≈" in it) took the regex every time: ~15 us a column."""
    if text.isascii() or not any(ch in text for ch in _FOLDS_TO_ASCII):
        low = text.lower() if low is None else low
        if not any(literal in low for literal in _HINT_LITERALS):
            return False
    return _HINT.search(text) is not None


# What every key `is_secret_key` flags contains once normalised as it normalises it (lower-cased,
# only letters and digits kept). `_HINT` alone missed keys with other separators ("x-api-key",
# "Security Token", "pass.word"), so their values were stored unredacted. Normalising the whole
# text keeps each key's letters and digits together and in order: a key that normalises to one
# of these leaves it in the normalised text.
_KEY_LITERALS = ("apikey", "secret", "passw", "authorization", "securitytoken")
_ASCII_KEY_LITERALS = tuple(literal.encode() for literal in _KEY_LITERALS)
_ASCII_NOT_ALNUM = bytes(c for c in range(128) if not chr(c).isalnum())
# Non-ASCII text (half of an apply's columns hold an en dash, in a cost note) goes the same
# bytes way once each non-ASCII character is replaced: by nothing when `is_secret_key`'s
# normalisation drops it (not `isalnum`), by "0" when it keeps it. A kept character only ever
# breaks a literal apart, and a digit does exactly that (no literal holds one); so the stripped
# text holds a literal exactly when the normalised one does. The old per-character join took
# ~100 us on a 2 KB column.
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _ascii_stand_in(match: re.Match[str]) -> str:
    return "0" if match.group().isalnum() else ""


def _key_hinted(text: str, low: str | None = None) -> bool:
    low = text.lower() if low is None else low
    if not low.isascii():
        low = _NON_ASCII.sub(_ascii_stand_in, low)
    # bytes: ~3x faster to strip and search than str.translate with a table
    kept = low.encode("ascii").translate(None, _ASCII_NOT_ALNUM)
    return any(literal in kept for literal in _ASCII_KEY_LITERALS)


def _hinted(text: str) -> bool:
    """Whether `redact` may change the value `text` encodes: a `_HINT` match (secret-looking text,
    or the usual spellings of secret keys) or a secret key spelled with other separators.

    A backslash always counts: in JSON it starts an escape (a tab is written `\\t`, a newline
    `\\n`), so "Bearer<tab>token" or a key with a newline in it no longer reads as itself in the
    text; such rows are rare, and the precise walk decides them."""
    low = text.lower()
    return "\\" in low or _pattern_hinted(text, low) or _key_hinted(text, low)


def redact_text(text: str) -> str:
    return _SECRET_TEXT.sub(REDACTED, text) if _hinted(text) else text


def redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: (
                REDACTED
                if isinstance(key, str) and is_secret_key(key) and item not in (None, "")
                else redact(item)
            )
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


# What `json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False,
# allow_nan=False)` builds on every call (an apply encodes ~10 columns per record write).
_ENCODER = json.JSONEncoder(separators=(",", ":"), sort_keys=True, ensure_ascii=False, allow_nan=False)


_EMPTY: dict[type, str] = {dict: "{}", list: "[]"}


def encode(value: Any) -> str:
    """Compact, key-sorted JSON (stable bytes, so unchanged records compare equal), secrets scrubbed.

    Raises TypeError/ValueError for values that are not JSON data.
    """
    if not value and type(value) in _EMPTY:  # about a third of a record's columns are {} or []
        return _EMPTY[type(value)]
    text = _ENCODER.encode(value)
    if _hinted(text):
        text = json.dumps(redact(value), separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return text


def encode_all(values: Sequence[Any]) -> list[str]:
    """`[encode(v) for v in values]`, with the credential pre-check run once over all the texts.

    A state write encodes a row's ten-odd columns; checking each text for hints (a lower-cased
    copy and ten substring scans apiece) cost as much as encoding the small ones. A hint inside
    one text is a hint inside all of them joined (the pre-check and `_HINT` look for substrings,
    and a text's own substrings stay substrings of the join), so a join without one proves every
    text clean; a join with one (even a false one, across a boundary) takes `encode` per value.

    Raises TypeError/ValueError for values that are not JSON data, as `encode` does.
    """
    texts = [
        _EMPTY[type(value)] if not value and type(value) in _EMPTY else _ENCODER.encode(value)
        for value in values
    ]
    if _hinted("".join(texts)):
        return [encode(value) for value in values]
    return texts


_CONSTANTS: dict[str, Any] = {"null": None}


def decode(text: str | None) -> Any:
    if text is None:
        return None
    # Most records carry empty {} / [] columns; skip the parser for them (8,000-resource states).
    if text == "{}":
        return {}
    if text == "[]":
        return []
    if text in _CONSTANTS:
        return _CONSTANTS[text]
    return json.loads(text)

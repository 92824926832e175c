"""Reading LoRA files out of a trainer prediction's `outputs`, whatever shape they come in.

The shape is not documented beyond "an array of URLs" (providers.md §2.5): the desktop client
types it `(string | object)[]`, a user-published Wan 2.2 result is an object with
`high_noise_lora` / `low_noise_lora`, single-LoRA trainers return one `.safetensors` URL. So we
accept, at any nesting inside a list:

  (a) URL strings — classified by `high_noise` / `low_noise` in the file name; otherwise `lora`
  (b) objects with `high_noise_lora` / `low_noise_lora` (or `lora`) keys holding URLs
  (c) JSON-encoded strings of either

and name them `high_noise_lora`, `low_noise_lora`, `lora` (a second file of the same kind becomes
`lora_2`, `high_noise_lora_2`, …). Pure functions; no I/O.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote, urlsplit

HIGH = "high_noise_lora"
LOW = "low_noise_lora"
SINGLE = "lora"
LORA_KEYS = (HIGH, LOW, SINGLE)

_HIGH_RE = re.compile(r"high[_-]?noise", re.IGNORECASE)
_LOW_RE = re.compile(r"low[_-]?noise", re.IGNORECASE)
_MAX_DEPTH = 4


def _is_url(value: str) -> bool:
    parts = urlsplit(value.strip())
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _file_name(url: str) -> str:
    return unquote(urlsplit(url).path.rsplit("/", 1)[-1])


def classify_url(url: str) -> str:
    """`high_noise_lora`, `low_noise_lora` or `lora`, from the URL's file name."""
    name = _file_name(url)
    if _HIGH_RE.search(name):
        return HIGH
    if _LOW_RE.search(name):
        return LOW
    return SINGLE


def _walk(value: Any, named: dict[str, str], loose: list[str], depth: int) -> None:
    if depth > _MAX_DEPTH:
        return
    if isinstance(value, str):
        text = value.strip()
        if text[:1] in ("[", "{", '"'):
            try:
                decoded = json.loads(text)
            except ValueError:
                decoded = None
            if decoded is not None and decoded != text:
                _walk(decoded, named, loose, depth + 1)
                return
        if _is_url(text):
            loose.append(text)
        return
    if isinstance(value, list | tuple):
        for item in value:
            _walk(item, named, loose, depth + 1)
        return
    if isinstance(value, dict):
        for key in LORA_KEYS:
            item = value.get(key)
            if isinstance(item, str) and _is_url(item.strip()):
                named.setdefault(key, item.strip())
        for key in ("outputs", "url", "path"):
            if key in value:
                _walk(value[key], named, loose, depth + 1)


def parse_lora_outputs(outputs: Any) -> dict[str, str]:
    """Named LoRA URLs from a prediction's `outputs` (empty when there are none).

    >>> parse_lora_outputs(["https://cdn/x_high_noise_lora_1.safetensors", "https://cdn/x_low_noise_lora_1.safetensors"])
    {'high_noise_lora': 'https://cdn/x_high_noise_lora_1.safetensors', 'low_noise_lora': 'https://cdn/x_low_noise_lora_1.safetensors'}
    """
    named: dict[str, str] = {}
    loose: list[str] = []
    _walk(outputs, named, loose, 0)
    for url in dict.fromkeys(loose):  # keep order, drop repeats
        if url in named.values():
            continue
        base = key = classify_url(url)
        n = 1
        while key in named:
            n += 1
            key = f"{base}_{n}"
        named[key] = url
    order = {k: i for i, k in enumerate(LORA_KEYS)}
    return dict(sorted(named.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))


def missing_loras(parsed: dict[str, str], expected: tuple[str, ...]) -> list[str]:
    """Which of the outputs a trainer should produce (`TrainerFacts.lora_outputs`) are absent."""
    return [k for k in expected if k not in parsed]


__all__ = ["HIGH", "LORA_KEYS", "LOW", "SINGLE", "classify_url", "missing_loras", "parse_lora_outputs"]

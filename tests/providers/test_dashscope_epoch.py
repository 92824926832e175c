"""`observations.epoch` reads DashScope's zone-less China times as it always has.

It used `fromisoformat(...).replace(tzinfo=UTC).timestamp()`; it now subtracts the naive epoch
(the same timedelta, without `replace`'s keyword parsing, once per refreshed object). The old
formula is the reference here, for every shape the provider writes and some it should not.
"""

from __future__ import annotations

import calendar
import random
import time
from datetime import UTC, datetime

from reconciler.providers.dashscope.observations import CHINA_UTC_OFFSET_S, epoch


def _reference(text: str | None) -> float | None:
    if not text:
        return None
    head = text[:19]
    if len(head) == 19 and head[10] in " T":
        try:
            return datetime.fromisoformat(head).replace(tzinfo=UTC).timestamp() - CHINA_UTC_OFFSET_S
        except ValueError:
            pass
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
        try:
            return float(calendar.timegm(time.strptime(text[:19], fmt)) - CHINA_UTC_OFFSET_S)
        except ValueError:
            continue
    return None


def test_epoch_is_the_old_formula() -> None:
    cases: list[str | None] = [
        None,
        "",
        "2026-12-02 23:34:54",
        "2026-12-02T23:34:54",
        "2026-12-02T23:34:54.123",
        "2026-12-02 23:34:54,315",
        "1970-01-01 08:00:00",
        "0001-01-01 00:00:00",
        "9999-12-31 23:59:59",
        "2026-13-02 23:34:54",
        "2026-02-30 10:00:00",
        "2026-12-02 23:34",
        "2026-12-02T23:34+08:00",
        "2026-12-02T23:34:54Z",
        "2026-12-02T23:34:54+08:00",
        "abcdefghij klmnopqrs",
    ]
    rng = random.Random(20261202)
    for _ in range(20000):
        dt = datetime.fromtimestamp(rng.uniform(-5e10, 2.5e11), UTC)
        cases.append(dt.strftime("%Y-%m-%d %H:%M:%S") if rng.random() < 0.5 else dt.isoformat())
    for text in cases:
        got, want = epoch(text), _reference(text)
        assert got == want and type(got) is type(want), text

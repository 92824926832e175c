"""A request's URL built from the base URL parsed once, instead of httpx parsing each one anew.

Why: httpx parses every request's URL string from scratch (`urlparse`: a per-character scan,
four regexes, host and port normalisation) — a quarter of the client's cost per request against
the in-process sandbox. The base URL is the same for every request of a client and the path is
plain text the clients build (`/api/v1/fine-tunes/ft-…`), so the parsed base with the path put in
is the URL httpx would have made.

Only a *plain* path takes this way: characters httpx's path quoting leaves as they are (no `%`,
`?`, `#`, space, non-ASCII …) and no `.` or `..` segment (which httpx would drop). Anything else —
and every URL if this httpx does not build URLs the way `_probe` checks — goes through httpx's
own parser. It relies on two private details of httpx (`URL._uri_reference`, a `ParseResult`
named tuple); `UrlJoiner` checks them when it is made and stands aside if they changed.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

# Unreserved and sub-delimiter characters, ":", "@" and "/": what httpx's `quote(path,
# safe=PATH_SAFE)` returns unchanged (`%` is left out: an escape is the slow path's business).
_PLAIN_PATH = re.compile(r"/[A-Za-z0-9\-._~!$&'()*+,;=:@/]*")

_PROBES = ("/api/v1/fine-tunes/ft-1", "/api/v1/deployments/wan2.5-i2v-ft-1:c600", "/v1/x@y/a=b;c")


class UrlJoiner:
    """`join(path)`: the `httpx.URL` of `base_url + path` (a str for httpx to parse when not plain)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self._base: Any = None  # the base's ParseResult, None when the fast way is off
        self._prefix = ""  # the base URL's own path ("" or "/prefix")
        try:
            self._probe()
        except Exception:  # a changed httpx: every URL is parsed by httpx, as before
            self._base = None

    def _probe(self) -> None:
        ref = httpx.URL(self.base_url + "/x")._uri_reference
        if not (isinstance(ref, tuple) and hasattr(ref, "_replace") and ref.path.endswith("/x")):
            return
        if ref.query is not None or ref.fragment is not None:
            return
        self._base, self._prefix = ref, ref.path[:-2]
        for path in _PROBES:
            fast, slow = self.join(path), httpx.URL(self.base_url + path)
            if not (isinstance(fast, httpx.URL) and fast == slow and str(fast) == str(slow)):
                self._base = None
                return
            if fast._uri_reference != slow._uri_reference:
                self._base = None
                return

    @property
    def enabled(self) -> bool:
        return self._base is not None

    def join(self, path: str) -> httpx.URL | str:
        base = self._base
        if base is None or not _PLAIN_PATH.fullmatch(path) or "/." in path:
            return self.base_url + path
        url = httpx.URL.__new__(httpx.URL)
        url._uri_reference = base._replace(path=self._prefix + path)
        return url

"""The one exception the loader raises: the manifests are invalid, here is everything wrong."""

from __future__ import annotations

from reconciler.models.diagnostics import Diagnostics


class ManifestError(Exception):
    """Invalid manifests. `diagnostics` holds every error (and warning) found, in source order."""

    def __init__(self, diagnostics: Diagnostics) -> None:
        self.diagnostics = diagnostics
        errors = diagnostics.errors
        first = f": {errors[0]}" if errors else ""
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"invalid manifests{first}{more}")

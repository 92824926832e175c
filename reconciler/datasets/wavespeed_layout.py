"""WaveSpeed LoRA trainer dataset layout (providers.md §2.5), checked offline before upload.

Images (jpg/jpeg/png/webp) or videos (mp4/mov), depending on the trainer (`models.wavespeed.TRAINERS`), each optionally with a
same-name `.txt` caption beside it. A caption without its media file is an error (it would
silently train nothing); media without a caption is fine (the trigger word is used).
"""

from __future__ import annotations

from pathlib import PurePosixPath

from reconciler.datasets.layouts import LayoutReport, name_list
from reconciler.datasets.media import describe
from reconciler.datasets.sources import DatasetSource

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".webp")
VIDEO_EXTS = (".mp4", ".mov")
_IMAGE_FORMATS = frozenset({"jpeg", "png", "webp"})
_VIDEO_FORMATS = frozenset({"mp4", "mov"})


# Trainers not in the table (none today: the model's Literal rejects them) get "at least one image".
DEFAULT_MEDIA, DEFAULT_MIN_ITEMS = "image", 1


def check_wavespeed_layout(source: DatasetSource, *, trainer: str) -> LayoutReport:
    # imported here, not at the top: every plan imports this module (the content cache's fingerprint
    # lists the package), and the models' import (~5-10 ms) is needed only to check such a dataset
    from reconciler.models.wavespeed import TRAINERS

    report = LayoutReport()
    facts = TRAINERS.get(trainer)
    media = facts.media if facts else DEFAULT_MEDIA
    min_items = facts.min_items if facts else DEFAULT_MIN_ITEMS
    exts, formats = (IMAGE_EXTS, _IMAGE_FORMATS) if media == "image" else (VIDEO_EXTS, _VIDEO_FORMATS)
    other_exts = VIDEO_EXTS if media == "image" else IMAGE_EXTS
    names = source.names()
    stems: set[str] = set()
    ignored: list[str] = []
    for name in names:
        path = PurePosixPath(name)
        ext = path.suffix.lower()
        if ext in exts:
            fmt = source.media_info(name)[0]
            stems.add(str(path.with_suffix("")))  # its caption belongs to it even when the file is bad
            if fmt not in formats:
                report.error(f"'{name}' is {describe(fmt)}, not a {ext.lstrip('.').upper()} {media}")
                continue
            report.sample_count += 1
        elif ext in other_exts:
            other = "video" if media == "image" else "image"
            report.error(
                f"'{name}' is {'an image' if other == 'image' else 'a video'}; {trainer} trains on {media}s ({', '.join(e.lstrip('.') for e in exts)})"
            )
        elif ext != ".txt":
            ignored.append(name)
    for name in names:
        path = PurePosixPath(name)
        if path.suffix.lower() != ".txt":
            continue
        if str(path.with_suffix("")) not in stems:
            expected = " or ".join(f"'{path.with_suffix(e).name}'" for e in exts)
            report.error(f"caption '{name}' has no {media} beside it (expected {expected})")
            continue
        if not source.is_utf8(name):
            report.error(f"caption '{name}' is not UTF-8 text")
    if ignored:
        report.warning(f"not {media}s or captions, ignored by the trainer: {name_list(ignored)}")
    if report.sample_count < min_items:
        report.error(
            f"has {report.sample_count} {media}{'s' if report.sample_count != 1 else ''}; "
            f"{trainer} needs at least {min_items}"
        )
    return report.finish()


# What else decides this module's results: the trainer table (`rules_fingerprint` stats it).
FINGERPRINT_ALSO = ("reconciler.models.wavespeed",)


class WaveSpeedDatasetRules:
    """WaveSpeed's dataset rules for the loader (its plugin names `RULES`; `datasets.rules`).

    A dataset's layout depends on the trainer of the FineTune that uses it. Usage: ("wavespeed", trainer).
    """

    def usage(
        self, fine_tune: object, field_path: str, dataset_name: str, dataset_spec: object
    ) -> tuple[tuple[str, ...] | None, list[str]]:
        return ("wavespeed", str(getattr(fine_tune, "trainer"))), []  # noqa: B009 - a WaveSpeed FineTune spec

    def default_usage(self, dataset_spec: object) -> tuple[str, ...] | None:
        return None

    def check_layout(self, source: DatasetSource, usage: tuple[str, ...]) -> LayoutReport:
        return check_wavespeed_layout(source, trainer=usage[1])

    def count_samples(self, source: DatasetSource) -> int | None:
        return None  # the default: one sample per media file


RULES = WaveSpeedDatasetRules()

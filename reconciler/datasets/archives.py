"""Archive safety: refuse zips that could write outside a folder, link elsewhere, or explode.

Why this exists: we never extract, but we stream entries, hash them and send them to providers
that do extract them; an archive that is unsafe for anyone is rejected before upload.
What it must not do: open entries (the checks use the central directory only).
"""

from __future__ import annotations

import re
import stat
import zipfile

GIB = 1 << 30
BOMB_RATIO = 100  # decompressed / compressed
BOMB_MIN_BYTES = GIB  # small archives may compress well (text); only flag big expansions
MAX_ENTRIES = 100_000

_DRIVE = re.compile(r"^[A-Za-z]:")


def unsafe_entries(infos: list[zipfile.ZipInfo], archive_bytes: int) -> list[str]:
    """One message per unsafe entry (or for the whole archive); empty when the zip is safe."""
    problems: list[str] = []
    if len(infos) > MAX_ENTRIES:
        problems.append(f"the zip has {len(infos)} entries; at most {MAX_ENTRIES} are accepted")
    seen: set[str] = set()
    total = 0
    for info in infos:
        name = info.filename
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or _DRIVE.match(name):
            problems.append(f"zip entry '{name}' has an absolute path")
        elif ".." in parts:
            problems.append(f"zip entry '{name}' points outside the archive ('..')")
        if stat.S_ISLNK(info.external_attr >> 16):
            problems.append(f"zip entry '{name}' is a symbolic link; store the file itself")
        if info.flag_bits & 0x1:
            problems.append(f"zip entry '{name}' is encrypted; encrypted archives are not supported")
        if name in seen:
            problems.append(f"zip entry '{name}' appears more than once")
        seen.add(name)
        total += info.file_size
    if total > BOMB_MIN_BYTES and total > BOMB_RATIO * max(archive_bytes, 1):
        problems.append(
            f"the zip expands to {total / GIB:.1f} GB from {archive_bytes} bytes "
            f"(more than {BOMB_RATIO}x); refusing a likely zip bomb"
        )
    return problems

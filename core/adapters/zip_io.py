"""Read an uploaded zip (e.g. an adapter) without letting it write outside its folder.

Rejects absolute paths, ``..`` components, drive letters, symlinks, too many
entries and too many uncompressed bytes (zip bombs), before extracting anything.
"""

from __future__ import annotations

import io
import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

from core.errors import LensError

MAX_ENTRIES = 1000
MAX_TOTAL_BYTES = 2 * 2**30


def _check_name(name: str) -> PurePosixPath:
    clean = name.replace("\\", "/")
    path = PurePosixPath(clean)
    if clean.startswith("/") or (len(clean) > 1 and clean[1] == ":") or ".." in path.parts:
        raise LensError("zip.unsafe_path", name=name[:200])
    return path


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def check_zip(data: bytes, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_TOTAL_BYTES) -> list[zipfile.ZipInfo]:
    """The entries of a safe zip; any unsafe entry raises ``LensError`` and nothing is written."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise LensError("zip.bad_zip") from exc
    infos = zf.infolist()
    if len(infos) > max_entries:
        raise LensError("zip.too_many_entries", count=len(infos), limit=max_entries)
    total = 0
    for info in infos:
        _check_name(info.filename)
        if _is_symlink(info):
            raise LensError("zip.symlink", name=info.filename[:200])
        total += info.file_size
        if total > max_bytes:
            raise LensError("zip.too_large", limit=max_bytes)
    return infos


def safe_extract(data: bytes, dest: Path, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_TOTAL_BYTES) -> Path:
    """Extract into ``dest`` (created) after ``check_zip``; counts bytes while writing too."""
    infos = check_zip(data, max_entries, max_bytes)
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    written = 0
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in infos:
            target = (root / _check_name(info.filename)).resolve()
            if not target.is_relative_to(root):
                raise LensError("zip.unsafe_path", name=info.filename[:200])
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                while chunk := src.read(1 << 20):
                    written += len(chunk)
                    if written > max_bytes:  # the header lied about the size
                        raise LensError("zip.too_large", limit=max_bytes)
                    out.write(chunk)
    return dest


def cleanup(dest: Path) -> None:
    shutil.rmtree(dest, ignore_errors=True)

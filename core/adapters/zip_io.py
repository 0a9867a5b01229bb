"""The one safe zip reader: size, member count, inflate ratio, paths and links are checked before a byte is written."""

from __future__ import annotations

import io
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from core.errors import LensError
from core.i18n import human_bytes

MAX_ZIP_BYTES = 200 * 2**20  # the file as uploaded
MAX_MEMBERS = 64  # an adapter is 2-4 files, an exported model a dozen
MAX_UNPACKED_BYTES = 500 * 2**20
MAX_RATIO = 100  # Apache POI's zip-bomb guard: a member may not inflate more than 100x ...
RATIO_FLOOR = 2**20  # ... once it is over 1 MiB (small JSON and zero tensors compress well)
_READ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, ValueError)

# Picks what to extract from the checked file members: {member name: path under the destination}.
Picker = Callable[[list[zipfile.ZipInfo]], dict[str, str]]


def _check_name(name: str) -> PurePosixPath:
    """A relative path inside the archive's folder: no root, drive letter, ``..`` or NUL."""
    clean = name.replace("\\", "/")
    path = PurePosixPath(clean)
    if clean.startswith("/") or clean[1:2] == ":" or ".." in path.parts or "\x00" in name:
        raise LensError("zip.unsafe_path", name=name[:200])
    return path


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _bad_zip(exc: BaseException) -> LensError:
    return LensError("zip.bad_zip", detail=str(exc)[:200] or type(exc).__name__)


def _open(data: bytes, max_zip_bytes: int | None) -> zipfile.ZipFile:
    limit = MAX_ZIP_BYTES if max_zip_bytes is None else max_zip_bytes
    if len(data) > limit:
        raise LensError("zip.file_too_large", size=human_bytes(len(data)), limit=human_bytes(limit))
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except _READ_ERRORS as exc:
        raise _bad_zip(exc) from exc


def _check_members(zf: zipfile.ZipFile, max_entries: int | None, max_bytes: int | None) -> list[zipfile.ZipInfo]:
    """Every entry after the checks, in archive order; the limits default to the module's (read at call time)."""
    max_entries = MAX_MEMBERS if max_entries is None else max_entries
    max_bytes = MAX_UNPACKED_BYTES if max_bytes is None else max_bytes
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
            raise LensError("zip.too_large", limit=human_bytes(max_bytes))
    for info in infos:  # sizes first: a bomb over the total cap is reported as too large
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise LensError("zip.ratio", name=info.filename[:200], limit=MAX_RATIO)
    return infos


def check_zip(
    data: bytes, max_entries: int | None = None, max_bytes: int | None = None, max_zip_bytes: int | None = None
) -> list[zipfile.ZipInfo]:
    """The entries of a safe zip; any unsafe entry raises ``LensError`` and nothing is written."""
    with _open(data, max_zip_bytes) as zf:
        return _check_members(zf, max_entries, max_bytes)


def _copy(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: int, max_bytes: int) -> int:
    """Stream one member out, counting bytes: a header that lies about its size cannot overfill the disk."""
    written = 0
    with zf.open(info) as src, target.open("wb") as out:
        while chunk := src.read(2**20):
            written += len(chunk)
            if written > info.file_size or written > budget:
                raise LensError("zip.too_large", limit=human_bytes(max_bytes))
            out.write(chunk)
    return written


def _everything(files: list[zipfile.ZipInfo]) -> dict[str, str]:
    return {info.filename: str(_check_name(info.filename)) for info in files}


def safe_extract(
    data: bytes,
    dest: Path,
    max_entries: int | None = None,
    max_bytes: int | None = None,
    *,
    pick: Picker = _everything,
    max_zip_bytes: int | None = None,
) -> Path:
    """Extract into ``dest`` (created) after the checks: every file at its own path, or what ``pick`` maps."""
    max_bytes = MAX_UNPACKED_BYTES if max_bytes is None else max_bytes
    dest = Path(dest)
    with _open(data, max_zip_bytes) as zf:
        files = [info for info in _check_members(zf, max_entries, max_bytes) if not info.is_dir()]
        wanted = pick(files)
        dest.mkdir(parents=True, exist_ok=True)
        root, budget = dest.resolve(), max_bytes
        try:
            for info in files:
                if info.filename not in wanted:
                    continue
                target = (root / _check_name(wanted[info.filename])).resolve()
                if not target.is_relative_to(root):
                    raise LensError("zip.unsafe_path", name=info.filename[:200])
                target.parent.mkdir(parents=True, exist_ok=True)
                budget -= _copy(zf, info, target, budget, max_bytes)
        except _READ_ERRORS as exc:  # a bad CRC, a truncated member, an unknown compression method
            raise _bad_zip(exc) from exc
    return dest

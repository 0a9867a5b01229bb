"""Building zip files for upload tests, hostile ones included (symbolic links)."""

from __future__ import annotations

import io
import stat
import zipfile


def zip_of(files: dict[str, bytes], links: tuple[str, ...] = ()) -> bytes:
    """A zip of ``files``; each name in ``links`` becomes a symbolic link to /etc/passwd."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return buffer.getvalue()

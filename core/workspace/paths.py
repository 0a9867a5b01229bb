"""Where the workspace lives on disk, and the one guarded way to delete a folder in it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from core.models.embedded import cache_root

DB_NAME = "workspace.sqlite3"
VISITORS = "visitors"
RUNS = "runs"
UPLOADS = "uploads"
TMP_PREFIX = ".tmp-"  # an upload still being written; swept when older than ORPHAN_GRACE_S


def data_root() -> Path:
    """``LORA_LENS_DATA``; else a Space's persistent ``/data``; else the local cache."""
    env = os.environ.get("LORA_LENS_DATA")
    if env:
        return Path(env)
    if os.path.isdir("/data") and os.access("/data", os.W_OK | os.X_OK):
        return Path("/data/lora-lens")
    return cache_root() / "workspace"


def db_path() -> Path:
    """The one workspace database file, at the top of the data root."""
    return data_root() / DB_NAME


def visitor_dir(root: Path, key: str) -> Path:
    """``<root>/visitors/<key>``: everything one visitor's runs and uploads write."""
    return root / VISITORS / key


def run_dir(root: Path, key: str, number: int) -> Path:
    return visitor_dir(root, key) / RUNS / str(number)


def is_inside(root: Path, path: Path) -> bool:
    """Whether ``path`` resolves strictly inside ``root`` (symlinks followed)."""
    root_r, path_r = root.resolve(), path.resolve()
    return path_r != root_r and path_r.is_relative_to(root_r)


def remove_folder(root: Path, path: Path) -> bool:
    """Delete ``path`` (a folder or a stray file) only when it is inside ``root``; a symlink is
    unlinked, never followed, so a link planted in a visitor's folder cannot reach outside."""
    if path.is_symlink() or path.is_file():
        if not is_inside(root, path.parent) and path.parent.resolve() != root.resolve():
            return False
        path.unlink(missing_ok=True)
        return True
    if not path.exists() or not is_inside(root, path):
        return False
    shutil.rmtree(path, ignore_errors=True)
    return not path.exists()


def folder_size(path: Path) -> int:
    """Bytes of the regular files below ``path`` (symlinks are not followed)."""
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except OSError:
                continue
            total += st.st_size
    return total

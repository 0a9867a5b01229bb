"""The rows a sweep trained on, kept once in its own folder (the visitor's), so it can be re-run after a reload or a
server restart whatever its data came from: an upload, the Hub or a bundled set. Bounded like a run's copy."""

from __future__ import annotations

import json
from pathlib import Path

from core.atomic import write_folder
from core.data.dataset import TextDataset, dataset_from_jsonl, dataset_jsonl
from core.errors import LensError
from core.i18n import human_bytes

DATA = "data"  # <sweep folder>/data/{rows.json, train.jsonl, val.jsonl}
MAX_DATA_BYTES = 128 * 2**20  # uploads are capped at 20 MB; JSON escaping can grow them (as a run's copy)
_PARTS = ("train", "val")


def save_sweep_data(folder: Path, train: TextDataset, val: TextDataset) -> None:
    """Write both splits and what they are, all at once (a crash leaves the whole copy or none)."""
    texts = {part: dataset_jsonl(ds) for part, ds in zip(_PARTS, (train, val), strict=True)}
    size = sum(len(t.encode("utf-8")) for t in texts.values())
    if size > MAX_DATA_BYTES:
        raise LensError("sweep.data_too_big", size=human_bytes(size), limit=human_bytes(MAX_DATA_BYTES))
    about = {part: {"name": ds.name, "rows": len(ds), "dropped": ds.dropped}
             for part, ds in zip(_PARTS, (train, val), strict=True)}  # fmt: skip

    def write(target: Path) -> None:
        for part, text in texts.items():
            (target / f"{part}.jsonl").write_text(text, encoding="utf-8")
        (target / "rows.json").write_text(json.dumps(about, ensure_ascii=False), encoding="utf-8")

    write_folder(folder / DATA, write)


def has_sweep_data(folder: Path) -> bool:
    return (folder / DATA / "rows.json").is_file()


def can_rerun(folder: Path, data_name: str) -> bool:
    """Whether ``rerun_data`` has rows to give (a damaged copy still fails there, with the same sentence)."""
    from core.data.bundled import BUNDLED

    return has_sweep_data(folder) or data_name in BUNDLED


def rerun_data(folder: Path, data_name: str, task: str) -> tuple[TextDataset, TextDataset | None]:
    """What a re-run trains on: the rows kept with the sweep; a sweep recorded before they were kept, on a bundled
    set, gets that set again (split as the sweep splits it); else ``sweep.data_gone``."""
    from core.data.bundled import BUNDLED, load_bundled

    if has_sweep_data(folder) or data_name not in BUNDLED:
        return load_sweep_data(folder)
    return load_bundled(data_name, task), None


def load_sweep_data(folder: Path) -> tuple[TextDataset, TextDataset]:
    """The splits as the sweep trained on them; ``sweep.data_gone`` when they were removed or damaged."""
    where = folder / DATA
    try:
        about = json.loads((where / "rows.json").read_text(encoding="utf-8"))
        if sum((where / f"{part}.jsonl").stat().st_size for part in _PARTS) > MAX_DATA_BYTES:
            raise ValueError("too big")
        train, val = (dataset_from_jsonl((where / f"{part}.jsonl").read_text(encoding="utf-8"),
                                         str(about[part]["name"]), about[part]["rows"], about[part]["dropped"])
                      for part in _PARTS)  # fmt: skip
    except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError, RecursionError):
        raise LensError("sweep.data_gone") from None
    return train, val

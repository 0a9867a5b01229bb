"""What hardware this process trains on."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache


@dataclass(frozen=True)
class DeviceInfo:
    cuda: bool
    name: str
    memory_bytes: int | None
    bf16: bool


@cache
def device_summary() -> DeviceInfo:
    import torch

    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        return DeviceInfo(True, props.name, int(props.total_memory), torch.cuda.is_bf16_supported())
    return DeviceInfo(False, "CPU", None, False)

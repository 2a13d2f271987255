"""Resource limits for student code: every one has a default, a rubric or a command may change it,
and the report shows the values in force."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace


@dataclass(frozen=True)
class Limits:
    cell_timeout_s: float = 60.0       # one notebook cell
    call_timeout_s: float = 10.0       # one call of a student function by a check
    notebook_timeout_s: float = 600.0  # all cells of one notebook
    memory_mb: int = 4096              # address space of the kernel and each of its children
    processes: int = 256               # processes and threads of the kernel's user
    file_size_mb: int = 256            # largest file the kernel may write
    open_files: int = 512
    cpu_s: float = 1800.0              # CPU time of each kernel process
    disk_mb: int = 1024                # the kernel's only writable place (with bubblewrap)
    output_kb: int = 1024              # text kept from one cell's output; the rest is dropped

    def merged(self, overrides: dict) -> "Limits":
        known = {f.name for f in fields(self)}
        return replace(self, **{k: v for k, v in overrides.items() if k in known and v is not None})

    def as_dict(self) -> dict:
        return asdict(self)


FIELD_NAMES = tuple(f.name for f in fields(Limits))

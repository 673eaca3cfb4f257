"""Resource caps for decoding hostile cabinets (a 26 KB cabinet can expand to 6 GB)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from cabhunt.cab.errors import CabLimitError

GiB = 1 << 30
MiB = 1 << 20


@dataclass(frozen=True)
class Limits:
    """Caps applied while decoding. Sizes in bytes; ``max_ratio`` is output per input byte.

    The ratio cap allows at least ``ratio_floor`` bytes so that small, highly compressible
    cabinets (a few KB of zeros) still decode.
    """

    max_total: int = 2 * GiB
    max_ratio: int = 1000
    max_member: int = 1 * GiB
    ratio_floor: int = 64 * MiB
    max_seconds: float = 300.0
    max_depth: int = 3  # nested archives analysed below the top level
    nested_max_size: int = 64 * MiB  # largest nested archive member opened for recursion
    analysis_buffer: int = 64 * MiB  # largest member kept whole for PE/secret/nested analysis
    follow_sets: bool = True


@dataclass
class Budget:
    """What one job (one file's analysis or extraction) has used against its limits."""

    limits: Limits
    input_size: int
    produced: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def output_cap(self) -> int:
        ratio_cap = max(self.limits.ratio_floor, self.limits.max_ratio * max(self.input_size, 1))
        return min(self.limits.max_total, ratio_cap)

    def charge(self, n: int) -> None:
        """Account ``n`` decoded bytes; raise when a cap is passed."""
        self.produced += n
        if self.produced > self.output_cap:
            which = "total output" if self.output_cap == self.limits.max_total else "expansion ratio"
            raise CabLimitError(
                f"{which} cap hit: decoded {self.produced} bytes (cap {self.output_cap} for {self.input_size} input bytes)"
            )
        if time.monotonic() - self.started > self.limits.max_seconds:
            raise CabLimitError(f"time cap of {self.limits.max_seconds:g} s hit")

"""What a division load found and did."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    code: str
    reason: str


@dataclass(slots=True)
class LoadReport:
    rows: int = 0
    inserted: int = 0
    renamed: int = 0
    restored: int = 0
    unchanged: int = 0
    # Current units under the file's top units that the file no longer lists.
    missing: int = 0
    missing_sample: list[str] = field(default_factory=list)
    retired: int = 0
    error_count: int = 0
    errors: list[RowError] = field(default_factory=list)
    written: bool = False

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def add_error(self, error: RowError, *, limit: int) -> None:
        self.error_count += 1
        if len(self.errors) < limit:
            self.errors.append(error)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "written": self.written,
            "rows": self.rows,
            "inserted": self.inserted,
            "renamed": self.renamed,
            "restored": self.restored,
            "unchanged": self.unchanged,
            "missing": self.missing,
            "missingSample": self.missing_sample,
            "retired": self.retired,
            "errorCount": self.error_count,
            "errors": [{"line": e.line, "code": e.code, "reason": e.reason} for e in self.errors],
        }

"""What a file load found: how many rows, and the bad ones by line (a bounded list)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    reason: str
    # The row's key (a code), where it has one.
    code: str = ""


@dataclass
class FileReport:
    rows: int = 0
    error_count: int = 0
    errors: list[RowError] = field(default_factory=list)
    written: bool = False

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def add_error(self, line: int, reason: str, *, code: str = "", limit: int) -> None:
        """Count a bad row; keep at most limit of them, so memory stays bounded."""
        self.error_count += 1
        if len(self.errors) < limit:
            self.errors.append(RowError(line, reason, code))

    def sort_errors(self) -> None:
        self.errors.sort(key=lambda error: error.line)

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON output shows it (a loader's report adds its counts)."""
        return self.errors_dict()

    def errors_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "written": self.written,
            "rows": self.rows,
            "errorCount": self.error_count,
            "errors": [
                {"line": e.line, "code": e.code, "reason": e.reason}
                if e.code
                else {"line": e.line, "reason": e.reason}
                for e in self.errors
            ],
        }

"""What a division load found and did."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.files.report import FileReport, RowError


@dataclass
class LoadReport(FileReport):
    inserted: int = 0
    renamed: int = 0
    restored: int = 0
    unchanged: int = 0
    # Current units under the file's top units that the file no longer lists.
    missing: int = 0
    missing_sample: list[str] = field(default_factory=list)
    retired: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.errors_dict(),
            "inserted": self.inserted,
            "renamed": self.renamed,
            "restored": self.restored,
            "unchanged": self.unchanged,
            "missing": self.missing,
            "missingSample": self.missing_sample,
            "retired": self.retired,
        }


__all__ = ["LoadReport", "RowError"]

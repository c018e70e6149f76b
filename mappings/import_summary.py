"""What an import did, for the CLI's summary and for tests."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from mappings.wearables.reading import Rejection

KEEP_REJECTIONS = 20  # reasons listed in the summary; the count covers all of them


@dataclass
class ImportSummary:
    mapped: int = 0  # records that became resources
    created: int = 0
    unchanged: int = 0  # already on the server (same stable identifier): nothing stored
    devices_created: int = 0
    rejected: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    batches_failed: int = 0
    imported: bool = False  # False when validation stopped the import before anything was sent

    def reject(self, rejection: Rejection) -> None:
        self.rejected += 1
        if len(self.rejections) < KEEP_REJECTIONS:
            self.rejections.append(rejection)

    def render(self) -> str:
        lines = [
            f"created {self.created}, unchanged {self.unchanged}, rejected {self.rejected}"
            + (f", devices created {self.devices_created}" if self.devices_created else "")
        ]
        if self.skipped:
            total = sum(self.skipped.values())
            kinds = ", ".join(f"{kind} ({n})" for kind, n in self.skipped.most_common(10))
            lines.append(f"skipped {total} records of types we do not map: {kinds}")
        for r in self.rejections:
            lines.append(f"  rejected {r.location}: {r.reason}")
        if self.rejected > len(self.rejections):
            lines.append(f"  … and {self.rejected - len(self.rejections)} more rejections")
        if self.batches_failed:
            lines.append(f"{self.batches_failed} batch(es) refused by the server (see the rejections above)")
        if not self.imported:
            lines.append(
                "nothing was imported: the file failed validation (use --keep-going to import the valid records)"
            )
        return "\n".join(lines)

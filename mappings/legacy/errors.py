"""The one error of the legacy payload mapper.

ValueError
 └── LegacyEntryError   an entry outside the shape `mappings.legacy` defines; caught per entry and turned
                        into the importer's `Rejection`, so it never escapes the reader
"""

from __future__ import annotations


class LegacyEntryError(ValueError):
    """What is wrong with one entry, phrased for the user (the entry's location is added by the caller)."""

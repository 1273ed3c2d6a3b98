"""Story importance: what puts a story at the top of the morning brief.

    importance = relevance * P(relevant) of its best article
               + core      * (1 if any member is core transatlantic security)
               + outlets   * ln(1 + distinct outlets)
               + languages * ln(distinct languages)        (0 for one language)
               + members   * ln(1 + articles)

The stored value is day-independent; a digest for day D adds ``new_today`` when the story was first seen on D
and ``today`` * ln(1 + its articles of day D), so a fresh, fast-growing story outranks yesterday's. The
weights are settings (``NEWSWATCH_IMPORTANCE_<NAME>``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ImportanceWeights:
    relevance: float = 2.0
    core: float = 1.0
    outlets: float = 1.0
    languages: float = 0.7
    members: float = 0.3
    new_today: float = 0.5
    today: float = 0.5

    def stored_sql(self, alias: str = "a") -> str:
        """The stored importance as a DuckDB aggregate over a story's member articles ``alias``."""
        return (f"{self.relevance} * coalesce(max({alias}.relevance_score), 0)"
                f" + {self.core} * (max({alias}.relevance_label) = 2)::INTEGER"
                f" + {self.outlets} * ln(1 + count(DISTINCT {alias}.source_name))"
                f" + {self.languages} * ln(greatest(count(DISTINCT {alias}.language), 1))"
                f" + {self.members} * ln(1 + count(*))")

    def explain(self, outlets: int, languages: int, new_today: int) -> str:
        """Why a story ranks where it does, in an analyst's words."""
        parts = [f"{outlets} {'outlet' if outlets == 1 else 'outlets'}"]
        if languages > 1:
            parts[0] += f" in {languages} languages"
        if new_today:
            parts.append(f"{new_today} new today")
        return ", ".join(parts)

"""Who does a command, from where and why: what every event records."""

from __future__ import annotations

from dataclasses import dataclass

from orderledger.domain.values import Source


@dataclass(frozen=True)
class Who:
    actor: str
    source: Source
    reason: str = ""

    def kwargs(self) -> dict[str, str]:
        """As an aggregate's commands take them (the source as its value)."""
        return {"actor": self.actor, "source": self.source.value, "reason": self.reason}

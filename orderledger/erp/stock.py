"""WDT's available stock, as the ledger asks for it before a confirmation
(domain/stock.py decides what follows)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from orderledger.domain.errors import RemoteUnavailable
from orderledger.outbox.clients import TransientError, WdtClient


class WdtStock:
    """StockLevels over WDT's stock_query.php."""

    def __init__(self, client: WdtClient) -> None:
        self.client = client

    def available(self, spec_nos: Sequence[str]) -> Mapping[str, int]:
        try:
            return self.client.available_stock(spec_nos)
        except TransientError as error:  # RateLimited included
            raise RemoteUnavailable(str(error)) from None

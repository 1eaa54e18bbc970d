"""A U8 (用友) OpenAPI simulator: tokens and `/api/{resource}/add` with
`biz_id` idempotency (the same biz_id never makes a second document)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from orderledger.sim.server import SimError, Simulator

RESOURCES = ("saleorder", "consignment", "saleinvoice", "accept", "voucher")
# Master data (存货档案): `add` makes a record, `edit` changes a known code.
MASTER_RESOURCES = ("inventory",)
ERR_TOKEN = "40001"
ERR_AUTH = "40002"
ERR_PARAMS = "20001"
ERR_REJECTED = "20002"
ERR_RATE_LIMIT = "100"


@dataclass
class Document:
    biz_id: str
    resource: str
    id: str
    tradeid: str
    body: dict[str, Any]
    posts: int = 1


class U8Simulator(Simulator):
    name = "u8"

    def __init__(
        self,
        *,
        app_key: str,
        app_secret: str,
        from_account: str = "",
        to_account: str = "",
    ) -> None:
        super().__init__()
        self.app_key, self._app_secret = app_key, app_secret
        self.from_account, self.to_account = from_account, to_account
        self.documents: dict[str, Document] = {}
        self.tokens: set[str] = set()
        # inventory code -> the record as it stands, with how often it changed
        self.inventory: dict[str, dict[str, Any]] = {}

    def state(self) -> Any:
        return [asdict(d) for d in self.documents.values()]

    def part(self, name: str) -> Any:
        if name == "inventory":
            return list(self.inventory.values())
        raise SimError(f"U8 has no part {name!r}: inventory")

    def reset(self) -> None:
        self.documents.clear()
        self.inventory.clear()

    def rate_limited(self) -> Any:
        return {"errcode": ERR_RATE_LIMIT, "errmsg": "rate limit"}

    def advance(self, body: dict[str, Any]) -> Any:
        if body.get("step") == "expire_tokens":
            self.tokens.clear()
            return {"tokens": 0}
        raise SimError("U8 only knows the step expire_tokens")

    def api(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        body: bytes,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, Any]:
        if method == "GET" and path == "/system/token":
            return 200, self._token(query)
        parts = path.strip("/").split("/")
        if method == "POST" and len(parts) == 3 and parts[0] == "api":
            if parts[1] in MASTER_RESOURCES and parts[2] in ("add", "edit"):
                return 200, self._master(parts[1], parts[2], query, body)
            if parts[2] == "add":
                return 200, self._add(parts[1], query, body)
        return 404, {"errcode": "404", "errmsg": f"no endpoint {path}"}

    def _token(self, query: dict[str, str]) -> dict[str, Any]:
        if (
            query.get("app_key") != self.app_key
            or query.get("app_secret") != self._app_secret
        ):
            return {"errcode": ERR_AUTH, "errmsg": "bad app_key or app_secret"}
        if self.from_account and query.get("from_account") != self.from_account:
            return {"errcode": ERR_AUTH, "errmsg": "unknown from_account"}
        token = secrets.token_hex(8)
        self.tokens.add(token)
        return {"errcode": "0", "errmsg": "", "token": {"id": token, "expiresIn": 7200}}

    def _refused(
        self, resource: str, query: dict[str, str], known: tuple[str, ...]
    ) -> dict[str, Any] | None:
        """What every write checks first: the token, a biz_id, the resource."""
        if query.get("token") not in self.tokens:
            return {"errcode": ERR_TOKEN, "errmsg": "token invalid or expired"}
        biz_id = query.get("biz_id", "")
        if not biz_id or resource not in known:
            return {
                "errcode": ERR_PARAMS,
                "errmsg": "biz_id and a known resource are required",
            }
        if biz_id in self.faults.rejected:
            return {"errcode": ERR_REJECTED, "errmsg": "document rejected"}
        return None

    def _add(self, resource: str, query: dict[str, str], body: bytes) -> dict[str, Any]:
        refused = self._refused(resource, query, RESOURCES)
        if refused is not None:
            return refused
        biz_id = query["biz_id"]
        try:
            document = json.loads(body)[resource]
        except (ValueError, KeyError, TypeError):
            return {
                "errcode": ERR_PARAMS,
                "errmsg": f"body must be {{{resource!r}: {{…}}}}",
            }
        existing = self.documents.get(biz_id)
        if existing is not None:
            existing.posts += 1
            return {
                "errcode": "0",
                "errmsg": "",
                "id": existing.id,
                "tradeid": existing.tradeid,
            }
        number = len(self.documents) + 1
        doc = Document(
            biz_id,
            resource,
            f"{resource[:2].upper()}{number:08d}",
            f"T{number}",
            document,
        )
        self.documents[biz_id] = doc
        return {"errcode": "0", "errmsg": "", "id": doc.id, "tradeid": doc.tradeid}

    def _master(
        self, resource: str, action: str, query: dict[str, str], body: bytes
    ) -> dict[str, Any]:
        """An inventory record: `add` of a known code and `edit` of an
        unknown one are refused (U8's own rules); the same biz_id again
        answers as the first time, changing nothing."""
        refused = self._refused(resource, query, MASTER_RESOURCES)
        if refused is not None:
            return refused
        biz_id = query["biz_id"]
        try:
            record = json.loads(body)[resource]
            code = str(record["code"])
        except (ValueError, KeyError, TypeError):
            return {
                "errcode": ERR_PARAMS,
                "errmsg": f"body must be {{{resource!r}: {{code…}}}}",
            }
        seen = self.documents.get(biz_id)
        if seen is not None:
            seen.posts += 1
            return {"errcode": "0", "errmsg": "", "id": seen.id}
        known = self.inventory.get(code)
        if (action == "add") == (known is not None):
            why = "already exists" if known else "does not exist"
            return {"errcode": ERR_REJECTED, "errmsg": f"inventory {code} {why}"}
        changes = 0 if known is None else known["changes"] + 1
        self.inventory[code] = {**record, "changes": changes}
        doc = Document(biz_id, resource, f"IN{len(self.documents) + 1:08d}", "", record)
        self.documents[biz_id] = doc
        return {"errcode": "0", "errmsg": "", "id": doc.id}

# ruff: noqa: E501  (a table of cases: one case a line)
"""Bad inputs found by adversarial runs, as data. Each case: a name, the
command line (after `--db URL`), the files it reads, extra environment, the
exit code and a fragment of its one-line message. Add new finds here.

`{tmp}` in an argument is the test's temporary folder. Orders that exist
before each case: ADV-U (未确认, online), ADV-P (已支付, online)."""

from __future__ import annotations

from dataclasses import dataclass, field

from orderledger.cli.errors import EXIT_NOT_FOUND, EXIT_REFUSED, EXIT_USAGE

BIG = "x" * 100_000


@dataclass(frozen=True)
class Case:
    name: str
    args: tuple[str, ...]
    code: int
    says: str
    files: dict[str, bytes] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)


def create(
    *extra: str, line: str = "A:茶:1:10.00", name: str = "张三"
) -> tuple[str, ...]:
    return ("order", "create", "--customer", name, "--phone", "13800138000",
            "--address", "科技园南路 88 号", "--payment", "online",
            "--line", line, "--order-no", "ADV-NEW", *extra)  # fmt: skip


ORDER = (
    b'{"order_no": "ADV-J", "customer": {"name": "a", "phone": "13800138000"}, '
    b'"payment": "online", "address": {"receiver": "a", "phone": "13800138000", '
    b'"detail": "d"}, "lines": [{"sku": "A", "name": "n", "quantity": %s, '
    b'"unit_price": "1.00"%s}]%s}'
)


def order_json(
    quantity: bytes = b"1", line_extra: bytes = b"", extra: bytes = b""
) -> bytes:
    return ORDER % (quantity, line_extra, extra)


CSV_HEAD = b"order_no,customer,phone,payment,address,sku,name,quantity,unit_price\n"
WDT_ENV = {
    "ORDERLEDGER_WDT_SID": "s",
    "ORDERLEDGER_WDT_APPKEY": "k",
    "ORDERLEDGER_WDT_APPSECRET": "hush-hush-secret",
}

CASES = [
    # -- amounts and quantities beyond what every reader can hold
    Case("line worth too much", create(line="A:n:1000000:99999999.99"), EXIT_USAGE, "a line's value is at most"),
    Case("amount with ten digits", create(line="A:n:1:9999999999.99"), EXIT_USAGE, "at most 99999999.99"),
    Case("order total too large", create("--line", "B:n:1:60000000.00", line="A:n:1:60000000.00"), EXIT_USAGE, "an order is worth at most"),
    Case("fee pushes total over", create("--shipping-fee", "99999999.99"), EXIT_USAGE, "an order is worth at most"),
    Case("full-width quantity", create(line="A:n:１００:1.00"), EXIT_USAGE, "whole number"),
    Case("Arabic-Indic price", create(line="A:n:1:٩٩"), EXIT_USAGE, "amount"),
    Case("huge quantity echo", create(line=f"A:n:{BIG}:1.00"), EXIT_USAGE, "whole number"),
    Case("modify to overflow", ("order", "modify", "ADV-U", "--line", "A:n:1000000:99999999.99"), EXIT_USAGE, "a line's value"),
    # -- times
    Case("ordered in year 1", create("--ordered-at", "0001-01-01T00:00:00"), EXIT_USAGE, "ordered_at"),
    Case("far end, negative offset", create("--ordered-at", "9999-12-31T23:59:59-05:00"), EXIT_USAGE, "ordered_at"),
    Case("ordered next year", create("--ordered-at", "2099-01-01T00:00:00+08:00"), EXIT_USAGE, "a day from now"),
    Case("impossible ETA", ("order", "ship", "ADV-P", "--carrier", "SF", "--tracking", "1", "--eta", "2026-13-45"), EXIT_USAGE, "calendar date"),
    Case("filter at the calendar's start", ("order", "list", "--since", "0001-01-01"), EXIT_USAGE, "--since"),
    Case("filter at the calendar's end", ("stats", "--until", "9999-12-31"), EXIT_USAGE, "--until"),
    # -- text
    Case("DEL in a name", create(name="张\x7f三"), EXIT_USAGE, "U+007F"),
    Case("NEL in a name", create(name="张\x85三"), EXIT_USAGE, "U+0085"),
    Case("line separator", create(name="张\u2028三"), EXIT_USAGE, "U+2028"),
    Case("right-to-left override", create(name="\u202e三张"), EXIT_USAGE, "U+202E"),
    Case("zero-width space only", create(name="\u200b"), EXIT_USAGE, "U+200B"),
    Case("Hangul filler only", create(name="\u3164"), EXIT_USAGE, "is required"),
    Case("phone of dashes", ("order", "create", "--customer", "a", "--phone", "1-----", "--address", "d", "--payment", "cod", "--line", "A:n:1:1"), EXIT_USAGE, "phone number"),
    # -- JSON documents
    Case("misspelt nested field", ("order", "create", "--file", "{tmp}/o.json"), EXIT_USAGE, "discont", {"o.json": order_json(line_extra=b', "discont": "1.00"')}),
    Case("duplicate key", ("order", "create", "--file", "{tmp}/o.json"), EXIT_USAGE, "appears twice", {"o.json": order_json(extra=b', "payment": "cod"')}),
    Case("5000-digit integer", ("order", "create", "--file", "{tmp}/o.json"), EXIT_USAGE, "too long", {"o.json": order_json(quantity=b"9" * 5000)}),
    Case("deep nesting", ("order", "create", "--file", "{tmp}/o.json"), EXIT_USAGE, "nested too deeply", {"o.json": b"[" * 100_000 + b"]" * 100_000}),
    Case("lone surrogate", ("order", "create", "--file", "{tmp}/o.json"), EXIT_USAGE, "U+D800", {"o.json": order_json().replace(b'"a"', b'"\\ud800"', 1)}),
    Case("NaN", ("order", "create", "--file", "{tmp}/o.json"), EXIT_USAGE, "NaN", {"o.json": order_json(quantity=b"NaN")}),
    Case("not UTF-8", ("order", "create", "--file", "{tmp}/o.json"), EXIT_USAGE, "line 2", {"o.json": b"{\n\xff}"}),
    # -- imports
    Case("CSV rows of one order disagree", ("order", "import", "{tmp}/o.csv"), EXIT_USAGE, "disagrees with its first row", {"o.csv": CSV_HEAD + b"I-1,a,13800138000,online,d,A,n,1,1\nI-1,b,13900000000,cod,d,B,n,1,1\n"}),
    Case("CSV field over the limit", ("order", "import", "{tmp}/o.csv"), EXIT_USAGE, "not valid CSV", {"o.csv": CSV_HEAD + b'I-1,"' + b"a" * 200_000 + b'",1,online,d,A,n,1,1\n'}),
    Case("import not UTF-8", ("order", "import", "{tmp}/o.jsonl"), EXIT_USAGE, "line 2", {"o.jsonl": order_json() + b"\n\xff\n"}),
    Case("import misspelt field", ("order", "import", "{tmp}/o.jsonl"), EXIT_USAGE, "discont", {"o.jsonl": order_json(line_extra=b', "discont": "1"') + b"\n"}),
    # -- configuration
    Case("empty --db", ("--db", "", "order", "list"), EXIT_USAGE, "--db is empty"),
    Case("in-memory SQLite", ("--db", "sqlite://", "order", "list"), EXIT_USAGE, "in-memory"),
    Case("unsupported scheme", ("--db", "mysql://u@127.0.0.1/x", "order", "list"), EXIT_USAGE, "unsupported database"),
    Case("bad port", ("--db", "postgresql://u:pw@127.0.0.1:99999/x", "order", "list"), EXIT_USAGE, "bad port"),
    Case("unknown time zone", ("order", "list"), EXIT_USAGE, "time zone", env={"ORDERLEDGER_TZ": "Mars/Olympus"}),
    Case("relay URL without scheme", ("outbox", "run"), EXIT_USAGE, "http:// or https://", env={**WDT_ENV, "ORDERLEDGER_WDT_URL": "127.0.0.1:8081"}),
    Case("relay over ftp", ("outbox", "run"), EXIT_USAGE, "http:// or https://", env={**WDT_ENV, "ORDERLEDGER_WDT_URL": "ftp://user:hunter2@host"}),
    Case("zero timeout", ("outbox", "run"), EXIT_USAGE, "TIMEOUT", env={**WDT_ENV, "ORDERLEDGER_WDT_URL": "http://127.0.0.1:1", "ORDERLEDGER_WDT_TIMEOUT": "0"}),
    Case("negative timeout", ("erp", "poll"), EXIT_USAGE, "TIMEOUT", env={**WDT_ENV, "ORDERLEDGER_WDT_URL": "http://127.0.0.1:1", "ORDERLEDGER_WDT_TIMEOUT": "-5"}),
    Case("backoff not a number", ("outbox", "run"), EXIT_USAGE, "positive, finite", env={**WDT_ENV, "ORDERLEDGER_WDT_URL": "http://127.0.0.1:1", "ORDERLEDGER_OUTBOX_BACKOFF_BASE": "nan"}),
    Case("backoff infinite", ("outbox", "run"), EXIT_USAGE, "positive, finite", env={**WDT_ENV, "ORDERLEDGER_WDT_URL": "http://127.0.0.1:1", "ORDERLEDGER_OUTBOX_BACKOFF_CAP": "inf"}),
    Case("SLA infinite", ("reconcile",), EXIT_USAGE, "reconcile SLA", env={"ORDERLEDGER_RECONCILE_SLA_MINUTES": "inf"}),
    # -- files the user names
    Case("export into a missing folder", ("audit", "export", "ADV-P", "--output", "{tmp}/no/such/x.json"), EXIT_USAGE, "cannot write"),
    Case("digest into a missing folder", ("audit", "digest", "--save", "{tmp}/no/such/d.json"), EXIT_USAGE, "cannot write"),
    Case("malformed digest", ("audit", "verify", "--all", "--against", "{tmp}/d.json"), EXIT_USAGE, "malformed", {"d.json": b'{"format": "orderledger-digest-1", "heads": 3}'}),
    # -- personal data (docs/privacy.md)
    Case("part of a phone", ("order", "list", "--phone", "1380013"), EXIT_USAGE, "whole number"),
    Case("search by name", ("order", "list", "--customer", "张"), EXIT_USAGE, "cannot be searched by name"),
    Case("erase a malformed phone", ("customer", "erase", "1-----", "--reason", "asked"), EXIT_USAGE, "phone number"),
    Case("erase with a blank reason", ("customer", "erase", "13800138000", "--reason", "  "), EXIT_USAGE, "--reason is required"),
    Case("erase an unknown customer", ("customer", "erase", "13911112222", "--reason", "asked"), EXIT_NOT_FOUND, "no customer"),
    Case("erase an order in progress", ("customer", "erase", "13800138000", "--reason", "asked"), EXIT_REFUSED, "still in progress"),
    Case("master key not hex", create(), EXIT_USAGE, "64 hex digits", env={"ORDERLEDGER_MASTER_KEY": "secret"}),
    Case("master key file missing", create(), EXIT_USAGE, "cannot read the master key file", env={"ORDERLEDGER_MASTER_KEY": "", "ORDERLEDGER_MASTER_KEY_FILE": "{tmp}/no.key"}),
    Case("the wrong master key", ("order", "show", "ADV-P"), EXIT_USAGE, "is not the one", env={"ORDERLEDGER_MASTER_KEY": "ab" * 32}),
    Case("rotate without a new key", ("keys", "rotate"), EXIT_USAGE, "give the new master key"),
    # -- the catalog, stock and the CRM feed (docs/catalog.md)
    Case("an unknown SKU refused", create(line="NOPE:1"), EXIT_USAGE, "not in the catalog", env={"ORDERLEDGER_UNKNOWN_SKUS": "refuse"}),
    Case("a SKU with a space", ("product", "add", "--sku", "A B", "--name", "n", "--price", "1"), EXIT_USAGE, "may hold only"),
    Case("a SKU of 41 characters", ("product", "add", "--sku", "A" * 41, "--name", "n", "--price", "1"), EXIT_USAGE, "SKU is too long"),
    Case("a price of NaN", ("product", "add", "--sku", "A", "--name", "n", "--price", "NaN"), EXIT_USAGE, "price"),
    Case("a name with a control character", ("product", "add", "--sku", "A", "--name", "n\x07", "--price", "1"), EXIT_USAGE, "control"),
    Case("an unknown product", ("product", "show", "NOPE"), EXIT_NOT_FOUND, "not in the catalog"),
    Case("rename an unknown brand", ("product", "brand", "rename", "NOPE", "x"), EXIT_USAGE, "no brand has the code"),
    Case("a short line of an unknown SKU", create(line="A:1"), EXIT_USAGE, "give the line in full"),
    Case("a line of three parts not a price", create(line="A:1:abc"), EXIT_USAGE, "give the line in full"),
    Case("an unknown SKU policy", ("order", "list"), EXIT_USAGE, "unknown_skus", env={"ORDERLEDGER_UNKNOWN_SKUS": "maybe"}),
    Case("an unknown stock check", ("order", "list"), EXIT_USAGE, "[stock] check", env={"ORDERLEDGER_STOCK_CHECK": "erp"}),
    Case("product import of a misspelt field", ("product", "import", "{tmp}/p.jsonl"), EXIT_USAGE, "prise", {"p.jsonl": b'{"sku": "A", "name": "n", "prise": "1"}\n'}),
    Case("product CSV without a price", ("product", "import", "{tmp}/p.csv"), EXIT_USAGE, "lacks column(s): price", {"p.csv": b"sku,name\nA,n\n"}),
    Case("CRM URL without a secret", ("outbox", "run", "--destination", "crm"), EXIT_USAGE, "ORDERLEDGER_CRM_SECRET", env={"ORDERLEDGER_CRM_URL": "http://127.0.0.1:1/hook"}),
    Case("a product SKU to retry on the orders' destination", ("outbox", "retry", "TEA-1", "--destination", "wdt"), EXIT_NOT_FOUND, "TEA-1 not found"),
    # -- unknown orders
    Case("verify an unknown order", ("audit", "verify", "NOPE"), EXIT_NOT_FOUND, "NOPE not found"),
    Case("retry an unknown order", ("outbox", "retry", "NOPE"), EXIT_NOT_FOUND, "NOPE not found"),
    Case("replay an unknown order", ("outbox", "replay", "--destination", "wdt", "--order", "NOPE"), EXIT_NOT_FOUND, "NOPE not found"),
]  # fmt: skip

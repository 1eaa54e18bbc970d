"""Settings from options and the environment. Nothing here does I/O at import."""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from orderledger.domain.errors import InvalidInput
from orderledger.domain.reconcile import DEFAULT_MODES, ERP_FIRST_STEPS, StepMode

DEFAULT_DB_URL = "sqlite:///./orderledger.db"
DB_ENV = "ORDERLEDGER_DB"
TZ_ENV = "ORDERLEDGER_TZ"
DEFAULT_TZ = "Asia/Shanghai"


def normalise_db_url(url: str) -> str:
    """Accept a plain file path for SQLite and the short PostgreSQL scheme."""
    url = url.strip()
    if "://" not in url:
        return "sqlite:///" + url
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg2://" + url[len("postgresql://") :]
    return url


_DRIVERS = ("sqlite", "postgresql+psycopg2")


def check_db_url(url: str) -> str:
    """A database URL the ledger can keep data in, checked before any use:
    SQLite on a file or PostgreSQL (no in-memory database: what a command
    records there is lost when it exits)."""
    scheme, _, rest = url.partition("://")
    if scheme not in _DRIVERS:
        raise InvalidInput(
            f"unsupported database {scheme!r}: use a SQLite file path or "
            "postgresql://user@host/dbname"
        )
    if scheme == "sqlite":
        path = rest[1:] if rest.startswith("/") else rest
        if not path or path.split("?")[0] in ("", ":memory:") or "mode=memory" in path:
            raise InvalidInput(
                "an in-memory SQLite database keeps nothing: give a file path"
            )
        return url
    try:
        port = urlsplit(url).port
    except ValueError:
        port = -1
    if port is not None and not 0 < port < 65536:
        raise InvalidInput(
            f"the database URL {redact_url(url)} has a bad port: use 1 to 65535"
        )
    return url


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"{TZ_ENV}={name!r} is not a known time zone (like Asia/Shanghai)"
        ) from None
    return name


def redact_url(url: str) -> str:
    """A database URL safe to print: the password, if any, is replaced."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else url


MASTER_KEY_ENV = "ORDERLEDGER_MASTER_KEY"
MASTER_KEY_FILE_ENV = "ORDERLEDGER_MASTER_KEY_FILE"


def _env_master_key() -> Secret | None:
    value = os.environ.get(MASTER_KEY_ENV)
    return Secret(value) if value else None


def _env_master_key_file() -> str | None:
    return os.environ.get(MASTER_KEY_FILE_ENV) or None


@dataclass(frozen=True)
class Choice:
    """A setting of a few words, from the environment or a section of the
    config file; the first choice is the default."""

    env: str
    section: str
    key: str
    choices: tuple[str, ...]

    def check(self, value: str) -> str:
        text = value.strip().lower()
        if text not in self.choices:
            raise InvalidInput(
                f"{self.key} = {value!r}: use {' or '.join(self.choices)} "
                f"([{self.section}] {self.key} or {self.env})"
            )
        return text

    def read(self, env: Mapping[str, str], data: Mapping[str, Any]) -> str:
        section = data.get(self.section, {})
        return self.check(
            env.get(self.env) or str(section.get(self.key, self.choices[0]))
        )

    def from_environment(self) -> str:
        return self.read(os.environ, {})


# Whether an order line may name a SKU the catalog does not know, and
# whether `order confirm` asks WDT for stock first (docs/catalog.md).
UNKNOWN_SKUS = Choice(
    "ORDERLEDGER_UNKNOWN_SKUS", "catalog", "unknown_skus", ("refuse", "allow")
)
STOCK_CHECK = Choice("ORDERLEDGER_STOCK_CHECK", "stock", "check", ("wdt", "off"))


@dataclass(frozen=True)
class Settings:
    db_url: str = DEFAULT_DB_URL
    timezone: str = DEFAULT_TZ
    # The master key of the personal-data vault (docs/privacy.md): the key
    # itself or a file holding it; with neither, SQLite keeps one beside the
    # database file.
    master_key: Secret | None = field(default_factory=_env_master_key)
    master_key_file: str | None = field(default_factory=_env_master_key_file)
    # Lines of SKUs the catalog does not know: "refuse" or "allow".
    unknown_skus: str = field(default_factory=UNKNOWN_SKUS.from_environment)
    # Before a confirmation: ask WDT for stock ("wdt") or not ("off").
    stock_check: str = field(default_factory=STOCK_CHECK.from_environment)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def allow_unknown_skus(self) -> bool:
        return self.unknown_skus == "allow"

    @classmethod
    def load(
        cls,
        db: str | None = None,
        environ: Mapping[str, str] | None = None,
        config_file: str | None = None,
    ) -> Settings:
        env = os.environ if environ is None else environ
        if db is not None and not db.strip():
            raise InvalidInput(
                "--db is empty: give a SQLite file or a postgresql:// URL"
            )
        url = db or env.get(DB_ENV) or DEFAULT_DB_URL
        data = _config_file(config_file, env)
        privacy = data.get("privacy", {})
        key = env.get(MASTER_KEY_ENV)
        return cls(
            db_url=check_db_url(normalise_db_url(url)),
            timezone=check_timezone(env.get(TZ_ENV) or DEFAULT_TZ),
            master_key=Secret(key) if key else None,
            master_key_file=env.get(MASTER_KEY_FILE_ENV)
            or privacy.get("master_key_file")
            or None,
            unknown_skus=UNKNOWN_SKUS.read(env, data),
            stock_check=STOCK_CHECK.read(env, data),
        )


class Secret:
    """A credential that never shows itself: repr, str and f-strings print ***."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class WdtSettings:
    url: str
    sid: str
    appkey: str
    appsecret: Secret
    shop_no: str = "orderledger"
    timeout: float = 10.0
    # The account's limit of calls per minute, if WDT gave it one: this
    # process then paces its calls to 90% of it (outbox/pacing.py).
    calls_per_minute: int | None = None


@dataclass(frozen=True)
class U8Settings:
    url: str
    from_account: str
    to_account: str
    app_key: str
    app_secret: Secret
    timeout: float = 10.0


@dataclass(frozen=True)
class CrmSettings:
    """The CRM feed (docs/catalog.md "CRM feed"): signed webhooks to one URL."""

    url: str
    secret: Secret
    timeout: float = 10.0


CONFIG_ENV = "ORDERLEDGER_CONFIG"
# Config-file key -> environment suffix (ORDERLEDGER_WDT_<suffix>, …).
_WDT_KEYS = {
    k: k.upper()
    for k in (
        "url",
        "sid",
        "appkey",
        "appsecret",
        "shop_no",
        "timeout",
        "calls_per_minute",
    )
}
_U8_KEYS = {
    k: k.upper()
    for k in ("url", "from_account", "to_account", "app_key", "app_secret", "timeout")
}


def _section(
    name: str,
    keys: dict[str, str],
    file_values: Mapping[str, object],
    env: Mapping[str, str],
) -> dict[str, str]:
    """A config-file section, each key overridden by ORDERLEDGER_<NAME>_<KEY>."""
    values = {k: str(v) for k, v in file_values.items() if k in keys}
    for key, suffix in keys.items():
        from_env = env.get(f"ORDERLEDGER_{name}_{suffix}")
        if from_env:
            values[key] = from_env
    return values


def load_erp_settings(
    config_file: str | None = None, environ: Mapping[str, str] | None = None
) -> tuple[WdtSettings | None, U8Settings | None]:
    """WDT and U8 settings from a TOML file ([wdt], [u8]) and the environment.

    A destination without a URL is not configured (None). Secrets belong in
    the environment or the file, never on a command line.
    """
    env = os.environ if environ is None else environ
    data = _config_file(config_file, env)
    wdt = _section("WDT", _WDT_KEYS, data.get("wdt", {}), env)
    u8 = _section("U8", _U8_KEYS, data.get("u8", {}), env)
    return _wdt(wdt), _u8(u8)


_CRM_KEYS = {k: k.upper() for k in ("url", "secret", "timeout")}


def load_crm_settings(
    config_file: str | None = None, environ: Mapping[str, str] | None = None
) -> CrmSettings | None:
    """[crm] url, secret (and timeout) from the config file, each overridden
    by ORDERLEDGER_CRM_<KEY>; None without a URL (no feed)."""
    env = os.environ if environ is None else environ
    values = _section(
        "CRM", _CRM_KEYS, _config_file(config_file, env).get("crm", {}), env
    )
    if not values.get("url"):
        return None
    _require(values, "CRM", ("secret",))
    return CrmSettings(
        url=_remote_url(values["url"], "CRM"),
        secret=Secret(values["secret"]),
        timeout=_timeout(values.get("timeout"), "CRM"),
    )


def _config_file(config_file: str | None, env: Mapping[str, str]) -> dict[str, Any]:
    path = config_file or env.get(CONFIG_ENV)
    if not path:
        return {}
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise InvalidInput(f"cannot read the config file {path}: {error}") from None


DEFAULT_SLA_MINUTES = 30.0


@dataclass(frozen=True)
class ReconcileSettings:
    """How long the ERP may lag, and which ERP-first steps the website follows
    by itself (VOCABULARY.md §2: the ERP may review, ship or cancel first)."""

    sla: timedelta = timedelta(minutes=DEFAULT_SLA_MINUTES)
    modes: Mapping[str, StepMode] = field(default_factory=lambda: dict(DEFAULT_MODES))

    def followed_steps(self) -> list[str]:
        """The ERP-first steps `erp poll` takes as soon as it sees them."""
        return [step for step, mode in self.modes.items() if mode is StepMode.AUTO]


def load_reconcile_settings(
    config_file: str | None = None, environ: Mapping[str, str] | None = None
) -> ReconcileSettings:
    """[reconcile] sla_minutes and [erp_first] <step> = auto|reconcile|person
    from the config file, each overridden by ORDERLEDGER_RECONCILE_SLA_MINUTES
    and ORDERLEDGER_ERP_FIRST_<STEP>."""
    env = os.environ if environ is None else environ
    data = _config_file(config_file, env)
    sla_text = env.get("ORDERLEDGER_RECONCILE_SLA_MINUTES") or str(
        data.get("reconcile", {}).get("sla_minutes", DEFAULT_SLA_MINUTES)
    )
    try:
        minutes = float(sla_text)
    except ValueError:
        minutes = -1.0
    if not 0 <= minutes <= 525_600:  # at most a year; NaN and infinity fail
        raise InvalidInput(
            "the reconcile SLA must be a number of minutes from 0 to 525600 "
            f"(a year), not {sla_text!r}"
        )
    modes = dict(DEFAULT_MODES)
    section = _section(
        "ERP_FIRST", {s: s.upper() for s in ERP_FIRST_STEPS},
        data.get("erp_first", {}), env,
    )  # fmt: skip
    for step, value in section.items():
        try:
            modes[step] = StepMode(value.strip().lower())
        except ValueError:
            choices = ", ".join(m.value for m in StepMode)
            raise InvalidInput(
                f"erp_first {step} = {value!r}: use one of {choices}"
            ) from None
    return ReconcileSettings(sla=timedelta(minutes=minutes), modes=modes)


def _require(values: dict[str, str], what: str, keys: tuple[str, ...]) -> None:
    missing = [k for k in keys if not values.get(k)]
    if missing:
        raise InvalidInput(
            f"{what} is configured (url) but lacks {', '.join(missing)}: set "
            + ", ".join(f"ORDERLEDGER_{what}_{k.upper()}" for k in missing)
        )


def _remote_url(value: str, what: str) -> str:
    """An http(s) URL with a host. The value is never echoed: it may carry
    credentials."""
    parts = urlsplit(value.strip())
    try:
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        parts = parts._replace(netloc="")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(
            f"ORDERLEDGER_{what}_URL must be an http:// or https:// URL with a host "
            "(and a port from 1 to 65535, if any)"
        )
    return value.strip().rstrip("/")


def _timeout(value: str | None, what: str) -> float:
    if not value:
        return 10.0
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not 0 < seconds <= 600:
        raise InvalidInput(
            f"ORDERLEDGER_{what}_TIMEOUT must be a number of seconds above 0 "
            f"and at most 600, not {value[:20]!r}"
        )
    return seconds


def _wdt(v: dict[str, str]) -> WdtSettings | None:
    if not v.get("url"):
        return None
    _require(v, "WDT", ("sid", "appkey", "appsecret"))
    return WdtSettings(
        url=_remote_url(v["url"], "WDT"),
        sid=v["sid"],
        appkey=v["appkey"],
        appsecret=Secret(v["appsecret"]),
        shop_no=v.get("shop_no") or "orderledger",
        timeout=_timeout(v.get("timeout"), "WDT"),
        calls_per_minute=_calls_per_minute(v.get("calls_per_minute")),
    )


def _calls_per_minute(value: str | None) -> int | None:
    if not value:
        return None
    if not value.strip().isdigit() or not 1 <= int(value) <= 100_000:
        raise InvalidInput(
            "ORDERLEDGER_WDT_CALLS_PER_MINUTE must be a whole number of calls "
            f"from 1 to 100000, not {value[:20]!r}"
        )
    return int(value)


def _u8(v: dict[str, str]) -> U8Settings | None:
    if not v.get("url"):
        return None
    _require(v, "U8", ("from_account", "to_account", "app_key", "app_secret"))
    return U8Settings(
        url=_remote_url(v["url"], "U8"),
        from_account=v["from_account"],
        to_account=v["to_account"],
        app_key=v["app_key"],
        app_secret=Secret(v["app_secret"]),
        timeout=_timeout(v.get("timeout"), "U8"),
    )

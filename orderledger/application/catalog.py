"""The product catalog (docs/catalog.md): `product add|update|retire|show|
list|import` and the lists of brands, categories and types, each load → act
→ save, in the catalog's own event table beside the orders' (so the order
log's followers never see a product event, and the catalog has a log of its
own for the outbox to follow)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from decimal import Decimal
from typing import Any, ClassVar

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from orderledger.application.event_store import ChainedApplication
from orderledger.application.order_json import event_to_data
from orderledger.application.who import Who
from orderledger.domain.catalog import (
    CODE_KINDS,
    PRODUCT_TOPICS,
    CatalogEntry,
    Coded,
    CodeList,
    Product,
    ProductDraft,
    code_list_id,
    new_code,
    parse_kind,
    product_id,
)
from orderledger.domain.errors import NotFound, RuleViolation
from orderledger.domain.values import money_str


class DuplicateProduct(RuleViolation):
    """A product with this SKU is already in the catalog."""


@dataclass
class ImportOutcome:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0


class Catalog(ChainedApplication):
    # The stored-events table is named after this: never change it.
    name = "catalog"
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {}

    # ---- products ----------------------------------------------------------

    def add_product(self, draft: ProductDraft, who: Who) -> dict[str, Any]:
        with self._storage():
            if self._product_or_none(draft.sku) is not None:
                raise DuplicateProduct(
                    f"product {draft.sku} is already in the catalog: "
                    "use `orderledger product update`"
                )
            lists = _Lists(self)
            fields = lists.product_fields(draft, who)
            product = Product(sku=draft.sku, **fields, **who.kwargs())
            self.save(product, *lists.changed())
            return self._view(product, lists)

    def update_product(
        self, sku: str, changes: Mapping[str, str], who: Who
    ) -> dict[str, Any]:
        with self._storage():
            product = self._product(sku)
            lists = _Lists(self)
            resolved = {
                key: lists.code_for(key, value, who) if key in CODE_KINDS else value
                for key, value in changes.items()
            }
            product.update(resolved, **who.kwargs())
            self.save(product, *lists.changed())
            return self._view(product, lists)

    def retire_product(self, sku: str, who: Who) -> dict[str, Any]:
        with self._storage():
            product = self._product(sku)
            product.retire(**who.kwargs())
            self.save(product)
            return self._view(product, _Lists(self))

    def product(self, sku: str) -> dict[str, Any]:
        with self._storage():
            return self._view(self._product(sku), _Lists(self))

    def history(self, sku: str, tz: tzinfo) -> list[dict[str, Any]]:
        """Every change of a product: who, when, from where, why, what."""
        with self._storage():
            product = self._product(sku)
            return [event_to_data(e, tz) for e in self.events.get(product.id)]

    def products(self, *, include_retired: bool = False) -> list[dict[str, Any]]:
        """Every product, by SKU, folded from the catalog's log."""
        with self._storage():
            lists = _Lists(self)
            found = [p for p in self._all_products() if include_retired or p.active]
            return [self._view(p, lists) for p in sorted(found, key=lambda p: p.sku)]

    def import_products(
        self, rows: Sequence[tuple[int, ProductDraft]], who: Who
    ) -> ImportOutcome:
        """(line, product) each, all or nothing, in one transaction: a new
        SKU is added, a known one updated where it differs (a price list
        re-imported), an identical one left alone; a retired one is refused."""
        with self._storage():
            lists = _Lists(self)
            outcome = ImportOutcome()
            touched: list[Aggregate] = []
            for line, draft in rows:
                fields = lists.product_fields(draft, who)
                existing = self._product_or_none(draft.sku)
                if existing is not None:
                    fields = {k: v for k, v in fields.items() if _given(k, draft)}
                if existing is not None and not existing.active:
                    raise RuleViolation(
                        f"line {line}: product {draft.sku} is retired; nothing "
                        "was imported"
                    )
                if existing is None:
                    touched.append(Product(sku=draft.sku, **fields, **who.kwargs()))
                    outcome.added.append(draft.sku)
                elif all(existing.fields.get(k) == v for k, v in fields.items()):
                    outcome.unchanged += 1
                else:
                    existing.update(fields, **who.kwargs())
                    touched.append(existing)
                    outcome.updated.append(draft.sku)
            if touched or lists.changed():
                self.save(*touched, *lists.changed())
            return outcome

    # ---- brands, categories, types -----------------------------------------

    def codes(self, kind: str) -> dict[str, str]:
        """The list of `kind`: code → current name."""
        with self._storage():
            return dict(_Lists(self).names(parse_kind(kind)))

    def add_code(self, kind: str, code: str, name: str, who: Who) -> dict[str, str]:
        return self._change_list(
            kind, lambda codes: codes.add(code, name, **who.kwargs())
        )

    def rename_code(self, kind: str, code: str, name: str, who: Who) -> dict[str, str]:
        return self._change_list(
            kind, lambda codes: codes.rename(code, name, **who.kwargs())
        )

    def _change_list(
        self, kind: str, change: Callable[[CodeList], None]
    ) -> dict[str, str]:
        """Load a list, change it, save it: its codes and names after."""
        with self._storage():
            codes = _Lists(self).code_list(parse_kind(kind))
            change(codes)
            self.save(codes)
            return dict(codes.names)

    def filter_keys(self, given: Mapping[str, str | None]) -> dict[str, str]:
        """Brand, category and type filters as statistics match them: a code
        or a current name as its code; anything else as given (the text of
        lines taken without the catalog)."""
        with self._storage():
            lists = _Lists(self)
            return {
                kind: lists.code_list(parse_kind(kind)).resolve(value) or value
                for kind, value in given.items()
                if value
            }

    def resolve_code(self, kind: str, value: str) -> str | None:
        """The code a filter's value means (a code or a current name)."""
        with self._storage():
            return _Lists(self).code_list(parse_kind(kind)).resolve(value)

    # ---- what order lines see ------------------------------------------------

    def lookup(self, *, allow_unknown: bool) -> CatalogLookup:
        """The catalog as `OrderDraft.from_data` reads it: one product at a
        time (a command names a few)."""
        return CatalogLookup(self, allow_unknown)

    def snapshot(self, *, allow_unknown: bool) -> CatalogSnapshot:
        """The whole catalog in memory, for an import's worker processes."""
        with self._storage():
            lists = _Lists(self)
            entries = {p.sku: _entry(p, lists) for p in self._all_products()}
        return CatalogSnapshot(entries, allow_unknown)

    def entry(self, sku: str, lists: _Lists) -> CatalogEntry | None:
        with self._storage():
            product = self._product_or_none(sku)
            return None if product is None else _entry(product, lists)

    # ---- internals -----------------------------------------------------------

    def _product_or_none(self, sku: str) -> Product | None:
        try:
            product: Product = self.repository.get(product_id(sku))
        except AggregateNotFoundError:
            return None
        return product

    def _product(self, sku: str) -> Product:
        product = self._product_or_none(sku)
        if product is None:
            raise NotFound(f"product {sku} is not in the catalog")
        return product

    def _all_products(self, until: int | None = None) -> Iterable[Product]:
        """Every product as the aggregate folds its events, from one read of
        the catalog's log (a repository read per product would be one query
        each); with `until`, as of that position of the log."""
        found: dict[str, Product] = {}
        start = 0
        while page := self.recorder.select_notifications(
            start, 1000, stop=until, inclusive_of_start=False
        ):
            for n in page:
                if n.topic.startswith(PRODUCT_TOPICS):
                    event: Any = self.mapper.to_domain_event(n)
                    key = str(n.originator_id)
                    found[key] = event.mutate(found.get(key))
            start = page[-1].id
        return found.values()

    def products_with(self, kind: str, code: str, until: int) -> list[Product]:
        """The products whose brand, category or type was `code` as of that
        position of the catalog's log (a rename's products, for the outbox)."""
        with self._storage():
            return [p for p in self._all_products(until) if p.fields[kind] == code]

    def views_of(self, products: Iterable[Product]) -> list[dict[str, Any]]:
        """Products as `product show` prints them, their codes named as now."""
        with self._storage():
            lists = _Lists(self)
            return [self._view(product, lists) for product in products]

    def _view(self, product: Product, lists: _Lists) -> dict[str, Any]:
        fields = product.fields
        view: dict[str, Any] = {
            "sku": product.sku,
            "name": fields["name"],
            "spec": fields["spec"],
        }
        for kind in CODE_KINDS:
            code = fields[kind]
            view[kind] = lists.names(kind).get(code, code)
            view[f"{kind}_code"] = code
        view.update(
            price=fields["unit_price"], active=product.active, version=product.version
        )
        return view


def _given(field: str, draft: ProductDraft) -> bool:
    return ("price" if field == "unit_price" else field) in draft.given


class _Lists:
    """The three code lists as one command uses them: loaded once, new
    entries made as a product names them, saved with the product."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._loaded: dict[str, CodeList] = {}
        self._changed: dict[str, CodeList] = {}

    def code_list(self, kind: str) -> CodeList:
        if kind not in self._loaded:
            try:
                self._loaded[kind] = self._catalog.repository.get(code_list_id(kind))
            except AggregateNotFoundError:
                self._loaded[kind] = self._changed[kind] = CodeList(kind=kind)
        return self._loaded[kind]

    def names(self, kind: str) -> Mapping[str, str]:
        return self.code_list(kind).names

    def code_for(self, kind: str, value: str, who: Who) -> str:
        """The code `value` (a code or a name) means; a value the list does
        not know becomes a new entry, its code the value itself."""
        if not value:
            return ""
        codes = self.code_list(kind)
        code = codes.resolve(value)
        if code is None:
            code = new_code(value, kind)
            codes.add(code, value, **who.kwargs())
            self._changed[kind] = codes
        return code

    def product_fields(self, draft: ProductDraft, who: Who) -> dict[str, str]:
        """A product's stored fields: its brand, category and type as codes."""
        return {
            "name": draft.name,
            "spec": draft.spec,
            "unit_price": money_str(draft.unit_price),
            **{k: self.code_for(k, getattr(draft, k), who) for k in CODE_KINDS},
        }

    def changed(self) -> list[CodeList]:
        return list(self._changed.values())


def _entry(product: Product, lists: _Lists) -> CatalogEntry:
    fields = product.fields

    def coded(kind: str) -> Coded:
        code = fields[kind]
        return Coded(code, lists.names(kind).get(code, code)) if code else Coded()

    return CatalogEntry(
        sku=product.sku,
        name=fields["name"],
        spec=fields["spec"],
        unit_price=Decimal(fields["unit_price"]),
        active=product.active,
        brand=coded("brand"),
        category=coded("category"),
        type=coded("type"),
    )


class CatalogLookup:
    """ProductLookup over the store, one product at a time."""

    def __init__(self, catalog: Catalog, allow_unknown: bool) -> None:
        self._catalog = catalog
        self.allow_unknown = allow_unknown
        self._lists: _Lists | None = None

    def entry(self, sku: str) -> CatalogEntry | None:
        if self._lists is None:
            self._lists = _Lists(self._catalog)
        return self._catalog.entry(sku, self._lists)


@dataclass(frozen=True)
class CatalogSnapshot:
    """ProductLookup over a copy in memory (plain data: it goes to the
    import's worker processes by pickle)."""

    entries: dict[str, CatalogEntry]
    allow_unknown: bool

    def entry(self, sku: str) -> CatalogEntry | None:
        return self.entries.get(sku)

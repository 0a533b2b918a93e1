"""Custody use cases, one module per part of the work: ``setup`` (suppliers, products, stores), ``receiving``,
``dispensing`` (draws and administration), ``witnessing`` (waste and witnesses' attestations), ``destruction``,
``losses``, ``returns``, ``counts`` (and their incidents), ``ledger`` (the hash-chained ledger and reversals) and
``reconcile``. Shared pieces (refusals, roles, the quantity parser, ``use_case``) are in ``common``.

Each use case validates, locks what it changes, appends to the ledger and writes the audit trail in one durable
transaction (``transaction.atomic(durable=True)``, see :class:`common.UseCase`); ``<use case>.within(...)`` runs it
inside a caller's transaction instead, for the demo loader.

Lock order, everywhere: container rows (by primary key) -> the "custody" chain head -> the audit chain head.
A draw locks its container with SELECT ... FOR UPDATE, so two nurses drawing from one vial at the same moment
are serialised: the second sees the first's balance and is refused if too little remains.

Callers import from here (``from ketaclinic.custody import services; services.draw(...)``); the names below are
the package's public surface.
"""

from ketaclinic.custody.services.common import (
    CHAIN,
    COMPLIANCE,
    DESTRUCTION_WITNESSES_ROLES,
    DISPOSERS,
    HANDLERS,
    INVENTORY_TAKERS,
    LICENSED_WITNESSES,
    MAX_QUANTITY,
    MAX_UNITS_PER_PACKAGE,
    RETURNERS,
    SETUP,
    ZERO,
    CustodyError,
    UseCase,
    parse_quantity,
    settings_for,
    use_case,
)
from ketaclinic.custody.services.counts import (
    COUNT_MAXIMUM_FACTOR,
    CountInput,
    count_maximum,
    resolve_incident,
    submit_count,
)
from ketaclinic.custody.services.destruction import form41_details, request_destruction
from ketaclinic.custody.services.dispensing import (
    DrawBalance,
    administered_quantity,
    container_problems,
    draw,
    location_serves,
    preparation_mismatch,
    record_administration,
    session_draws,
    session_problems,
)
from ketaclinic.custody.services.ledger import reverse_entry, verify_ledger
from ketaclinic.custody.services.losses import received_at, record_loss_notice, report_loss
from ketaclinic.custody.services.receiving import countersign_receipt, enter_receipt
from ketaclinic.custody.services.reconcile import Reconciliation, ReconRow, reconciliation
from ketaclinic.custody.services.returns import return_stock
from ketaclinic.custody.services.setup import add_location, add_product, add_supplier
from ketaclinic.custody.services.witnessing import attest, request_waste, withdraw_event

__all__ = [
    "CHAIN", "COMPLIANCE", "COUNT_MAXIMUM_FACTOR", "DESTRUCTION_WITNESSES_ROLES", "DISPOSERS", "HANDLERS",
    "INVENTORY_TAKERS", "LICENSED_WITNESSES", "MAX_QUANTITY", "MAX_UNITS_PER_PACKAGE", "RETURNERS", "SETUP", "ZERO",
    "CountInput", "CustodyError", "DrawBalance", "ReconRow", "Reconciliation", "UseCase",
    "add_location", "add_product", "add_supplier", "administered_quantity", "attest", "container_problems", "preparation_mismatch",
    "count_maximum", "countersign_receipt", "draw", "enter_receipt", "form41_details", "location_serves",
    "parse_quantity", "received_at", "reconciliation", "record_administration", "record_loss_notice",
    "report_loss", "request_destruction", "request_waste", "resolve_incident", "return_stock", "reverse_entry",
    "session_draws", "session_problems", "settings_for", "submit_count", "use_case", "verify_ledger",
    "withdraw_event",
]

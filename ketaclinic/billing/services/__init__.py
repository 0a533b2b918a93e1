"""Billing use cases: prices, packages, estimates, invoices, payments and superbills, one module each.

Every use case validates, writes and audits in one durable transaction and raises :class:`BillingError` for
anything refused (nothing is changed then). Callers import from this package
(``from ketaclinic.billing import services``).
"""

from ketaclinic.billing.services._common import (
    DESK_ROLES,
    MONEY_ROLES,
    BillingError,
    Figures,
    annotate_figures,
    annotated_figures,
    figures,
    profile_for,
)
from ketaclinic.billing.services.estimates import (
    due_list,
    exceeded,
    gfe_context,
    issue_estimate,
    record_due,
    uncovered_bookings,
    withdraw_estimate,
)
from ketaclinic.billing.services.invoices import (
    BUCKETS,
    Aging,
    aging,
    balance_of,
    balances_out_of_step,
    fee_applies,
    invoice_integration,
    invoice_session,
    invoice_visit,
    invoices_of,
    session_service,
    statement,
    to_invoice,
    unpaid,
    void_invoice,
)
from ketaclinic.billing.services.packages import (
    add_offer,
    draw,
    drawn_cents,
    next_draw_cents,
    packages_of,
    refund_due,
    refund_unused,
    remaining_sessions,
    retire_offer,
    sell_package,
    used_sessions,
)
from ketaclinic.billing.services.payments import refund, refundable, take_payment
from ketaclinic.billing.services.prices import (
    CODES,
    current_prices,
    price_for,
    price_summary,
    set_price,
    update_profile,
)

__all__ = [
    "BUCKETS", "CODES", "DESK_ROLES", "MONEY_ROLES", "Aging", "BillingError", "Figures", "add_offer", "aging",
    "annotate_figures", "annotated_figures", "balance_of", "balances_out_of_step", "current_prices", "draw", "drawn_cents", "due_list",
    "exceeded", "fee_applies", "gfe_context", "figures", "invoice_integration", "invoice_session", "invoice_visit", "invoices_of",
    "issue_estimate", "next_draw_cents", "price_for", "price_summary", "profile_for", "record_due", "refund", "refund_due",
    "packages_of", "refund_unused", "refundable", "remaining_sessions", "retire_offer", "sell_package", "session_service",
    "set_price", "statement", "uncovered_bookings", "take_payment", "to_invoice", "unpaid", "update_profile", "used_sessions",
    "void_invoice", "withdraw_estimate",
]

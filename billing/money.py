"""Amounts of model spend: integers in millionths of a US dollar ("micros"), so that sums of
many small costs stay exact."""

from decimal import Decimal

MICROS_PER_DOLLAR = 1_000_000
MICROS_PER_CENT = MICROS_PER_DOLLAR // 100


def dollars(micros: int) -> str:
    """$1,234.56 for amounts of a cent or more; $0.0042 below it, so that small spend is
    not shown as nothing."""
    amount = Decimal(micros) / MICROS_PER_DOLLAR
    if micros and amount < Decimal("0.01"):
        return f"${amount:,.4f}"
    return f"${amount:,.2f}"

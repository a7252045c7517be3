"""Money is an integer number of fen (分), as WeChat Pay's total_fee is. Never a float."""


def fen(value):
    """Checks that a value is a whole number of fen and returns it."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"money must be an int number of fen, got {value!r}")
    return value


def yuan_text(amount_fen):
    """How a shopper reads an amount: 1234 -> "12.34"."""
    amount_fen = fen(amount_fen)
    sign = "-" if amount_fen < 0 else ""
    whole, cents = divmod(abs(amount_fen), 100)
    return f"{sign}{whole}.{cents:02d}"

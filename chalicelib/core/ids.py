import secrets
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def new_id(prefix):
    """A sortable, unguessable id: prefix, milliseconds since epoch in base 32, 64 random bits."""
    millis = int(time.time() * 1000)
    stamp = ""
    while millis:
        millis, digit = divmod(millis, 32)
        stamp = _ALPHABET[digit] + stamp
    return f"{prefix}_{stamp}{secrets.token_hex(8)}"

"""Masked forms of personal data, shown by default in responses and the console."""

from __future__ import annotations


def mask_phone(phone: str) -> str:
    """Keep the first 3 and last 4 digits: ``13812345678`` -> ``138****5678`` (short numbers: last 2)."""
    digits = [c for c in phone if c.isdigit()]
    if len(digits) >= 9:
        return "".join(digits[:3]) + "*" * (len(digits) - 7) + "".join(digits[-4:])
    if len(digits) >= 3:
        return "*" * (len(digits) - 2) + "".join(digits[-2:])
    return "*" * len(digits)


def mask_name(name: str) -> str:
    """First character of each word: ``张三丰`` -> ``张**``, ``Alice Smith`` -> ``A**** S****``."""
    words = name.split()
    if not words:
        return ""
    return " ".join(word[0] + "*" * (len(word) - 1) for word in words)


def mask_address(address: str, *, keep: int = 6) -> str:
    """Keep the region prefix (first ``keep`` characters, e.g. province and city), hide the rest."""
    address = address.strip()
    if len(address) <= keep:
        return address[: max(0, len(address) // 2)] + "****"
    return address[:keep] + "****"


def mask_email(email: str) -> str:
    """``alice@example.com`` -> ``a****@example.com``."""
    local, sep, domain = email.partition("@")
    if not sep:
        return mask_name(email)
    return (local[:1] + "****") + "@" + domain

"""Validation of order requests (pure: no I/O)."""

from __future__ import annotations

import json

MAX_ITEM_LENGTH = 200
MAX_QUANTITY = 2**31 - 1  # postgres integer


class InvalidOrderError(ValueError):
    """The request body does not describe an order; the message says why."""


def parse_order(body: bytes) -> tuple[str, int]:
    """Return ``(item, quantity)`` from a JSON body, or raise InvalidOrderError."""
    try:
        payload = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise InvalidOrderError("body must be UTF-8 encoded JSON") from None
    except json.JSONDecodeError as exc:
        message = f"body is not valid JSON: {exc.msg} at position {exc.pos}"
        raise InvalidOrderError(message) from None
    if not isinstance(payload, dict):
        raise InvalidOrderError('body must be a JSON object like {"item": "...", "quantity": 1}')

    missing = [name for name in ("item", "quantity") if name not in payload]
    if missing:
        raise InvalidOrderError(f"missing field(s): {', '.join(missing)}")

    item = payload["item"]
    if not isinstance(item, str) or not item.strip():
        raise InvalidOrderError("item must be a non-empty string")
    if len(item) > MAX_ITEM_LENGTH:
        raise InvalidOrderError(f"item must be at most {MAX_ITEM_LENGTH} characters")

    quantity = payload["quantity"]
    # bool is a subclass of int in Python: reject true/false explicitly.
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise InvalidOrderError("quantity must be an integer")
    if quantity <= 0:
        raise InvalidOrderError("quantity must be greater than 0")
    if quantity > MAX_QUANTITY:
        raise InvalidOrderError(f"quantity must be at most {MAX_QUANTITY}")

    return item.strip(), quantity

"""Query encoding and HMAC-SHA256 signatures for Binance SIGNED endpoints."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import quote, urlencode


def encode_query(params: Mapping[str, object]) -> str:
    """``k=v&k=v`` in the given order, percent-encoded (UTF-8) the way Binance expects before signing."""
    return urlencode([(k, _text(v)) for k, v in params.items()], quote_via=quote, safe="")


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def hmac_signature(secret: str, payload: str) -> str:
    """Lower-case hex HMAC-SHA256 of ``payload`` keyed by ``secret``."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def signed_query(params: Mapping[str, object], secret: str) -> str:
    """The query string with ``signature`` appended last, computed over exactly what is sent."""
    payload = encode_query(params)
    return f"{payload}&signature={hmac_signature(secret, payload)}"

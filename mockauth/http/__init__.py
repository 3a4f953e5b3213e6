"""HTTP at the core: sans-I/O messages, parameters, and the WSGI edge.

:mod:`.message` holds the transport-free :class:`Request` and
:class:`Response`; :mod:`.params` the parameter rules of RFC 6749 §3.1/§3.2
and the response builders; :mod:`.router` the one router; :mod:`.wsgi` the
only WSGI code.
"""

from __future__ import annotations

from .message import (
    MAX_BODY,
    BodyError,
    Request,
    Response,
    html_page,
    json_response,
    read_body,
)
from .params import Params, bearer_token, form_params, is_form, json_object, query_params

__all__ = [
    "MAX_BODY",
    "BodyError",
    "Params",
    "Request",
    "Response",
    "bearer_token",
    "form_params",
    "html_page",
    "is_form",
    "json_object",
    "json_response",
    "query_params",
    "read_body",
]

"""Reading a host out of a URL the user typed, without tripping over a malformed one.

``urllib.parse.urlsplit`` raises ValueError for text such as ``http://[::1/v1`` (an
unclosed IPv6 bracket); a base URL from the config or the environment must never turn
into a traceback, so everything that only needs the host goes through :func:`host_of`.
"""

from __future__ import annotations

from urllib.parse import urlsplit


def host_of(url: str) -> str:
    """The lower-cased host of ``url``, or "" when there is none or it cannot be read."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a base URL (one phrase), or None if it can."""
    try:
        split = urlsplit(url)
        split.port  # noqa: B018 - raises for a port that is not a number
    except ValueError as exc:
        return f"is not a valid URL ({exc})"
    if split.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    if not split.hostname:
        return "has no host"
    return None

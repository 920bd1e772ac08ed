"""Reading a host (and any credentials) out of a URL the user typed, without tripping over
a malformed one.

``urllib.parse.urlsplit`` raises ValueError for text such as ``http://[::1/v1`` (an
unclosed IPv6 bracket); a base URL from the config or the environment must never turn
into a traceback, so everything that only needs the host goes through :func:`host_of`.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit


def host_of(url: str) -> str:
    """The lower-cased host of ``url``, or "" when there is none or it cannot be read."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def has_credentials(url: str) -> bool:
    """Whether ``url`` carries a user name or password (``http://user:pass@host``), which
    httpx sends as a Basic ``Authorization`` header."""
    return bool(credentials_of(url))


def credentials_of(url: str) -> tuple[str, ...]:
    """The secrets a URL carries, for redaction: ``user:password`` and the password (or a
    user name given alone, a token), as written and percent-decoded; empty when none."""
    try:
        split = urlsplit(url)
        user, password = split.username, split.password
    except ValueError:
        return ()
    if user is None and password is None:
        return ()
    found = {split.netloc.rpartition("@")[0]}
    if password is None:  # https://TOKEN@host: the user name is the secret
        found |= {user or "", unquote(user or "")}
    else:
        found |= {password, unquote(password), f"{unquote(user or '')}:{unquote(password)}"}
    return tuple(sorted((text for text in found if text), key=len, reverse=True))


def credentials_beside_key(where: str, key_env: str) -> str:
    """The refusal of a base URL with credentials for a provider that has a key too."""
    return (
        f"{where} has a user name or password in it (user:pass@) and {key_env} is set: the "
        "URL's credentials would replace the key; remove one of them"
    )


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

"""Malformed base URLs are a clear message, never a traceback."""

from __future__ import annotations

import pytest

from chatterm.config import parse_settings
from chatterm.errors import ConfigError
from chatterm.pricing import is_local_url
from chatterm.providers.ollama import is_cloud_host
from chatterm.urls import host_of, url_problem


@pytest.mark.parametrize("url", ["http://[::1/v1", "http://[zz]:80", "", "not a url"])
def test_a_malformed_url_has_no_host_and_is_not_local(url: str) -> None:
    assert host_of(url) == ""
    assert is_local_url(url) is False
    assert is_cloud_host(url) is False


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://[::1/v1", "is not a valid URL"),
        ("http://host:port/v1", "is not a valid URL"),
        ("ftp://host/v1", "http:// or https://"),
        ("127.0.0.1:8000/v1", "http:// or https://"),
        ("http:///v1", "has no host"),
        ("http://127.0.0.1:8000/v1", None),
        ("https://[::1]:8443/v1", None),
    ],
)
def test_url_problem(url: str, problem: str | None) -> None:
    found = url_problem(url)
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_a_config_with_a_malformed_base_url_names_the_key() -> None:
    with pytest.raises(ConfigError, match=r"providers\.x\.base_url is not a valid URL"):
        parse_settings({"providers": {"x": {"base_url": "http://[::1/v1"}}})

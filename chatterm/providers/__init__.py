"""Providers: one module per wire format, each a request builder and a stream parser."""

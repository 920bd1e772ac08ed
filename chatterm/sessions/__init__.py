"""Sessions: the conversation as a local file, saved while it streams, and replayed."""

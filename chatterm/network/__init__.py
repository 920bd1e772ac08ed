"""The only HTTP for replies: the streaming loop and its attempts, the client, the silence
watchdog, transport-failure wording and the debug log."""

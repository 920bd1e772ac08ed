"""The command line: ``chatterm`` and its sub-commands, and the printers ``ask`` and
``replay`` write with."""

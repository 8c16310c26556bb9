"""supportbot: the service customers and agents talk to (widget, console, store, handoff) and the CLI."""

__version__ = "0.1.0"

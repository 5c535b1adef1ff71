"""The HTTP/WebSocket API, the `halltwin` command line and the runtime that wires the system together."""

"""Public-address zones, priority arbiter and RTP streaming to IP speakers (later issues)."""

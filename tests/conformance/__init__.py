"""Real client libraries, unmodified, against the exchange profiles."""

"""The embedded demo: a simulator and an in-memory MongoDB-wire server, seeded."""

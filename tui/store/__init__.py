"""The MongoDB connection store (motor): connection records and resellers."""

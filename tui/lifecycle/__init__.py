"""Lifecycle service: verified create / delete / clear-all operations that stream progress events."""

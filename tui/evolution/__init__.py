"""Evolution API v1.8 access: the async httpx client, its pydantic models and typed errors."""

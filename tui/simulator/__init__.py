"""The Evolution API v1.8 simulator: a real aiohttp server that follows the contract."""

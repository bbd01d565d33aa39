"""evodash: a Textual dashboard that shows Evolution API v1.8 instances beside MongoDB
connection records and repairs the drift between them."""

__version__ = "0.1.0"

"""The demo's application package."""

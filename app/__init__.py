"""Fireplay: a native desktop playground for OpenAI-compatible inference APIs."""

__version__ = "0.1.0"

"""luma-tools: drive Luma video generation through API gateways."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]

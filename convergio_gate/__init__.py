"""convergio-gate: make coding agents prove their work, using nothing but git."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]

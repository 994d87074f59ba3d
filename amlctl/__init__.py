"""amlctl: plan and apply exports and erasures of Azure Machine Learning workspace data."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]

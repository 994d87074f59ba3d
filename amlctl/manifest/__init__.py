"""Manifests: what to export or delete, loaded strictly and validated against the catalog."""

from __future__ import annotations

from amlctl.manifest.load import load_manifest
from amlctl.manifest.model import Condition, Manifest, Request, Selector, Subject, Workspace

__all__ = ["Condition", "Manifest", "Request", "Selector", "Subject", "Workspace", "load_manifest"]

"""JSON Schemas for manifests, catalogs and plans, shipped inside the package as amlctl.schemas."""

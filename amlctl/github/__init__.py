"""The pull-request workflow on GitHub: plan comments found by their marker, the reviewed
digest, the receipt (amlctl github ...)."""

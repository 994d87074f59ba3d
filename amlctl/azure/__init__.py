"""Talking to Azure (or the emulator): targets, tokens, and the HTTP client with its retries."""

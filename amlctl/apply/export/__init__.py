"""Export files: their confined names, the exporter that writes them, and their index."""

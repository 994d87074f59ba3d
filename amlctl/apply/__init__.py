"""The apply half: the gate (every check before a change), the executor, the journal, the
receipt and the export files. Nothing is imported here, so that planning can use the export
file names (`amlctl.apply.export.paths`) without loading the executor."""

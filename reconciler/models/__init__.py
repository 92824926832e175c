"""Pure data models: manifests, diagnostics, plans and state records.

Nothing in this package knows about HTTP, SQLite, YAML or click (checked by import-linter).
"""

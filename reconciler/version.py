"""The version, in a module of its own: importing it loads nothing else (the package root names
the whole API for type checkers, and a layer below must not depend on that)."""

__version__ = "0.1.0"

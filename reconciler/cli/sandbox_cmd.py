"""Placeholder until this command group is implemented."""

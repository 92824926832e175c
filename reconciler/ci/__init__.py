"""Glue for CI systems (the GitHub Action, the GitLab template): standard library only.

Nothing in the library imports it; CI runs `python -m reconciler.ci.sticky_comment`.
"""

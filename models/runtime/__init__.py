"""Shared runtime pieces every engine family uses: paths, errors, events, sessions, registry."""

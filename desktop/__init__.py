"""Genloom's PySide6 front end."""

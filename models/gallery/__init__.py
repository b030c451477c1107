"""The gallery: every generated item, as files plus a SQLite index. Qt-free; the CLI uses it too."""

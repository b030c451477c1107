"""The `genloom` command line: every panel, headless, on the same engines. Never imports Qt."""

"""Genloom's Qt-free generator core: sessions, engines, tokenizers, samplers, schedulers, registry, gallery."""
__version__ = "0.1.0"

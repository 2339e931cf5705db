"""screening: literature import, deduplication and blind dual review for systematic reviews."""

__version__ = "0.1.0"

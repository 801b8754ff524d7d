"""bodyscene: action recognition that keeps body and scene apart (arXiv 2512.07729)."""

__version__ = "0.1.0"

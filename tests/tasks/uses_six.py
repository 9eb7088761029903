"""Needs a small pure-Python package from PyPI (six)."""
import six


def run(i):
    return six.text_type(i * 7)

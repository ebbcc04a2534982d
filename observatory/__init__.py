"""Osservatorio: an open catalogue of participatory and shared-administration processes."""

__version__ = "0.1.0"

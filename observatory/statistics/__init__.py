"""Statistics and maps of the published catalogue."""

"""Perceptual-hash signals and reference indexes (library layer)."""

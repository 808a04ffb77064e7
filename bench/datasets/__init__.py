"""Benchmark data sets: real photos, local edits with true masks, the transforms of issue 2."""

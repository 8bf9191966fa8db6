"""Writes to engagement data: one module per subject (delivery, health, post-mortems)."""

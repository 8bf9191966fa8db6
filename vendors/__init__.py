"""Vendors, their contacts, vetting evidence, scorecards and contracts."""

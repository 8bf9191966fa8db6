"""Delivery: engagements, milestones, deliverables, spend, interactions, questions, risks,
scope changes, readiness, exit criteria, status changes; the set-up and engagement pages."""

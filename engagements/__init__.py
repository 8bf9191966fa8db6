"""Engagements: goals, milestones, deliverables, spend, interactions, health, alerts, post-mortems."""

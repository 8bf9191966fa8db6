"""Alerts: their lifecycle, channels, escalation policy, outbox, webhooks, e-mail, digest, dashboard."""

"""Activity in: webhooks from code forges and trackers, mapped to engagements and deliverables."""

"""Mail and calendar capture: messages in, routed to engagements, turned into interactions."""

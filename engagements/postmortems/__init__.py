"""Post-mortems, lessons and the checklist."""

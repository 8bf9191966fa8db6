"""The health watcher: each engagement's facts, the warning-sign rules, the sweep that writes health."""

"""The monthly cycle: reports and their deadlines, approvals level by level, locking."""

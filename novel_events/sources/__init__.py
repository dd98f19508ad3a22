"""Calendar sources. Each turns a user's calendar into a :class:`~novel_events.events.CalendarDump`."""

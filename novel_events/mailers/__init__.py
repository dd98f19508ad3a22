"""Mail delivery backends. Each is a :class:`Mailer`: ``send(message) -> provider message id``."""

from novel_events.mailers.base import Mailer, OutgoingEmail

__all__ = ["Mailer", "OutgoingEmail"]

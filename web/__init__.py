"""The self-service web app and the JSON API for the main application (``novel-events web``).

Layers: ``cli → web → deployments → flows → tasks → novel_events``. Server-rendered pages (Jinja2),
Google sign-up (OAuth authorization-code flow with PKCE), signed links from emails, and ``/api/v1``.
"""

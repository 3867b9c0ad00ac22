"""The web layer: request parsing, query parameters, presenters, pages, signed links and static files."""

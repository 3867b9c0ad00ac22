"""Domain logic of the content-moderation service (shipped to Lambda; never imports chalice)."""

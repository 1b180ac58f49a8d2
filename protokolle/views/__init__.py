"""Views, by concern: meetings (drafting, workflow, downloads) and archive."""

"""Reusable Dash building blocks: the page shell, cards, charts, formatting for display."""

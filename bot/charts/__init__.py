"""Charts drawn as PNG pictures for chat (matplotlib, Agg)."""

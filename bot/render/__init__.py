"""Renderers: a neutral Reply into a platform's text."""

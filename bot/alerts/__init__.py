"""Alerts: written with their outbox rows in one transaction, delivered by the dispatcher."""

"""The dlbot central service: HTTP API, storage, chat front ends, alerts and the CLI."""

"""Intake: events validated from files, the HTTP API and MQTT."""

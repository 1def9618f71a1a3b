"""Alerts: anomalies routed to ops teams, with a lifecycle kept in the alerts graph."""

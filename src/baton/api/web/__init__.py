"""The server-rendered web app: inbox, incident, patterns and metrics pages."""

"""HTTP API, alert webhooks and the approval inbox: `create_app(runtime, …)`."""

"""Routes, one module per resource; registered in `api.app.create_app`."""

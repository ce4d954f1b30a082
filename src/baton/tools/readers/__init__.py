"""Read-only tools that agents may call: ITSM records, logs, metrics.

Every tool has a pydantic argument schema and returns one `ToolResult`. None of them has a
side effect outside reading its data source, which is why agents may call them at all.
"""

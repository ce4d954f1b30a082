"""The runbook DSL: YAML → pydantic models, validation with file/line/column, versions."""

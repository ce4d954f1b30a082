"""Pure types shared by every layer. Imports no framework beyond pydantic."""

"""Runbook → LangGraph StateGraph compiler, node factories and the runner."""

"""Logs as an embedded data source: parse (`lines`), store (`store`), mine templates
(`masking`, `miner`), index by time (`corpus`), and answer agents (`tools.log_tools`)."""

"""Helpers for the end-to-end suite: the control-plane API, the local node runtime, polling."""

"""Test harness for the Vault-client compatibility suite.

Kept apart from the tests so each test module reads as a list of Vault behaviours, not plumbing:
`process` starts and stops server binaries, `hcl` renders Vault-format config files, `poll` is
the only way the suite waits for anything (deadline-bounded polling, never fixed sleeps).
"""

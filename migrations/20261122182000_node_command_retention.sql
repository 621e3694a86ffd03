-- Retention of node commands (the control plane's periodic pruning task).
--
-- The task deletes commands settled or expired longer ago than the configured age, looking
-- them up by the time they stopped mattering; and it must skip a command a snapshot is still
-- being reconciled from, which it checks per candidate.

CREATE INDEX node_commands_retention_idx ON node_commands (COALESCE(completed_at, expires_at));
CREATE INDEX snapshots_in_flight_command_idx ON snapshots (command_id)
    WHERE state IN ('creating', 'restoring');

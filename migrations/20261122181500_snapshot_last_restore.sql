-- The outcome of a snapshot's most recent restore, kept apart from the snapshot's own state.
--
-- A restore that fails because the node was busy, sealed or silent says nothing about the
-- object in the bucket, so the snapshot returns to `available` and the attempt's reason lives
-- here (shown as `last_restore` in the API and the console). Only a failure that proves the
-- object bad (checksum mismatch, object missing) still moves the snapshot itself to `failed`.

ALTER TABLE snapshots
    ADD COLUMN last_restore_state       text CHECK (last_restore_state IN ('succeeded', 'failed')),
    -- Customer-safe reason when the last restore failed (the agent's public message or ours).
    ADD COLUMN last_restore_error       text,
    ADD COLUMN last_restore_finished_at timestamptz;

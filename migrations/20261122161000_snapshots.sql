-- Cluster snapshots, version 1.
--
-- A snapshot row is the control plane's record of one Raft snapshot object in the cluster's
-- snapshots bucket. The node does the work (TakeSnapshot / RestoreSnapshot / DeleteSnapshot over
-- the pull channel); the row remembers which command is in flight and until when its answer is
-- awaited, so the state can be reconciled whenever it is read: from the command's result, or to
-- `failed` once the command has expired unanswered. No background job is needed for that.

CREATE TABLE snapshots (
    id                 uuid PRIMARY KEY,
    org_id             uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    cluster_id         uuid NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    -- 'deleted' rows are kept (hidden from the API) so the DeleteSnapshot command stays traceable.
    state              text NOT NULL CHECK (state IN
                           ('creating', 'available', 'restoring', 'failed', 'deleted')),
    -- 'manual' (API) or 'scheduled' (the daily job for production tiers).
    origin             text NOT NULL CHECK (origin IN ('manual', 'scheduled')),
    bucket             text NOT NULL,
    object_key         text NOT NULL,
    size_bytes         bigint,
    sha256             text,
    -- Customer-safe reason of the last failure (the agent's public message or our own).
    error              text,
    -- The take/restore/delete command most recently sent, and when we stop waiting for it.
    command_id         uuid,
    command_expires_at timestamptz,
    created_at         timestamptz NOT NULL DEFAULT now(),
    completed_at       timestamptz,
    restored_at        timestamptz,
    updated_at         timestamptz NOT NULL DEFAULT now()
);
-- Keyset pages of one cluster's snapshots; also the scheduler's "latest snapshot" lookup.
CREATE INDEX snapshots_cluster_page_idx ON snapshots (cluster_id, created_at, id);

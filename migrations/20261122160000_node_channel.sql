-- Node channel, version 1.
--
-- Nodes accept nothing inbound but 8200, so the control plane talks to them through a pull
-- channel: commands are queued here, handed out at most once to the node's long poll, and the
-- node posts each result back. Nodes also heartbeat; the latest heartbeat is kept on the node
-- row (health is derived from its age). MSP bundles are the signed operator-policy sets the
-- platform publishes to every cluster.

-- Latest heartbeat of each registered node. Null until the first heartbeat.
ALTER TABLE cluster_nodes
    ADD COLUMN api_address           text,
    ADD COLUMN initialized           boolean,
    ADD COLUMN sealed                boolean,
    ADD COLUMN server_version        text,
    ADD COLUMN agent_version         text,
    ADD COLUMN leader                boolean,
    ADD COLUMN msp_bundle_version    bigint,
    ADD COLUMN audit_shipped_through timestamptz,
    ADD COLUMN last_heartbeat_at     timestamptz;

-- Commands for one node slot of a cluster. `body` is the wire `CommandBody` (it never holds a
-- secret: an admin-token request carries only a one-time public key), `result` the wire
-- `CommandResult` (an admin token only ever arrives sealed to that key). `delivered_at` is set
-- in the same statement that hands a command out, which is what makes delivery at-most-once.
CREATE TABLE node_commands (
    id           uuid PRIMARY KEY,
    cluster_id   uuid NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    node_index   integer NOT NULL,
    kind         text NOT NULL,
    body         jsonb NOT NULL,
    -- The MSP bundle version an apply_msp_bundle command carries, for the bundle status view.
    msp_version  bigint,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    delivered_at timestamptz,
    completed_at timestamptz,
    result       jsonb,
    CHECK (completed_at IS NULL OR delivered_at IS NOT NULL)
);
-- The poll's lookup: undelivered commands of one node, oldest first.
CREATE INDEX node_commands_queue_idx ON node_commands (cluster_id, node_index, created_at)
    WHERE delivered_at IS NULL;
CREATE INDEX node_commands_msp_idx ON node_commands (msp_version) WHERE msp_version IS NOT NULL;

-- Wake-ups across replicas: a queued command wakes the long polls of its node
-- ("queued:<cluster>:<index>"), a stored result wakes whoever awaits it ("result:<id>").
CREATE FUNCTION notify_node_command() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM pg_notify('coffer_node_command',
            'queued:' || NEW.cluster_id::text || ':' || NEW.node_index::text);
    ELSIF NEW.completed_at IS NOT NULL AND OLD.completed_at IS NULL THEN
        PERFORM pg_notify('coffer_node_command', 'result:' || NEW.id::text);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER node_commands_notify
    AFTER INSERT OR UPDATE OF completed_at ON node_commands
    FOR EACH ROW EXECUTE FUNCTION notify_node_command();

-- Operator-policy bundles as published: the exact signed payload and its signature.
CREATE TABLE msp_bundles (
    version      bigint PRIMARY KEY CHECK (version > 0),
    payload      text NOT NULL,
    signature    text NOT NULL,
    published_by uuid NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

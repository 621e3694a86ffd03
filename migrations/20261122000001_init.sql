-- Control-plane schema, version 1.
--
-- Users, organisations and memberships; credentials (access tokens, service principals);
-- clusters (desired spec + observed state); operations with their persisted step plans;
-- idempotency keys; the releases catalog.

CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL UNIQUE,          -- normalised to lowercase by the application
    -- NULL for a placeholder created by an invitation; set when that email signs up.
    password_hash text,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE orgs (
    id         uuid PRIMARY KEY,
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE org_members (
    org_id     uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       text NOT NULL CHECK (role IN ('viewer', 'contributor', 'admin', 'owner')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, user_id)
);
CREATE INDEX org_members_user_idx ON org_members (user_id);

CREATE TABLE service_principals (
    id          uuid PRIMARY KEY,
    org_id      uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name        text NOT NULL,
    role        text NOT NULL CHECK (role IN ('viewer', 'contributor', 'admin')),
    client_id   text NOT NULL UNIQUE,
    secret_hash bytea NOT NULL,                  -- SHA-256 of a 256-bit random secret
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, name)
);
CREATE INDEX service_principals_org_idx ON service_principals (org_id, created_at, id);

-- Bearer tokens and console sessions. Only the SHA-256 of a token is stored, so a database
-- leak does not yield usable credentials. Exactly one of user_id / service_principal_id is set.
CREATE TABLE access_tokens (
    token_hash           bytea PRIMARY KEY,
    user_id              uuid REFERENCES users (id) ON DELETE CASCADE,
    service_principal_id uuid REFERENCES service_principals (id) ON DELETE CASCADE,
    csrf_hash            bytea,                  -- set for console sessions
    expires_at           timestamptz NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    CHECK ((user_id IS NULL) <> (service_principal_id IS NULL))
);
CREATE INDEX access_tokens_expiry_idx ON access_tokens (expires_at);

CREATE TABLE releases (
    version     text PRIMARY KEY,
    released_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO releases (version, released_at) VALUES ('1.0.0', '2026-11-01T00:00:00Z');

-- A cluster row holds the desired spec (intent: tier, size, region, version, network) written
-- by the API, and observed fields (state, address) written by the provisioning engine.
CREATE TABLE clusters (
    id              uuid PRIMARY KEY,
    org_id          uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name            text NOT NULL,
    tier            text NOT NULL,
    size            text NOT NULL,
    region          text NOT NULL,
    version         text NOT NULL REFERENCES releases (version),
    public_endpoint boolean NOT NULL,
    ip_allow_list   text[] NOT NULL,
    node_count      integer NOT NULL,
    state           text NOT NULL CHECK (state IN
                        ('pending', 'creating', 'running', 'updating', 'deleting', 'deleted', 'failed')),
    address         text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
-- Names are reusable once a cluster is fully deleted.
CREATE UNIQUE INDEX clusters_org_name_live_idx ON clusters (org_id, name) WHERE state <> 'deleted';
CREATE INDEX clusters_org_page_idx ON clusters (org_id, created_at, id);

CREATE TABLE operations (
    id            uuid PRIMARY KEY,
    org_id        uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    cluster_id    uuid NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    kind          text NOT NULL CHECK (kind IN ('create', 'update', 'delete')),
    state         text NOT NULL CHECK (state IN ('pending', 'running', 'succeeded', 'failed')),
    error_code    text,
    error_message text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    finished_at   timestamptz
);
CREATE INDEX operations_cluster_idx ON operations (cluster_id, created_at);

CREATE TABLE operation_steps (
    operation_id uuid NOT NULL REFERENCES operations (id) ON DELETE CASCADE,
    position     integer NOT NULL,
    name         text NOT NULL,
    state        text NOT NULL CHECK (state IN ('pending', 'running', 'succeeded', 'failed', 'skipped')),
    attempt      integer NOT NULL DEFAULT 0,
    error        text,
    started_at   timestamptz,
    finished_at  timestamptz,
    PRIMARY KEY (operation_id, position)
);

-- Every change to an operation or one of its steps is announced on this channel, whoever
-- makes it (API replica, provisioning engine, an operator in psql). The payload is the
-- operation id; `wait` long-polls use it instead of polling the table.
CREATE FUNCTION notify_operation_changed() RETURNS trigger AS $$
BEGIN
    IF TG_TABLE_NAME = 'operations' THEN
        PERFORM pg_notify('coffer_operation_changed', NEW.id::text);
    ELSE
        PERFORM pg_notify('coffer_operation_changed', NEW.operation_id::text);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER operations_notify AFTER INSERT OR UPDATE ON operations
    FOR EACH ROW EXECUTE FUNCTION notify_operation_changed();
CREATE TRIGGER operation_steps_notify AFTER UPDATE ON operation_steps
    FOR EACH ROW EXECUTE FUNCTION notify_operation_changed();

-- Idempotency keys for cluster creation: the same key and body replay the first response.
CREATE TABLE idempotency_keys (
    org_id       uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    key          text NOT NULL,
    request_hash bytea NOT NULL,
    cluster_id   uuid NOT NULL,
    operation_id uuid NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, key)
);

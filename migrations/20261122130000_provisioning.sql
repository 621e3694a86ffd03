-- Provisioning engine, version 1.
--
-- Operation leases (several control-plane replicas share one database; a replica claims an
-- operation with FOR UPDATE SKIP LOCKED and keeps it by heartbeating `lease_expires_at`; when a
-- replica dies its lease lapses and another resumes from the stored step plan), the resources
-- each cluster owns in AWS, the one-time join tokens handed to new nodes, the nodes that have
-- registered, and the machine images per release and region.

ALTER TABLE operations
    ADD COLUMN lease_owner      uuid,
    ADD COLUMN lease_expires_at timestamptz,
    ADD COLUMN heartbeat_at     timestamptz;
-- The claimer only ever looks at unfinished operations.
CREATE INDEX operations_unfinished_idx ON operations (created_at, id)
    WHERE state IN ('pending', 'running');

-- One row per AWS resource a cluster owns, written as soon as the resource exists so nothing
-- is ever untracked for longer than one step. Rows are kept after deletion (state 'deleted')
-- as an audit trail and so the sweeper can tell "ours, already gone" from "unknown".
CREATE TABLE cluster_resources (
    cluster_id   uuid NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    org_id       uuid NOT NULL,
    region       text NOT NULL,
    kind         text NOT NULL CHECK (kind IN
                     ('kms_key', 'bucket', 'iam_role', 'instance_profile', 'security_group',
                      'instance')),
    -- Key id, bucket name, role / profile name, group id, instance id.
    resource_id  text NOT NULL,
    arn          text,
    -- Bucket purpose or node index; what the resource is for within the cluster.
    role         text,
    state        text NOT NULL CHECK (state IN ('present', 'retained', 'deleting', 'deleted')),
    -- For retained buckets: when the retention period ends and the bucket may be purged.
    purge_after  timestamptz,
    operation_id uuid,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cluster_id, kind, resource_id)
);
CREATE INDEX cluster_resources_purge_idx ON cluster_resources (purge_after)
    WHERE state = 'retained';

-- One-time join tokens. Only the SHA-256 is stored. A token is issued for (cluster, node
-- index, operation) before the instance exists, bound to the instance id once it does, and
-- consumed by the node's first registration.
CREATE TABLE join_tokens (
    token_hash   bytea PRIMARY KEY,
    cluster_id   uuid NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    operation_id uuid NOT NULL,
    node_index   integer NOT NULL,
    instance_id  text,
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX join_tokens_node_idx ON join_tokens (cluster_id, node_index);

-- Registered nodes. The credential is a 256-bit random secret; only its SHA-256 is stored.
CREATE TABLE cluster_nodes (
    cluster_id      uuid NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    node_index      integer NOT NULL,
    instance_id     text NOT NULL,
    credential_hash bytea NOT NULL UNIQUE,
    registered_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cluster_id, node_index)
);

-- Machine image per release and region. Empty by default: each deployment loads its own
-- catalog (image ids differ per account and region).
CREATE TABLE release_images (
    version  text NOT NULL REFERENCES releases (version) ON DELETE CASCADE,
    region   text NOT NULL,
    image_id text NOT NULL,
    PRIMARY KEY (version, region)
);

-- Platform operators and the orphan sweeper, version 1.
--
-- Operators run Coffer itself; they are not customers. Their accounts and bearer tokens live in
-- tables of their own so that no customer credential can ever resolve to an operator (the
-- customer authenticator only reads `access_tokens`) and no operator token can act inside a
-- tenant (the operator authenticator only reads `operator_tokens`).

CREATE TABLE operators (
    id            uuid PRIMARY KEY,
    email         text NOT NULL UNIQUE,          -- normalised to lowercase by the application
    password_hash text NOT NULL,                 -- argon2id PHC string
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- Only the SHA-256 of an operator token is stored, as for customer tokens.
CREATE TABLE operator_tokens (
    token_hash  bytea PRIMARY KEY,
    operator_id uuid NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    expires_at  timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX operator_tokens_expiry_idx ON operator_tokens (expires_at);

-- The sweeper's latest findings: Coffer-tagged cloud resources that no live cluster owns. A
-- row is kept while the resource keeps showing up (last_seen moves, first_seen stays) and is
-- removed by the first sweep that lists its region successfully without seeing it.
-- Resource ids (key ids, bucket and IAM names, EC2 ids) are unique per kind across regions.
CREATE TABLE orphan_findings (
    id          uuid PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN
                    ('kms_key', 'bucket', 'iam_role', 'instance_profile', 'security_group',
                     'instance', 'volume')),
    resource_id text NOT NULL,
    region      text,                            -- NULL for global resources (IAM)
    -- Raw tag values: a planted or damaged resource may carry anything, or nothing.
    cluster_id  text,
    org_id      text,
    reason      text NOT NULL CHECK (reason IN ('unknown_cluster', 'cluster_deleted')),
    first_seen  timestamptz NOT NULL,
    last_seen   timestamptz NOT NULL,
    UNIQUE (kind, resource_id)
);
CREATE INDEX orphan_findings_page_idx ON orphan_findings (first_seen, id);

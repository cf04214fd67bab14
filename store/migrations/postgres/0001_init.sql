-- GhostBridge store, PostgreSQL backend, schema version 1.
-- Integers that are u64 in Rust (chain ids, nonces) are stored as their i64 two's-complement image.
-- Times are unix milliseconds. Hashes and addresses are raw big-endian bytes.

CREATE TABLE messages (
    id                BYTEA   NOT NULL PRIMARY KEY CHECK (octet_length(id) = 32),
    src_chain         BIGINT  NOT NULL,
    dst_chain         BIGINT  NOT NULL,
    nonce             BIGINT  NOT NULL,
    encoded           BYTEA   NOT NULL,
    status            TEXT    NOT NULL DEFAULT 'seen'
        CHECK (status IN ('seen', 'attested', 'submitted', 'confirmed', 'failed_permanently')),
    -- failed_permanently always carries its reason: a message is never silently parked.
    failure_reason    TEXT    CHECK ((status = 'failed_permanently') = (failure_reason IS NOT NULL)),
    attempts          BIGINT  NOT NULL DEFAULT 0,
    last_error        TEXT,
    next_attempt_at   BIGINT  NOT NULL,
    tx_hash           BYTEA   CHECK (tx_hash IS NULL OR octet_length(tx_hash) = 32),
    submitted_nonce   BIGINT,
    submitted_fee     BYTEA   CHECK (submitted_fee IS NULL OR octet_length(submitted_fee) = 32),
    submitted_at      BIGINT,
    lease_owner       TEXT,
    lease_expires_at  BIGINT,
    created_at        BIGINT  NOT NULL,
    updated_at        BIGINT  NOT NULL,
    UNIQUE (dst_chain, src_chain, nonce)
);

-- Serves claim_batch: only pending rows are indexed, so a million confirmed rows cost nothing.
CREATE INDEX messages_due ON messages (dst_chain, next_attempt_at)
    WHERE status IN ('seen', 'attested', 'submitted');
-- Serves the oldest-pending-age metric.
CREATE INDEX messages_pending_age ON messages (created_at)
    WHERE status IN ('seen', 'attested', 'submitted');
-- Serves counters by status (covering index).
CREATE INDEX messages_status ON messages (status);
-- Serves `ghostbridge status <tx hash>`.
CREATE INDEX messages_tx_hash ON messages (tx_hash) WHERE tx_hash IS NOT NULL;

CREATE TABLE attestations (
    subject_kind  TEXT    NOT NULL CHECK (subject_kind IN ('message', 'batch')),
    subject       BYTEA   NOT NULL CHECK (octet_length(subject) = 32),
    epoch         BIGINT  NOT NULL,
    validator     BYTEA   NOT NULL CHECK (octet_length(validator) = 20),
    ecdsa_sig     BYTEA   NOT NULL,
    mldsa_sig     BYTEA   NOT NULL,
    created_at    BIGINT  NOT NULL,
    PRIMARY KEY (subject_kind, subject, epoch, validator)
);

CREATE TABLE batches (
    root        BYTEA   NOT NULL PRIMARY KEY CHECK (octet_length(root) = 32),
    dst_chain   BIGINT  NOT NULL,
    created_at  BIGINT  NOT NULL
);

CREATE TABLE batch_members (
    root        BYTEA   NOT NULL REFERENCES batches (root) ON DELETE CASCADE,
    position    BIGINT  NOT NULL,
    message_id  BYTEA   NOT NULL CHECK (octet_length(message_id) = 32),
    PRIMARY KEY (root, position)
);
CREATE INDEX batch_members_message ON batch_members (message_id);

-- Validator signing journal: one row per (chain, source contract, nonce) ever signed.
CREATE TABLE signed_nonces (
    chain_id         BIGINT  NOT NULL,
    source_contract  BYTEA   NOT NULL CHECK (octet_length(source_contract) = 20),
    nonce            BIGINT  NOT NULL,
    message_id       BYTEA   NOT NULL CHECK (octet_length(message_id) = 32),
    signed_at        BIGINT  NOT NULL,
    PRIMARY KEY (chain_id, source_contract, nonce)
);

CREATE TABLE chain_cursors (
    chain_id      BIGINT  NOT NULL,
    contract      BYTEA   NOT NULL CHECK (octet_length(contract) = 20),
    block_number  BIGINT  NOT NULL,
    block_hash    BYTEA   NOT NULL CHECK (octet_length(block_hash) = 32),
    updated_at    BIGINT  NOT NULL,
    PRIMARY KEY (chain_id, contract)
);

-- GhostBridge store, SQLite backend, schema version 1.
-- Integers that are u64 in Rust (chain ids, nonces) are stored as their i64 two's-complement image.
-- Times are unix milliseconds. Hashes and addresses are raw big-endian bytes.

CREATE TABLE messages (
    id                BLOB    NOT NULL PRIMARY KEY CHECK (length(id) = 32),
    src_chain         INTEGER NOT NULL,
    dst_chain         INTEGER NOT NULL,
    nonce             INTEGER NOT NULL,
    encoded           BLOB    NOT NULL,
    status            TEXT    NOT NULL DEFAULT 'seen'
        CHECK (status IN ('seen', 'attested', 'submitted', 'confirmed', 'failed_permanently')),
    -- failed_permanently always carries its reason: a message is never silently parked.
    failure_reason    TEXT    CHECK ((status = 'failed_permanently') = (failure_reason IS NOT NULL)),
    attempts          INTEGER NOT NULL DEFAULT 0,
    last_error        TEXT,
    next_attempt_at   INTEGER NOT NULL,
    tx_hash           BLOB    CHECK (tx_hash IS NULL OR length(tx_hash) = 32),
    submitted_nonce   INTEGER,
    submitted_fee     BLOB    CHECK (submitted_fee IS NULL OR length(submitted_fee) = 32),
    submitted_at      INTEGER,
    lease_owner       TEXT,
    lease_expires_at  INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
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
    subject       BLOB    NOT NULL CHECK (length(subject) = 32),
    epoch         INTEGER NOT NULL,
    validator     BLOB    NOT NULL CHECK (length(validator) = 20),
    ecdsa_sig     BLOB    NOT NULL,
    mldsa_sig     BLOB    NOT NULL,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (subject_kind, subject, epoch, validator)
);

CREATE TABLE batches (
    root        BLOB    NOT NULL PRIMARY KEY CHECK (length(root) = 32),
    dst_chain   INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE batch_members (
    root        BLOB    NOT NULL REFERENCES batches (root) ON DELETE CASCADE,
    position    INTEGER NOT NULL,
    message_id  BLOB    NOT NULL CHECK (length(message_id) = 32),
    PRIMARY KEY (root, position)
);
CREATE INDEX batch_members_message ON batch_members (message_id);

-- Validator signing journal: one row per (chain, source contract, nonce) ever signed.
CREATE TABLE signed_nonces (
    chain_id         INTEGER NOT NULL,
    source_contract  BLOB    NOT NULL CHECK (length(source_contract) = 20),
    nonce            INTEGER NOT NULL,
    message_id       BLOB    NOT NULL CHECK (length(message_id) = 32),
    signed_at        INTEGER NOT NULL,
    PRIMARY KEY (chain_id, source_contract, nonce)
);

CREATE TABLE chain_cursors (
    chain_id      INTEGER NOT NULL,
    contract      BLOB    NOT NULL CHECK (length(contract) = 20),
    block_number  INTEGER NOT NULL,
    block_hash    BLOB    NOT NULL CHECK (length(block_hash) = 32),
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (chain_id, contract)
);

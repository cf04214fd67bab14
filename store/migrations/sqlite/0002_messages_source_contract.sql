-- Messages are keyed by their source contract too: on one chain the vault (locks) and the
-- minter (burns) number their messages independently, so (dst chain, src chain, nonce) alone
-- collides in ordinary two-way use.
--
-- SQLite cannot change a table constraint in place: this is its documented "12-step" rebuild
-- (https://www.sqlite.org/lang_altertable.html#otheralter) inside the migration's transaction.
-- No other table references `messages` by foreign key, and it has no triggers or views.
-- `src_contract` is backfilled from `encoded`, the ABI-encoded 9-field BridgeMessage:
-- srcContract is its 4th 32-byte word (bytes 96..128), the address in the word's last 20 bytes
-- (1-based substr offset 109). Shorter bodies (never written by the daemons) get the zero address.

CREATE TABLE messages_new (
    id                BLOB    NOT NULL PRIMARY KEY CHECK (length(id) = 32),
    src_chain         INTEGER NOT NULL,
    dst_chain         INTEGER NOT NULL,
    src_contract      BLOB    NOT NULL CHECK (length(src_contract) = 20),
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
    UNIQUE (dst_chain, src_chain, src_contract, nonce)
);

INSERT INTO messages_new
    (id, src_chain, dst_chain, src_contract, nonce, encoded, status, failure_reason, attempts,
     last_error, next_attempt_at, tx_hash, submitted_nonce, submitted_fee, submitted_at,
     lease_owner, lease_expires_at, created_at, updated_at)
SELECT
    id, src_chain, dst_chain,
    CASE WHEN length(encoded) >= 128 THEN substr(encoded, 109, 20) ELSE zeroblob(20) END,
    nonce, encoded, status, failure_reason, attempts,
    last_error, next_attempt_at, tx_hash, submitted_nonce, submitted_fee, submitted_at,
    lease_owner, lease_expires_at, created_at, updated_at
FROM messages;

DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;

-- The indexes went with the old table; the same ones again (partial predicates unchanged).
CREATE INDEX messages_due ON messages (dst_chain, next_attempt_at)
    WHERE status IN ('seen', 'attested', 'submitted');
CREATE INDEX messages_pending_age ON messages (created_at)
    WHERE status IN ('seen', 'attested', 'submitted');
CREATE INDEX messages_status ON messages (status);
CREATE INDEX messages_tx_hash ON messages (tx_hash) WHERE tx_hash IS NOT NULL;

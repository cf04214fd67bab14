-- The validator's own tables. Until now the validator journaled nonces in `signed_nonces` and
-- then wrote its admitted messages into the relayer's `messages` (as `seen` rows), its signed
-- batch roots into the relayer's `batches`, and its follower position into `chain_cursors`, the
-- table the relayer's scanner moves too. A relayer and a validator sharing one database then
-- read each other's rows: the validator could take a message the relayer's scanner saw for one
-- it admitted itself, and the two moved one cursor. From here on the validator keeps:
--
-- `admitted_messages`: every message it re-derived past its confirmation depth, with the
-- content it will sign for (one content per (src chain, src contract, nonce), ever). It takes
-- over the role of `signed_nonces`, which stays as history and is no longer written.
-- `signed_batches` + `signed_batch_members`: the batch roots it signed (members admitted).
-- `admission_cursors`: where its followers stopped.
--
-- Carried over: each `signed_nonces` row whose message is in `messages` with the same
-- coordinates (the content is that row's: an id is the hash of the content, so whoever wrote
-- it, it is the same bytes). A nonce journaled without a `messages` row (a crash between the
-- two writes) was never served (the API answered from `messages`), and its block lies after
-- the follower's cursor (set after both writes), so it is admitted again on the rescan.
-- Batches are carried over when a batch attestation exists for the root and every member is
-- admitted (in a shared database this may take a relayer's batch too; it then only counts
-- against the per-message batch bound, as before, and is never answered for: answering needs
-- this validator's own attestation).
-- Cursors are NOT carried over: `chain_cursors` may be the relayer's. The followers rescan
-- from the deploy block, admitting again (same content: no change; a different content for a
-- carried-over nonce: refused, and the validator halts).

CREATE TABLE admitted_messages (
    id            BYTEA   NOT NULL PRIMARY KEY CHECK (octet_length(id) = 32),
    src_chain     BIGINT  NOT NULL,
    src_contract  BYTEA   NOT NULL CHECK (octet_length(src_contract) = 20),
    nonce         BIGINT  NOT NULL,
    dst_chain     BIGINT  NOT NULL,
    encoded       BYTEA   NOT NULL,
    admitted_at   BIGINT  NOT NULL,
    UNIQUE (src_chain, src_contract, nonce)
);

CREATE TABLE signed_batches (
    root        BYTEA   NOT NULL PRIMARY KEY CHECK (octet_length(root) = 32),
    dst_chain   BIGINT  NOT NULL,
    signed_at   BIGINT  NOT NULL
);

CREATE TABLE signed_batch_members (
    root        BYTEA   NOT NULL REFERENCES signed_batches (root) ON DELETE CASCADE,
    position    BIGINT  NOT NULL,
    message_id  BYTEA   NOT NULL REFERENCES admitted_messages (id),
    PRIMARY KEY (root, position)
);
CREATE INDEX signed_batch_members_message ON signed_batch_members (message_id);

CREATE TABLE admission_cursors (
    chain_id      BIGINT  NOT NULL,
    contract      BYTEA   NOT NULL CHECK (octet_length(contract) = 20),
    block_number  BIGINT  NOT NULL,
    block_hash    BYTEA   NOT NULL CHECK (octet_length(block_hash) = 32),
    updated_at    BIGINT  NOT NULL,
    PRIMARY KEY (chain_id, contract)
);

INSERT INTO admitted_messages
    (id, src_chain, src_contract, nonce, dst_chain, encoded, admitted_at)
SELECT m.id, s.chain_id, s.source_contract, s.nonce, m.dst_chain, m.encoded, s.signed_at
FROM signed_nonces s
JOIN messages m ON m.id = s.message_id
WHERE m.src_chain = s.chain_id AND m.src_contract = s.source_contract AND m.nonce = s.nonce
ON CONFLICT DO NOTHING;

INSERT INTO signed_batches (root, dst_chain, signed_at)
SELECT b.root, b.dst_chain, b.created_at
FROM batches b
WHERE EXISTS (SELECT 1 FROM attestations a WHERE a.subject_kind = 'batch' AND a.subject = b.root)
  AND NOT EXISTS (SELECT 1 FROM batch_members bm
                  WHERE bm.root = b.root
                    AND NOT EXISTS (SELECT 1 FROM admitted_messages am
                                    WHERE am.id = bm.message_id));

INSERT INTO signed_batch_members (root, position, message_id)
SELECT bm.root, bm.position, bm.message_id
FROM batch_members bm
JOIN signed_batches sb ON sb.root = bm.root;

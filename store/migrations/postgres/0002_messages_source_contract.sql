-- Messages are keyed by their source contract too: on one chain the vault (locks) and the
-- minter (burns) number their messages independently, so (dst chain, src chain, nonce) alone
-- collides in ordinary two-way use.
-- `src_contract` is backfilled from `encoded`, the ABI-encoded 9-field BridgeMessage:
-- srcContract is its 4th 32-byte word (bytes 96..128), the address in the word's last 20 bytes
-- (1-based offset 109). Shorter bodies (never written by the daemons) get the zero address.

ALTER TABLE messages ADD COLUMN src_contract BYTEA;

UPDATE messages SET src_contract = CASE
    WHEN octet_length(encoded) >= 128 THEN substring(encoded FROM 109 FOR 20)
    ELSE decode(repeat('00', 20), 'hex')
END;

ALTER TABLE messages ALTER COLUMN src_contract SET NOT NULL;
ALTER TABLE messages ADD CONSTRAINT messages_src_contract_check
    CHECK (octet_length(src_contract) = 20);

-- The unnamed UNIQUE of 0001 got PostgreSQL's default name.
ALTER TABLE messages DROP CONSTRAINT messages_dst_chain_src_chain_nonce_key;
ALTER TABLE messages ADD CONSTRAINT messages_dst_chain_src_chain_src_contract_nonce_key
    UNIQUE (dst_chain, src_chain, src_contract, nonce);

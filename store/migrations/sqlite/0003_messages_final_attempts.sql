-- Attempts that ended in a final error (the destination contract refuses the release for a
-- reason retrying cannot fix, e.g. an unknown route or a recipient that refuses ETH). Unlike
-- `attempts` it is not reset by progress, and transient errors never count. After the
-- relayer's `max_final_attempts` the message becomes failed_permanently; an operator's
-- `ghostbridge redeliver` resets it.
ALTER TABLE messages ADD COLUMN final_attempts INTEGER NOT NULL DEFAULT 0;

//! The sequencer's durable log: one entry per sealed batch, holding the inputs of every op the
//! engine applied in it, in the engine's order (L1 deposits, transfers and withdrawals with their
//! signed raw bytes and recovered signers). An entry is written and `fdatasync`ed before any
//! receipt of its batch is published and before the batch goes to L1, so:
//!
//! - everything a user was told is applied survives `kill -9` (it is in the journal);
//! - a restart replays the journal into a fresh engine without recovering a single signature
//!   (the signers are stored), checking every re-sealed batch against the state root written
//!   beside it, and posts what L1 does not hold yet.
//!
//! Frame: `len: u32 LE ‖ check: [u8; 4] ‖ payload[len]`, where `check` is the first 4 bytes of
//! `keccak256(payload)`. A crash mid-write leaves a short or unchecked last frame: that batch was
//! never acknowledged, so it is cut off at open. A bad frame followed by more bytes is not a torn
//! write but damage, and opening refuses (the operator decides; nothing is guessed).

use alloy_primitives::{keccak256, Address, B256};
use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Largest payload accepted when reading (a batch of 8,190 transfers is ~1.1 MB).
pub const ENTRY_MAX: u32 = 64 << 20;

/// One input the engine applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JournalOp {
    /// Portal deposit `index` (`ghostplane_deposit_l1`).
    Deposit {
        /// Portal index.
        index: u64,
        /// L1 sender (refund recipient).
        l1_sender: Address,
        /// L2 recipient.
        recipient: Address,
        /// Token id.
        token: u32,
        /// Amount.
        amount: u128,
    },
    /// A signed transfer and its recovered sender.
    Transfer {
        /// Recovered sender.
        from: Address,
        /// The signed raw transaction.
        raw: Vec<u8>,
    },
    /// A signed withdrawal and its recovered signer.
    Withdrawal {
        /// Recovered signer.
        from: Address,
        /// The signed raw withdrawal.
        raw: Vec<u8>,
    },
}

/// The inputs of one sealed batch.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JournalEntry {
    /// Batch number.
    pub batch_number: u64,
    /// State root after the batch (checked again on replay).
    pub state_root: B256,
    /// The applied ops, in engine order.
    pub ops: Vec<JournalOp>,
}

/// Why the journal could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The file system failed. Writing: the batch is not durable and the sequencer must stop
    /// (its engine is ahead of its journal); reading: nothing was changed.
    #[error("journal {path}: {source}")]
    Io {
        /// The journal.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A frame before the last one does not check: the file is damaged, not torn by a crash.
    #[error("journal {path} is damaged at byte {offset} ({reason}); it is not a torn last write, so nothing is cut: restore it or start from L1")]
    Damaged {
        /// The journal.
        path: PathBuf,
        /// Where the bad frame starts.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
}

/// An open journal, positioned at its end.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    entries: u64,
}

impl Journal {
    /// Opens (or creates) the journal at `path`, hands every entry to `replay` in order, cuts a
    /// torn last frame, and returns the journal ready for [`Self::append`]. An error from
    /// `replay` stops the read and is returned as is.
    pub fn open<E>(
        path: &Path,
        mut replay: impl FnMut(JournalEntry) -> Result<(), E>,
    ) -> Result<Self, E>
    where
        E: From<JournalError>,
    {
        let io = |source| JournalError::Io {
            path: path.to_owned(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let mut reader = BufReader::with_capacity(1 << 20, &mut file);
        let mut offset = 0u64;
        let mut entries = 0u64;
        let mut torn = None;
        while offset < len {
            match read_frame(&mut reader, len.saturating_sub(offset)) {
                Ok((payload, frame_len)) => {
                    let entry = decode(&payload).map_err(|reason| JournalError::Damaged {
                        path: path.to_owned(),
                        offset,
                        reason,
                    })?;
                    replay(entry)?;
                    entries = entries.saturating_add(1);
                    offset = offset.saturating_add(frame_len);
                }
                Err(FrameError::Io(e)) => return Err(io(e).into()),
                Err(FrameError::Bad { reason, frame_end }) => {
                    if offset.saturating_add(frame_end) < len {
                        return Err(JournalError::Damaged {
                            path: path.to_owned(),
                            offset,
                            reason,
                        }
                        .into());
                    }
                    torn = Some(reason);
                    break;
                }
            }
        }
        drop(reader);
        if let Some(reason) = torn {
            tracing::warn!(path = %path.display(), offset, reason, "cutting the journal's torn last write (never acknowledged)");
            file.set_len(offset).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        file.seek(SeekFrom::End(0)).map_err(io)?;
        Ok(Self {
            path: path.to_owned(),
            file,
            entries,
        })
    }

    /// Entries in the journal.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// Appends `entry` and waits until it is on disk.
    pub fn append(&mut self, entry: &JournalEntry) -> Result<(), JournalError> {
        let payload = encode(entry);
        let len = u32::try_from(payload.len())
            .ok()
            .filter(|l| *l <= ENTRY_MAX)
            .ok_or_else(|| JournalError::Io {
                path: self.path.clone(),
                source: std::io::Error::other(format!(
                    "entry of {} bytes exceeds {ENTRY_MAX}",
                    payload.len()
                )),
            })?;
        let mut frame = Vec::with_capacity(payload.len().saturating_add(8));
        frame.extend_from_slice(&len.to_le_bytes());
        frame.extend_from_slice(&keccak256(&payload)[..4]);
        frame.extend_from_slice(&payload);
        let io = |source| JournalError::Io {
            path: self.path.clone(),
            source,
        };
        self.file.write_all(&frame).map_err(io)?;
        self.file.sync_data().map_err(io)?;
        self.entries = self.entries.saturating_add(1);
        Ok(())
    }
}

enum FrameError {
    Io(std::io::Error),
    /// A frame that does not check; `frame_end` is where it claims to end.
    Bad {
        reason: String,
        frame_end: u64,
    },
}

/// Reads one frame; `left` is the bytes left in the file from the frame's start.
fn read_frame(reader: &mut impl Read, left: u64) -> Result<(Vec<u8>, u64), FrameError> {
    let short = |what: &str| FrameError::Bad {
        reason: format!("{what} cut short"),
        frame_end: left,
    };
    if left < 8 {
        return Err(short("frame header"));
    }
    let mut head = [0u8; 8];
    reader.read_exact(&mut head).map_err(FrameError::Io)?;
    let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
    let frame_len = u64::from(len).saturating_add(8);
    if len > ENTRY_MAX {
        return Err(FrameError::Bad {
            reason: format!("frame claims {len} bytes"),
            frame_end: frame_len.min(left),
        });
    }
    if frame_len > left {
        return Err(short("payload"));
    }
    let mut payload = vec![0u8; len as usize];
    reader.read_exact(&mut payload).map_err(FrameError::Io)?;
    if keccak256(&payload)[..4] != head[4..] {
        return Err(FrameError::Bad {
            reason: "checksum mismatch".into(),
            frame_end: frame_len,
        });
    }
    Ok((payload, frame_len))
}

const TAG_DEPOSIT: u8 = 0;
const TAG_TRANSFER: u8 = 1;
const TAG_WITHDRAWAL: u8 = 2;

fn encode(entry: &JournalEntry) -> Vec<u8> {
    let raw_bytes: usize = entry
        .ops
        .iter()
        .map(|op| match op {
            JournalOp::Deposit { .. } => 100,
            JournalOp::Transfer { raw, .. } | JournalOp::Withdrawal { raw, .. } => {
                raw.len().saturating_add(25)
            }
        })
        .sum();
    let mut out = Vec::with_capacity(raw_bytes.saturating_add(44));
    out.extend_from_slice(&entry.batch_number.to_le_bytes());
    out.extend_from_slice(entry.state_root.as_slice());
    out.extend_from_slice(&(entry.ops.len() as u32).to_le_bytes());
    for op in &entry.ops {
        match op {
            JournalOp::Deposit {
                index,
                l1_sender,
                recipient,
                token,
                amount,
            } => {
                out.push(TAG_DEPOSIT);
                out.extend_from_slice(&index.to_le_bytes());
                out.extend_from_slice(l1_sender.as_slice());
                out.extend_from_slice(recipient.as_slice());
                out.extend_from_slice(&token.to_le_bytes());
                out.extend_from_slice(&amount.to_le_bytes());
            }
            JournalOp::Transfer { from, raw } | JournalOp::Withdrawal { from, raw } => {
                out.push(if matches!(op, JournalOp::Transfer { .. }) {
                    TAG_TRANSFER
                } else {
                    TAG_WITHDRAWAL
                });
                out.extend_from_slice(from.as_slice());
                out.extend_from_slice(&(raw.len() as u32).to_le_bytes());
                out.extend_from_slice(raw);
            }
        }
    }
    out
}

/// A cursor over a checked payload; every read says what was missing.
struct Cursor<'a> {
    bytes: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        if self.bytes.len() < n {
            return Err(format!("entry ends inside {what}"));
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N], String> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    fn address(&mut self, what: &str) -> Result<Address, String> {
        Ok(Address::from(self.array::<20>(what)?))
    }
}

fn decode(payload: &[u8]) -> Result<JournalEntry, String> {
    let mut c = Cursor { bytes: payload };
    let batch_number = u64::from_le_bytes(c.array("batch number")?);
    let state_root = B256::from(c.array::<32>("state root")?);
    let count = u32::from_le_bytes(c.array("op count")?);
    let mut ops = Vec::with_capacity((count as usize).min(payload.len()));
    for _ in 0..count {
        let [tag] = c.array::<1>("op tag")?;
        ops.push(match tag {
            TAG_DEPOSIT => JournalOp::Deposit {
                index: u64::from_le_bytes(c.array("deposit index")?),
                l1_sender: c.address("deposit sender")?,
                recipient: c.address("deposit recipient")?,
                token: u32::from_le_bytes(c.array("deposit token")?),
                amount: u128::from_le_bytes(c.array("deposit amount")?),
            },
            TAG_TRANSFER | TAG_WITHDRAWAL => {
                let from = c.address("signer")?;
                let len = u32::from_le_bytes(c.array("raw length")?) as usize;
                let raw = c.take(len, "raw bytes")?.to_vec();
                if tag == TAG_TRANSFER {
                    JournalOp::Transfer { from, raw }
                } else {
                    JournalOp::Withdrawal { from, raw }
                }
            }
            other => return Err(format!("unknown op tag {other}")),
        });
    }
    if !c.bytes.is_empty() {
        return Err(format!("{} bytes after the last op", c.bytes.len()));
    }
    Ok(JournalEntry {
        batch_number,
        state_root,
        ops,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    fn entry(n: u64) -> JournalEntry {
        JournalEntry {
            batch_number: n,
            state_root: B256::repeat_byte(n as u8),
            ops: vec![
                JournalOp::Deposit {
                    index: n,
                    l1_sender: Address::repeat_byte(1),
                    recipient: Address::repeat_byte(2),
                    token: 4,
                    amount: u128::MAX,
                },
                JournalOp::Transfer {
                    from: Address::repeat_byte(3),
                    raw: vec![7; 120],
                },
                JournalOp::Withdrawal {
                    from: Address::repeat_byte(4),
                    raw: vec![9; 150],
                },
            ],
        }
    }

    fn read_all(path: &Path) -> Result<Vec<JournalEntry>, JournalError> {
        let mut got = Vec::new();
        Journal::open(path, |e| {
            got.push(e);
            Ok::<_, JournalError>(())
        })?;
        Ok(got)
    }

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("gp-journal-{}-{name}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        dir
    }

    #[test]
    fn entries_round_trip_and_a_torn_tail_is_cut() {
        let path = temp("torn");
        let mut j = Journal::open(&path, |_| Ok::<_, JournalError>(())).unwrap();
        for n in 1..=3 {
            j.append(&entry(n)).unwrap();
        }
        drop(j);
        let good_len = std::fs::metadata(&path).unwrap().len();
        // A crash in the middle of the fourth write: half a frame.
        let fourth = encode(&entry(4));
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&(fourth.len() as u32).to_le_bytes()).unwrap();
        f.write_all(&keccak256(&fourth)[..4]).unwrap();
        f.write_all(&fourth[..fourth.len() / 2]).unwrap();
        drop(f);
        assert_eq!(read_all(&path).unwrap(), vec![entry(1), entry(2), entry(3)]);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), good_len);
        // Appending after the cut continues the log.
        let mut j = Journal::open(&path, |_| Ok::<_, JournalError>(())).unwrap();
        assert_eq!(j.entries(), 3);
        j.append(&entry(4)).unwrap();
        assert_eq!(read_all(&path).unwrap().len(), 4);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn damage_before_the_last_frame_is_refused_and_kept() {
        let path = temp("damaged");
        let mut j = Journal::open(&path, |_| Ok::<_, JournalError>(())).unwrap();
        for n in 1..=3 {
            j.append(&entry(n)).unwrap();
        }
        drop(j);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[20] ^= 1; // inside the first payload
        std::fs::write(&path, &bytes).unwrap();
        let err = read_all(&path).unwrap_err();
        assert!(
            matches!(err, JournalError::Damaged { offset: 0, .. }),
            "{err}"
        );
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "nothing was cut");
        std::fs::remove_file(&path).unwrap();
    }
}

//! Library half of the `ghostbridge` command, shared with the end-to-end tests and the load
//! benchmark: the local two-chain devnet, transfers, and status.

pub mod devnet;
pub mod load;
pub mod transfer;

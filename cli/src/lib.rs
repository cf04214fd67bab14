//! Library half of the `ghostbridge` command, shared with the end-to-end tests and the load
//! benchmark: the local two-chain devnet, transfers, status, and GhostPlane (`l2`).

pub mod app_server;
pub mod devnet;
pub mod l2;
pub mod load;
pub mod transfer;

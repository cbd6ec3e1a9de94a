//! dq's modules, as a library so that integration tests and benchmarks can use the store and
//! the renderer directly. The binary is `src/main.rs`.

pub mod announce;
pub mod api;
pub mod cli;
pub mod client;
pub mod cmd;
pub mod config;
pub mod credentials;
pub mod discord;
pub mod event;
pub mod location;
pub mod prometheus;
pub mod render;
pub mod secret;
pub mod server;
pub mod store;
pub mod sync;
pub mod watch;

//! End-to-end tests: the real gateway and the simulator on ephemeral
//! loopback ports, asserting what the client received and what the
//! upstream received.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod accounts;
mod activity;
mod anthropic;
mod byok;
mod cache;
mod chat;
mod common;
mod completions;
mod embeddings;
mod errors;
mod fleet;
mod guardrails;
mod isolation;
mod keys;
mod limits;
mod matrix;
mod messages;
mod native;
mod oauth;
mod openai_client;
mod orgs;
mod params;
mod presets;
mod responses;
mod routing;
mod spend;
mod streaming;
mod transforms;
mod vertex;
mod web;
mod workspaces;

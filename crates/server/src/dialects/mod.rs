//! Inbound APIs other than Chat Completions (Responses, Anthropic Messages,
//! legacy completions): each turns its request into the canonical chat
//! request and writes the answer back as a [`crate::chat::dialect::Dialect`].

pub mod completions;
pub mod messages;
pub mod responses;

//! Cohere v2 chat (in progress).

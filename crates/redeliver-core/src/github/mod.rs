//! GitHub API client (placeholder until written).

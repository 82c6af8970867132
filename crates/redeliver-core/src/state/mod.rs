//! State stores (placeholder until written).

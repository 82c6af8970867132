//! Policy (placeholder).

//! Planner (placeholder).

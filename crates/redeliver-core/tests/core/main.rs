//! Integration tests of redeliver-core, as one binary (one link instead of one per file).

mod github_client;
mod github_clock_skew;
mod network_props;
mod pace_client;
mod postgres_tls;
mod scan_memory;
mod scan_requests;
mod status_filter;
mod tls_ca;

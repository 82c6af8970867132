//! redeliver binary.
fn main() {}

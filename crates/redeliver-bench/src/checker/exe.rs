//! Finding the `redeliver` binary to check: next to this program, or one folder up from a test
//! binary (`target/debug/deps/`), or wherever `REDELIVER_EXE` says.

use anyhow::bail;
use std::path::PathBuf;

/// The `redeliver` binary of this build.
pub fn redeliver_exe() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("REDELIVER_EXE") {
        return Ok(PathBuf::from(path));
    }
    let name = format!("redeliver{}", std::env::consts::EXE_SUFFIX);
    let me = std::env::current_exe()?;
    let candidates: Vec<PathBuf> = me.ancestors().skip(1).take(2).map(|dir| dir.join(&name)).collect();
    match candidates.iter().find(|p| p.is_file()) {
        Some(found) => Ok(found.clone()),
        None => bail!(
            "no redeliver binary next to {} (looked at {candidates:?}): build it first, with\n  \
             cargo build -p redeliver   (add --release next to a release build of the checker)",
            me.display()
        ),
    }
}

//! Why the state's path cannot be used, said about the path rather than as the OS's bare error:
//! a folder where the file should be, a file where a folder should be, a folder this user may
//! not write, a read-only file system; each with what to do about it. An operator who gets
//! `--state` or `REDELIVER_STATE` wrong should not be told to wait for another process.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// What is wrong with a state path, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathProblem {
    /// What is wrong, about the path: "/srv/state is a file, not a folder".
    pub what: String,
    /// What to do: a sentence for the `hint:` line.
    pub fix: String,
}

const ELSEWHERE: &str = "or choose another --state (or REDELIVER_STATE)";

/// Looks at `state` and its folders after creating or opening it failed with `kind`; `None`
/// when nothing about the path explains it (the OS's error is then the best there is).
pub fn diagnose(state: &Path, kind: Option<ErrorKind>) -> Option<PathProblem> {
    if state.is_dir() {
        return Some(PathProblem {
            what: format!("{} is a folder, not a file", state.display()),
            fix: format!("--state names the SQLite file itself, e.g. {}", state.join("state.db").display()),
        });
    }
    let parent = folder_of(state);
    // The nearest folder (or file) on the way that exists.
    let (existing, meta) = std::iter::successors(Some(parent.clone()), |p| p.parent().map(as_folder))
        .find_map(|p| std::fs::metadata(&p).ok().map(|m| (p, m)))?;
    if !meta.is_dir() {
        return Some(PathProblem {
            what: format!(
                "{} is a file, not a folder, so {} cannot be created in it",
                existing.display(),
                state.display()
            ),
            fix: format!("move that file away, {ELSEWHERE}"),
        });
    }
    match kind? {
        ErrorKind::PermissionDenied if existing != parent => Some(PathProblem {
            what: format!(
                "the folder {} does not exist, and this user may not create it in {}{}",
                parent.display(),
                existing.display(),
                owner(&existing)
            ),
            fix: format!(
                "create it for this user (sudo install -d -o \"$(id -un)\" {}), {ELSEWHERE}",
                parent.display()
            ),
        }),
        ErrorKind::PermissionDenied if state.exists() => Some(PathProblem {
            what: format!("this user may not write {}{}", state.display(), owner(state)),
            fix: format!(
                "run redeliver as the user who owns it, or give this user write access to it (chown), {ELSEWHERE}"
            ),
        }),
        ErrorKind::PermissionDenied => Some(PathProblem {
            what: format!("this user may not create files in {}{}", parent.display(), owner(&parent)),
            fix: format!(
                "run redeliver as the user who owns that folder, or give this user write access to it (chown), {ELSEWHERE}"
            ),
        }),
        ErrorKind::ReadOnlyFilesystem => Some(PathProblem {
            what: format!("{} is on a read-only file system", existing.display()),
            fix: format!("put the state on a writable one (a volume, in a container), {ELSEWHERE}"),
        }),
        _ => None,
    }
}

/// The folder a file goes in: `.` for a bare file name.
fn folder_of(path: &Path) -> PathBuf {
    path.parent().map(as_folder).unwrap_or_else(|| PathBuf::from("."))
}

fn as_folder(p: &Path) -> PathBuf {
    if p.as_os_str().is_empty() { PathBuf::from(".") } else { p.to_path_buf() }
}

/// " (owned by uid 0, mode 0755)", when it can be read.
fn owner(path: &Path) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let Ok(meta) = std::fs::metadata(path) {
            return format!(" (owned by uid {}, mode {:04o})", meta.uid(), meta.mode() & 0o7777);
        }
    }
    let _ = path;
    String::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_where_the_file_should_be_and_a_file_where_a_folder_should_be() {
        let dir = tempfile::tempdir().unwrap();
        let folder = diagnose(dir.path(), None).unwrap();
        assert!(folder.what.ends_with("is a folder, not a file"), "{folder:?}");
        assert!(folder.fix.contains("state.db"), "{folder:?}");

        let file = dir.path().join("afile");
        std::fs::write(&file, "").unwrap();
        for under in [file.join("state.db"), file.join("deeper/state.db")] {
            let p = diagnose(&under, Some(ErrorKind::AlreadyExists)).unwrap();
            assert_eq!(
                p.what,
                format!("{} is a file, not a folder, so {} cannot be created in it", file.display(), under.display())
            );
            assert!(p.fix.starts_with("move that file away, or choose another --state"), "{p:?}");
        }
    }

    /// The permission cases are told apart by the path; the error kind comes as the OS gave it
    /// (this test may run as root, whom no mode stops).
    #[test]
    fn no_permission_says_which_folder_and_whose_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let denied = Some(ErrorKind::PermissionDenied);
        let in_folder = diagnose(&dir.path().join("state.db"), denied).unwrap();
        assert!(
            in_folder
                .what
                .starts_with(&format!("this user may not create files in {} (owned by uid", dir.path().display())),
            "{in_folder:?}"
        );
        assert!(in_folder.fix.contains("chown"), "{in_folder:?}");

        let missing = dir.path().join("a/b/state.db");
        let parent_missing = diagnose(&missing, denied).unwrap();
        assert!(
            parent_missing.what.starts_with(&format!(
                "the folder {} does not exist, and this user may not create it in {}",
                dir.path().join("a/b").display(),
                dir.path().display()
            )),
            "{parent_missing:?}"
        );
        assert!(parent_missing.fix.contains("install -d"), "{parent_missing:?}");

        let existing = dir.path().join("state.db");
        std::fs::write(&existing, "").unwrap();
        let file = diagnose(&existing, denied).unwrap();
        assert!(file.what.starts_with(&format!("this user may not write {}", existing.display())), "{file:?}");

        let read_only = diagnose(&dir.path().join("x.db"), Some(ErrorKind::ReadOnlyFilesystem)).unwrap();
        assert!(read_only.what.ends_with("is on a read-only file system"), "{read_only:?}");
        assert_eq!(diagnose(&dir.path().join("x.db"), Some(ErrorKind::Other)), None, "nothing to say about the path");
        assert_eq!(diagnose(Path::new("plain.db"), None), None);
    }
}

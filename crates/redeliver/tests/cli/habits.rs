//! The command line's habits, as a shell user meets them: completions that a real bash loads and
//! answers with, a manual page that groff renders, each command's `--help` listing only its own
//! flags, and a flag that belongs to another command refused as a usage error (exit 2).

use std::path::Path;
use std::process::{Command, Output};

fn redeliver(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_redeliver"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .output()
        .expect("the binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs `script` in a non-interactive bash after sourcing the completion script from `file`;
/// returns what it printed.
fn in_bash(file: &Path, script: &str) -> String {
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &format!("source '{}'\n{script}", file.display())])
        .output()
        .expect("bash runs (it is on every Debian machine)");
    assert!(out.status.success(), "bash failed: {}", stderr(&out));
    stdout(&out)
}

#[test]
fn the_bash_completion_loads_and_completes_commands_and_each_commands_own_flags() {
    let out = redeliver(&["completions", "bash"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("redeliver.bash");
    std::fs::write(&file, &out.stdout).unwrap();

    let registered = in_bash(&file, "complete -p redeliver");
    assert!(registered.contains("-F _redeliver redeliver"), "{registered}");

    // What bash does on `redeliver wa<TAB>`: the function gets (command, word, previous word).
    let command = in_bash(
        &file,
        "COMP_WORDS=(redeliver wa); COMP_CWORD=1; _redeliver redeliver wa redeliver\necho \"${COMPREPLY[*]}\"",
    );
    assert_eq!(command.trim(), "watch");

    // `redeliver watch --li<TAB>`: watch's own flags; `run`'s `--since` is never offered to it.
    let flags = |words: &str, cword: usize, cur: &str, prev: &str| {
        in_bash(
            &file,
            &format!(
                "COMP_WORDS=({words}); COMP_CWORD={cword}; _redeliver redeliver {cur} {prev}\necho \"${{COMPREPLY[*]}}\""
            ),
        )
    };
    let listen = flags("redeliver watch --li", 2, "--li", "watch");
    assert_eq!(listen.split_whitespace().collect::<Vec<_>>(), ["--list-deadline", "--listen"]);
    let all_of_watch = flags("redeliver watch --", 2, "--", "watch");
    assert!(all_of_watch.contains("--interval") && all_of_watch.contains("--dry-run"), "{all_of_watch}");
    assert!(!all_of_watch.contains("--since") && !all_of_watch.contains("--json"), "{all_of_watch}");
    let check = flags("redeliver check --", 2, "--", "check");
    assert!(check.contains("--json") && check.contains("--app-id"), "{check}");
    assert!(!check.contains("--dry-run") && !check.contains("--ladder"), "{check}");
}

#[test]
fn every_shell_gets_a_completion_script_naming_the_commands() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = redeliver(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        for command in ["run", "watch", "check", "history", "completions"] {
            assert!(script.contains(command), "{shell} script lacks {command}");
        }
    }
    let out = redeliver(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2), "an unknown shell is a usage error");
}

/// Renders a roff page with groff (Debian's groff-base, which man-db depends on); returns the
/// text and fails on any warning groff gives.
fn render(page: &Path) -> String {
    let out = Command::new("groff")
        .args(["-man", "-Tutf8", "-P-cbou", "-ww"])
        .arg(page)
        .output()
        .expect("groff runs (Debian's groff-base; .ci/install-test-deps installs it)");
    assert!(out.status.success() && out.stderr.is_empty(), "groff: {}", stderr(&out));
    stdout(&out)
}

#[test]
fn the_manual_page_renders_and_a_page_per_command_is_written_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let out = redeliver(&["man"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let page = dir.path().join("printed.1");
    std::fs::write(&page, &out.stdout).unwrap();
    let text = render(&page);
    for needle in ["NAME", "SYNOPSIS", "SUBCOMMANDS", "redeliver-watch(1)", "Exit status:"] {
        assert!(text.contains(needle), "the page lacks {needle}:\n{text}");
    }

    let pages = dir.path().join("man1");
    let out = redeliver(&["man", "--dir", pages.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let watch = render(&pages.join("redeliver-watch.1"));
    assert!(watch.contains("--interval") && watch.contains("--listen"), "{watch}");
    assert!(!watch.contains("--since"), "watch's page lists run's flags:\n{watch}");
    for command in ["run", "check", "history", "export", "replay", "sim", "demo", "completions", "man"] {
        assert!(pages.join(format!("redeliver-{command}.1")).is_file(), "no page for {command}");
    }

    // `man -l`, as an operator reads a page that is not installed, where man-db is there.
    if Command::new("man").arg("--version").output().is_ok_and(|o| o.status.success()) {
        let out = Command::new("man")
            .args(["-l", "-P", "cat"])
            .arg(pages.join("redeliver-run.1"))
            .env("MANWIDTH", "100")
            .output()
            .unwrap();
        assert!(out.status.success(), "man -l: {}", stderr(&out));
        assert!(stdout(&out).contains("--since"), "{}", stdout(&out));
    }
}

/// A flag of another command, for each command: refused before anything runs.
const FOREIGN: &[(&str, &[&str])] = &[
    ("run", &["--interval", "1m"]),
    ("run", &["--listen", "off"]),
    ("run", &["--notify-url", "http://127.0.0.1:1/"]),
    ("watch", &["--since", "1h"]),
    ("watch", &["--until", "1h"]),
    ("watch", &["--json"]),
    ("check", &["--since", "1h"]),
    ("check", &["--dry-run"]),
    ("check", &["--ladder", "1m"]),
    ("check", &["--state", "x.db"]),
    ("check", &["--interval", "1m"]),
    ("history", &["--dry-run"]),
    ("history", &["--app-id", "1"]),
    ("export", &["--json"]),
    ("export", &["--ladder", "1m"]),
    ("export", &["--dry-run"]),
    ("replay", &["--app-id", "1"]),
    ("sim", &["--state", "x.db"]),
    ("demo", &["--json"]),
    ("completions", &["--json", "bash"]),
    ("man", &["--state", "x.db"]),
];

#[test]
fn a_flag_another_command_takes_is_a_usage_error() {
    for (command, flag) in FOREIGN {
        let out = redeliver(&[&[*command], *flag].concat());
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{command} {flag:?} was accepted: {err}");
        assert!(err.contains(&format!("unexpected argument '{}'", flag[0])), "{command} {flag:?}: {err}");
        assert!(out.stdout.is_empty(), "{command} {flag:?} printed data");
    }
}

/// A config file's target is a whole identity: a one-target flag beside `--config` would be
/// ignored, so it is refused.
#[test]
fn a_one_target_flag_beside_config_is_a_usage_error() {
    for command in ["run", "watch", "check"] {
        for flag in [
            &["--app-id", "1"][..],
            &["--hook-id", "5"],
            &["--private-key-file", "k.pem"],
            &["--api-url", "http://127.0.0.1:1"],
            &["--variable", "LAST_RUN"],
            &["--variable-repo", "o/r"],
            &["--repo", "o/r"],
            &["--org", "o"],
        ] {
            let out = redeliver(&[&[command, "--config", "redeliver.toml"], flag].concat());
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{command} --config {flag:?}: {err}");
            assert!(err.contains("cannot be used with"), "{command} --config {flag:?}: {err}");
        }
    }
}

#[test]
fn each_commands_help_lists_only_the_flags_it_takes() {
    let help = |command: &str| {
        let out = redeliver(&[command, "--help"]);
        assert_eq!(out.status.code(), Some(0));
        stdout(&out)
    };
    let lists = |text: &str, flag: &str| text.contains(&format!("{flag} ")) || text.contains(&format!("{flag}\n"));
    let run = help("run");
    for flag in ["--since", "--until", "--json", "--dry-run", "--ladder", "--state", "--app-id", "--variable"] {
        assert!(lists(&run, flag), "run --help lacks {flag}");
    }
    let watch = help("watch");
    for flag in ["--interval", "--listen", "--dry-run", "--ladder", "--state", "--app-id"] {
        assert!(lists(&watch, flag), "watch --help lacks {flag}");
    }
    for flag in ["--since", "--until", "--json"] {
        assert!(!lists(&watch, flag), "watch --help lists {flag}");
    }
    let check = help("check");
    for flag in ["--json", "--app-id", "--config", "--variable"] {
        assert!(lists(&check, flag), "check --help lacks {flag}");
    }
    for flag in ["--since", "--dry-run", "--ladder", "--state", "--max-redeliveries", "--interval"] {
        assert!(!lists(&check, flag), "check --help lists {flag}");
    }
}

//! See the crate docs: each test is one invariant, and each failure names the files that break it.

use coffer_tidy::{files_with_ext, rel, workspace_members, workspace_root};

/// Source files longer than this are split: a file holds one idea.
const MAX_LINES: usize = 800;

fn fail_if_any(what: &str, offenders: Vec<String>) {
    assert!(offenders.is_empty(), "{what}:\n  {}", offenders.join("\n  "));
}

#[test]
fn every_crate_root_forbids_unsafe() {
    let root = workspace_root();
    let mut bad = Vec::new();
    for member in workspace_members(&root) {
        for file in ["src/lib.rs", "src/main.rs"] {
            let path = root.join(&member).join(file);
            if let Ok(text) = std::fs::read_to_string(&path) {
                if !text.contains("#![forbid(unsafe_code)]") {
                    bad.push(rel(&root, &path));
                }
            }
        }
    }
    fail_if_any("crate roots without #![forbid(unsafe_code)]", bad);
}

#[test]
fn every_library_has_a_crate_doc() {
    let root = workspace_root();
    let bad = workspace_members(&root)
        .into_iter()
        .map(|m| root.join(m).join("src/lib.rs"))
        .filter(|p| std::fs::read_to_string(p).is_ok_and(|t| !t.trim_start().starts_with("//!")))
        .map(|p| rel(&root, &p))
        .collect();
    fail_if_any(
        "libraries whose lib.rs does not start with a //! doc saying what the crate is for",
        bad,
    );
}

#[test]
fn source_files_stay_small() {
    let root = workspace_root();
    let bad = files_with_ext(&root, ".rs")
        .into_iter()
        .filter_map(|p| {
            let n = std::fs::read_to_string(&p).ok()?.lines().count();
            (n > MAX_LINES).then(|| format!("{} ({n} lines > {MAX_LINES})", rel(&root, &p)))
        })
        .collect();
    fail_if_any("files too long: split them by idea", bad);
}

/// **Architecture Invariant**: core logic knows nothing of HTTP or SQL, so it can be tested and
/// reused (console, API, agent) without a server.
#[test]
fn core_layers_do_not_depend_on_transport() {
    let root = workspace_root();
    let rules: &[(&str, &[&str])] = &[
        ("control-plane/src/domain", &["axum", "http::", "sqlx", "hyper"]),
        ("data-plane/server/src/core", &["axum", "hyper", "http::"]),
        ("data-plane/barrier/src", &["axum", "hyper", "http::", "tokio"]),
        ("data-plane/acl/src", &["axum", "hyper", "http::", "tokio"]),
        ("data-plane/transit/src", &["axum", "hyper", "http::", "tokio"]),
    ];
    let mut bad = Vec::new();
    for (dir, banned) in rules {
        for file in files_with_ext(&root.join(dir), ".rs") {
            let text = std::fs::read_to_string(&file).unwrap_or_default();
            for word in *banned {
                if text.lines().any(|l| !l.trim_start().starts_with("//") && l.contains(word)) {
                    bad.push(format!("{} uses `{word}`", rel(&root, &file)));
                }
            }
        }
    }
    fail_if_any("core modules that reach for transport or database types", bad);
}

/// Tests bind port 0 or ask the OS for a free port; a fixed port makes parallel runs flaky.
/// A literal that is only data (a URL being parsed, never dialled) carries `tidy: not-a-port`.
#[test]
fn tests_use_no_fixed_ports() {
    let root = workspace_root();
    let mut bad = Vec::new();
    let test_files = files_with_ext(&root, ".rs")
        .into_iter()
        .chain(files_with_ext(&root, ".py"))
        .filter(|p| p.components().any(|c| c.as_os_str() == "tests"));
    for file in test_files {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for (i, line) in text.lines().enumerate() {
            if line.contains("tidy: not-a-port") {
                continue;
            }
            if let Some(pos) = line.find("127.0.0.1:") {
                let port: String =
                    line[pos + 10..].chars().take_while(char::is_ascii_digit).collect();
                if !port.is_empty() && port != "0" {
                    bad.push(format!("{}:{}: {}", rel(&root, &file), i + 1, line.trim()));
                }
            }
        }
    }
    fail_if_any("tests with a fixed port", bad);
}

/// ARCHITECTURE.md's code map names every crate, so a newcomer finds each one.
#[test]
fn architecture_doc_maps_every_crate() {
    let root = workspace_root();
    let doc = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap_or_default();
    let bad = workspace_members(&root)
        .into_iter()
        .filter(|m| !doc.contains(&format!("`{m}/`")))
        .collect();
    fail_if_any("crates missing from ARCHITECTURE.md's code map (write them as `path/`)", bad);
}

/// The README opens with the two commands, and CI runs the same one a developer does.
#[test]
fn the_two_commands_are_documented_and_run_by_ci() {
    let root = workspace_root();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap_or_default();
    let head: String = readme.lines().take(15).collect::<Vec<_>>().join("\n");
    assert!(
        head.contains("./dev up") && head.contains("./dev test"),
        "README must open with ./dev up and ./dev test"
    );
    let ci = std::fs::read_to_string(root.join(".ci/run")).unwrap_or_default();
    assert!(ci.contains("./dev test"), ".ci/run must call ./dev test");
}

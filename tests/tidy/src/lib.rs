//! Repository-wide style checks, run by `cargo test` like any other test (rust-analyzer's "tidy").
//!
//! They guard the invariants that ARCHITECTURE.md states in bold, so a change that breaks one fails
//! CI with a message naming the file, instead of relying on review to notice.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap_or_default()
}

/// Every file below `dir` whose name ends with `ext`, skipping build output and dependencies.
pub fn files_with_ext(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if path.is_dir() {
                if !matches!(
                    name.as_ref(),
                    "target" | ".git" | ".dev" | "node_modules" | "__pycache__"
                ) {
                    stack.push(path);
                }
            } else if name.ends_with(ext) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// Workspace members as listed in the root Cargo.toml.
pub fn workspace_members(root: &Path) -> Vec<String> {
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap_or_default();
    let Some(start) = manifest.find("members = [") else { return Vec::new() };
    let rest = &manifest[start..];
    let end = rest.find(']').unwrap_or(rest.len());
    rest[..end].split('"').skip(1).step_by(2).map(str::to_owned).collect()
}

/// Path relative to the workspace root, for messages.
pub fn rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

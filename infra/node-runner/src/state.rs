//! `nodes.json`: which node runs where, for tests, humans and the next runner start.
//!
//! The file is rewritten whole and atomically (temporary file, fsync, rename) on every change,
//! so a reader never sees half a document and a crash leaves either the old or the new one.
//! It is also the runner's memory across restarts: a node keeps its loopback address.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeState {
    /// The agent process is running (or being started again after it exited).
    Running,
    /// No process: the instance is not running, or the runner stopped.
    Stopped,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRecord {
    pub instance_id: String,
    pub cluster_id: String,
    pub region: String,
    /// `127.A.B.C:PORT`, the server's listener.
    pub address: String,
    /// `http://127.A.B.C:PORT`, what the agent advertises (the node's Vault API).
    pub api_url: String,
    pub agent_pid: Option<u32>,
    /// The agent's `coffer-server` child, when the runner has seen it.
    #[serde(default)]
    pub server_pid: Option<u32>,
    pub data_dir: PathBuf,
    pub state: NodeState,
    /// Times the agent was started again after it exited on its own.
    pub restarts: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodesFile {
    pub nodes: Vec<NodeRecord>,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot {op} {path}: {source}")]
    Io { op: &'static str, path: PathBuf, source: std::io::Error },
    #[error("{path} is not a nodes file: {source}")]
    Parse { path: PathBuf, source: serde_json::Error },
}

fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> StateError + 'a {
    move |source| StateError::Io { op, path: path.to_owned(), source }
}

/// The saved nodes; an empty list when the file does not exist yet.
pub fn load(path: &Path) -> Result<NodesFile, StateError> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|source| StateError::Parse { path: path.to_owned(), source }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(NodesFile::default()),
        Err(e) => Err(io("read", path)(e)),
    }
}

/// The document's shape over borrowed records: rendering every poll must not copy them.
#[derive(Serialize)]
struct NodesView<'a> {
    nodes: Vec<&'a NodeRecord>,
}

/// Serialised form, so callers can skip writing an unchanged document.
pub fn render<'a>(nodes: impl IntoIterator<Item = &'a NodeRecord>) -> Vec<u8> {
    let view = NodesView { nodes: nodes.into_iter().collect() };
    // Strings, numbers and paths always serialise; paths are valid UTF-8 here because the
    // runner builds them from its own UTF-8 arguments.
    let mut out = serde_json::to_vec_pretty(&view).unwrap_or_default();
    out.push(b'\n');
    out
}

/// Replaces `path` with `bytes` atomically.
pub fn save(path: &Path, bytes: &[u8]) -> Result<(), StateError> {
    let tmp = path.with_extension("json.tmp");
    let mut f = fs::File::create(&tmp).map_err(io("create", &tmp))?;
    f.write_all(bytes).map_err(io("write", &tmp))?;
    f.sync_all().map_err(io("sync", &tmp))?;
    fs::rename(&tmp, path).map_err(io("rename", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, state: NodeState) -> NodeRecord {
        NodeRecord {
            instance_id: id.to_owned(),
            cluster_id: "c".to_owned(),
            region: "us-east-1".to_owned(),
            address: "127.2.3.4:8200".to_owned(),
            api_url: "http://127.2.3.4:8200".to_owned(),
            agent_pid: Some(42),
            server_pid: None,
            data_dir: PathBuf::from("/s/nodes").join(id),
            state,
            restarts: 3,
        }
    }

    #[test]
    fn save_then_load_round_trips_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nodes.json");
        assert_eq!(load(&path).unwrap(), NodesFile::default(), "missing file: no nodes");
        let file = NodesFile {
            nodes: vec![record("i-1", NodeState::Running), record("i-2", NodeState::Stopped)],
        };
        save(&path, &render(&file.nodes)).unwrap();
        assert_eq!(load(&path).unwrap(), file);
        let names: Vec<_> =
            fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["nodes.json"]);
        let raw: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(raw["nodes"][1]["state"], "stopped");
        assert_eq!(raw["nodes"][0]["agent_pid"], 42);
    }

    #[test]
    fn a_corrupt_file_is_an_error_not_an_empty_list() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nodes.json");
        fs::write(&path, b"{\"nodes\": [").unwrap();
        assert!(matches!(load(&path), Err(StateError::Parse { .. })));
    }
}

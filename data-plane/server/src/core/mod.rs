//! The server core: seal state, mount tables, token store, policy store, and request handling
//! — everything between "a request arrived" and "a response leaves" that is not HTTP. Handlers
//! are synchronous (the barrier is synchronous); the HTTP layer decides which thread runs them.

pub mod error;
pub mod metrics;
pub mod mounts;
pub mod policy;
pub mod request;
pub mod router;
pub mod seal;
pub mod storage;
pub mod wrapping;

use crate::auth::token::store::NewToken;
use crate::auth::token::TokenStore;
use coffer_barrier::{Barrier, RootKey, Store};
use error::{CoreError, CoreResult};
use mounts::{MountEntry, MountTable};
use policy::PolicyStore;
use seal::{InitResult, SealManager, UnsealOutcome};
use serde::{Deserialize, Serialize};
use std::sync::RwLock;
use zeroize::Zeroizing;

/// The Vault API level implemented, with coffer's own version as build metadata: clients
/// (terraform-provider-vault) gate features on the Vault version they see.
pub const VERSION: &str = concat!("1.17.0+coffer.", env!("CARGO_PKG_VERSION"));

/// Settings the core needs from the server config.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    pub default_lease_ttl: u64,
    pub max_lease_ttl: u64,
    pub cluster_name: Option<String>,
    pub storage_type: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterInfo {
    pub name: String,
    pub id: String,
}

pub struct Core {
    pub barrier: Barrier,
    pub seal: SealManager,
    pub mounts: MountTable,
    pub auth_mounts: MountTable,
    pub tokens: TokenStore,
    pub policies: PolicyStore,
    pub config: CoreConfig,
    /// Compiled transit keys (per mount), dropped on seal.
    pub transit: crate::engines::transit::KeyCache,
    pub metrics: metrics::Metrics,
    /// Enabled audit devices (reopened on unseal, closed on seal).
    pub audit: crate::audit::Broker,
    /// Rendered KV v2 reads (hold secret data: cleared on seal and restore).
    pub kv_memo: crate::engines::kv::v2_memo::RenderMemo,
    /// The in-progress sys/generate-root attempt.
    pub generate_root: crate::sys::generate_root::GenerateRoot,
    cluster: RwLock<Option<ClusterInfo>>,
}

const CLUSTER_KEY: &str = "core/cluster";
/// The recovery key under an auto-seal (inside the barrier).
pub const RECOVERY_KEY: &str = "core/recovery-key";

impl Core {
    pub fn new(store: Store, config: CoreConfig) -> Core {
        Core {
            barrier: Barrier::new(store),
            seal: SealManager::default(),
            mounts: MountTable::new("core/mounts"),
            auth_mounts: MountTable::new("core/auth"),
            tokens: TokenStore::new(config.default_lease_ttl, config.max_lease_ttl),
            policies: PolicyStore::default(),
            config,
            transit: Default::default(),
            metrics: Default::default(),
            audit: Default::default(),
            generate_root: Default::default(),
            kv_memo: Default::default(),
            cluster: RwLock::new(None),
        }
    }

    pub fn is_sealed(&self) -> bool {
        self.barrier.is_sealed()
    }

    pub fn is_initialized(&self) -> CoreResult<bool> {
        Ok(self.barrier.is_initialized()?)
    }

    pub fn cluster(&self) -> Option<ClusterInfo> {
        self.cluster.read().ok().and_then(|g| g.clone())
    }

    /// Initialises storage: root key, key shares, default mounts and a root token. Leaves the
    /// barrier sealed, as Vault does.
    pub fn initialize(&self, shares: u64, threshold: u64) -> CoreResult<(InitResult, String)> {
        let (init, root) = self.seal.initialize(&self.barrier, shares, threshold)?;
        let token = self.with_unsealed(&root, |core| core.create_root_token(None))?;
        Ok((init, token))
    }

    /// Initialisation under an auto-seal: returns recovery shares and the root token, and
    /// leaves the server unsealed (as Vault does with auto-unseal).
    pub fn initialize_auto(&self, shares: u64, threshold: u64) -> CoreResult<(InitResult, String)> {
        let (init, recovery_key, root) =
            self.seal.initialize_auto(&self.barrier, shares, threshold)?;
        self.barrier.unseal(&root)?;
        self.seal.remember_root(root);
        let setup = self.post_unseal().and_then(|()| {
            self.barrier.put(RECOVERY_KEY, &recovery_key)?;
            self.create_root_token(None)
        });
        match setup {
            Ok(token) => Ok((init, token)),
            Err(e) => {
                self.seal();
                Err(e)
            }
        }
    }

    /// Unseals through the auto-seal (startup, or `sys/unseal` under an auto-seal).
    pub fn auto_unseal(&self) -> CoreResult<UnsealOutcome> {
        let out = self.seal.auto_unseal(&self.barrier)?;
        if out == UnsealOutcome::Unsealed {
            if let Err(e) = self.post_unseal() {
                self.seal();
                return Err(e);
            }
            tracing::info!("vault is unsealed (auto-unseal)");
        }
        Ok(out)
    }

    /// Runs `f` with the barrier unsealed by `root`, then seals again.
    fn with_unsealed<T>(
        &self,
        root: &RootKey,
        f: impl FnOnce(&Core) -> CoreResult<T>,
    ) -> CoreResult<T> {
        self.barrier.unseal(root)?;
        let result = self.post_unseal().and_then(|()| f(self));
        self.seal();
        result
    }

    /// Dev mode: initialise with one share, unseal, mount `secret/` as KV v2, root token with
    /// the requested id. Returns (unseal key, root token).
    pub fn dev_setup(
        &self,
        root_token_id: Option<String>,
    ) -> CoreResult<(Zeroizing<Vec<u8>>, String)> {
        let (init, root) = self.seal.initialize(&self.barrier, 1, 1)?;
        self.barrier.unseal(&root)?;
        self.seal.remember_root(root);
        self.post_unseal()?;
        let token = self.create_root_token(root_token_id)?;
        let mut kv = MountEntry::new("secret/", "kv", "key/value secret storage", "kv");
        kv.options.insert("version".into(), "2".into());
        self.mount(kv)?;
        let key = init.shares.into_iter().next().ok_or_else(|| CoreError::internal("no share"))?;
        Ok((key, token))
    }

    fn create_root_token(&self, id: Option<String>) -> CoreResult<String> {
        let (id, _) = self.tokens.create(
            &self.barrier,
            NewToken {
                id,
                policies: vec!["root".into()],
                display_name: "root".into(),
                path: "auth/token/root".into(),
                ..Default::default()
            },
        )?;
        Ok(id)
    }

    /// Submits one unseal key share.
    pub fn unseal(&self, share: Zeroizing<Vec<u8>>) -> CoreResult<UnsealOutcome> {
        let out = self.seal.submit(&self.barrier, share)?;
        if out == UnsealOutcome::Unsealed {
            if let Err(e) = self.post_unseal() {
                self.seal();
                return Err(e);
            }
            tracing::info!("vault is unsealed");
        }
        Ok(out)
    }

    pub fn seal(&self) {
        self.barrier.seal();
        self.seal.forget_root();
        self.tokens.clear();
        self.policies.clear();
        self.transit.clear();
        self.kv_memo.clear();
        self.mounts.replace(Vec::new());
        self.auth_mounts.replace(Vec::new());
        self.audit.clear();
        self.generate_root.reset();
        if let Ok(mut g) = self.cluster.write() {
            *g = None;
        }
    }

    /// Replaces all data with a snapshot (verified by the barrier first; a bad snapshot changes
    /// nothing), then reopens the barrier with the in-memory root key and reloads every cache.
    /// A snapshot from another cluster leaves the server sealed.
    pub fn restore(&self, input: &mut dyn std::io::Read) -> CoreResult<()> {
        match self.barrier.restore(input) {
            Ok(()) => {}
            Err(coffer_barrier::BarrierError::Snapshot(e)) => {
                return Err(CoreError::bad(format!("invalid snapshot: {e}")))
            }
            Err(e) => return Err(e.into()),
        }
        self.tokens.clear();
        self.policies.clear();
        self.transit.clear();
        self.kv_memo.clear();
        match self.seal.reopen(&self.barrier) {
            Ok(()) => self.post_unseal(),
            Err(CoreError::Sealed) => {
                tracing::warn!(
                    "restored snapshot is not unsealable with the current root key; sealed"
                );
                self.seal();
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Loads (or, on first unseal, creates) the mount tables and cluster identity.
    fn post_unseal(&self) -> CoreResult<()> {
        let cluster = match self.barrier.get(CLUSTER_KEY)? {
            Some(b) => serde_json::from_slice(&b)?,
            None => {
                let id = crate::util::ids::uuid();
                let info = ClusterInfo {
                    name: self
                        .config
                        .cluster_name
                        .clone()
                        .unwrap_or_else(|| format!("vault-cluster-{}", &id[..8])),
                    id,
                };
                self.barrier.put(CLUSTER_KEY, &serde_json::to_vec(&info)?)?;
                info
            }
        };
        if let Ok(mut g) = self.cluster.write() {
            *g = Some(cluster);
        }
        self.load_table(&self.mounts, || {
            vec![
                MountEntry::new(
                    "cubbyhole/",
                    "cubbyhole",
                    "per-token private secret storage",
                    "cubbyhole",
                ),
                MountEntry::new(
                    "sys/",
                    "system",
                    "system endpoints used for control, policy and debugging",
                    "system",
                ),
                MountEntry::new("identity/", "identity", "identity store", "identity"),
            ]
        })?;
        self.load_table(&self.auth_mounts, || {
            vec![MountEntry::new("token/", "token", "token based credentials", "auth_token")]
        })?;
        self.audit.load(&self.barrier)?;
        Ok(())
    }

    fn load_table(
        &self,
        table: &MountTable,
        defaults: impl FnOnce() -> Vec<MountEntry>,
    ) -> CoreResult<()> {
        let entries = match self.barrier.get(table.storage_key)? {
            Some(b) => serde_json::from_slice(&b)?,
            None => {
                let d = defaults();
                self.barrier.put(table.storage_key, &serde_json::to_vec(&d)?)?;
                d
            }
        };
        table.replace(entries);
        Ok(())
    }

    /// Adds a secrets-engine mount (persisted).
    pub fn mount(&self, entry: MountEntry) -> CoreResult<()> {
        Self::add_to_table(&self.barrier, &self.mounts, entry)
    }

    pub fn add_to_table(
        barrier: &Barrier,
        table: &MountTable,
        entry: MountEntry,
    ) -> CoreResult<()> {
        let _guard = table.lock_edit();
        let current = table.snapshot();
        if current.iter().any(|e| {
            e.path.starts_with(entry.path.as_str()) || entry.path.starts_with(e.path.as_str())
        }) {
            return Err(CoreError::bad(format!("path is already in use at {}", entry.path)));
        }
        let mut next = current.as_ref().clone();
        next.push(entry);
        barrier.put(table.storage_key, &serde_json::to_vec(&next)?)?;
        table.replace(next);
        Ok(())
    }

    /// Replaces a table after an edit (tune, remove).
    pub fn save_table(&self, table: &MountTable, entries: Vec<MountEntry>) -> CoreResult<()> {
        self.barrier.put(table.storage_key, &serde_json::to_vec(&entries)?)?;
        table.replace(entries);
        Ok(())
    }
}

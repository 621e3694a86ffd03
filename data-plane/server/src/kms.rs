//! Bridges coffer-kms-seal (async AWS SDK) to the core's synchronous [`AutoSeal`] trait. The
//! core only calls it from blocking threads (init/unseal run on the blocking pool; startup
//! auto-unseal is spawned there), where `Handle::block_on` is allowed.

use crate::config::SealConfig;
use crate::core::seal::AutoSeal;
use coffer_barrier::RootKey;
use coffer_kms_seal::{KmsSeal, KmsSealConfig};
use tokio::runtime::Handle;

pub struct KmsAutoSeal {
    seal: KmsSeal,
    handle: Handle,
}

impl KmsAutoSeal {
    /// Builds the KMS client from the config stanza (plus Vault's environment fallbacks). No
    /// AWS call is made here.
    pub async fn from_config(cfg: &SealConfig) -> Result<KmsAutoSeal, String> {
        let SealConfig::AwsKms { stanza } = cfg;
        let kms_cfg =
            KmsSealConfig::from_vault_stanza(|k| stanza.get(k).cloned(), |k| std::env::var(k).ok())
                .map_err(|e| e.to_string())?;
        let seal = KmsSeal::new(kms_cfg).await.map_err(|e| e.to_string())?;
        Ok(KmsAutoSeal { seal, handle: Handle::current() })
    }
}

impl AutoSeal for KmsAutoSeal {
    fn kind(&self) -> &'static str {
        "awskms"
    }

    fn wrap(&self, root: &RootKey) -> Result<Vec<u8>, String> {
        self.handle.block_on(self.seal.wrap(root)).map_err(|e| e.to_string())
    }

    fn unwrap(&self, blob: &[u8]) -> Result<RootKey, String> {
        self.handle.block_on(self.seal.unwrap(blob)).map_err(|e| e.to_string())
    }
}

//! One test's world: its own database, the shared moto server, SDK clients for its region.

use sqlx::PgPool;

use super::aws::Aws;
use super::process::{CpConfig, CpProcess};
use super::{db, moto};

pub struct TestEnv {
    pub db_url: String,
    /// Direct access to this test's database.
    pub db: PgPool,
    pub moto: String,
    pub aws: Aws,
}

impl TestEnv {
    pub async fn new(region: &str) -> TestEnv {
        let (db_url, db) = db::fresh().await;
        let moto = moto::url().await;
        let aws = Aws::new(&moto, region).await;
        TestEnv { db_url, db, moto, aws }
    }

    /// Control-plane settings for this database, AWS calls going straight to moto.
    pub fn config(&self) -> CpConfig {
        CpConfig::new(&self.db_url, &self.moto)
    }

    /// Starts a control plane and seeds the image catalog for this region once it has
    /// migrated the database (the catalog is per deployment, empty by default).
    pub async fn start(&self, config: &CpConfig) -> CpProcess {
        let cp = CpProcess::start(config).await;
        let image = self.aws.any_image().await;
        db::put_image(&self.db, &self.aws.region, &image).await;
        cp
    }
}

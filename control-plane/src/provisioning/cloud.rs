//! Builds the AWS [`Cloud`] from the `[provisioning.aws]` settings.

use std::sync::Arc;

use coffer_cloud::{AwsCloud, AwsSettings, Cloud, CredentialSource};

use super::settings::AwsConnectSettings;

pub async fn aws_cloud(s: &AwsConnectSettings) -> Arc<dyn Cloud> {
    Arc::new(aws(s).await)
}

/// The concrete client, for users of its other interfaces (e.g. `ObjectStore`).
pub async fn aws(s: &AwsConnectSettings) -> AwsCloud {
    let credentials = match (&s.access_key_id, &s.secret_access_key) {
        (Some(id), Some(secret)) => CredentialSource::Static {
            access_key_id: id.clone(),
            secret_access_key: secret.clone(),
            session_token: s.session_token.clone(),
        },
        _ => CredentialSource::DefaultChain,
    };
    AwsCloud::new(AwsSettings {
        home_region: s.home_region.clone(),
        endpoint_url: s.endpoint_url.clone(),
        credentials,
        control_plane_principal_arn: s.control_plane_principal_arn.clone(),
        s3_force_path_style: s.s3_force_path_style,
    })
    .await
}

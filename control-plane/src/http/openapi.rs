//! Serves the generated OpenAPI document.

use std::sync::OnceLock;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

/// The OpenAPI 3.1 document describing every route, including this one.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn openapi_json() -> Response {
    // Rendered on first use: the document is static for the life of the process.
    static DOC: OnceLock<String> = OnceLock::new();
    let doc = DOC.get_or_init(|| super::openapi().to_json().unwrap_or_default());
    let mut res = doc.as_str().into_response();
    res.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

#[cfg(test)]
mod tests {
    #[test]
    fn fixed_value_fields_document_their_values() {
        let doc = serde_json::to_value(super::super::openapi()).unwrap();
        let schemas = &doc["components"]["schemas"];
        let values = |name: &str| schemas[name]["enum"].as_array().cloned().unwrap_or_default();
        assert_eq!(values("Tier").len(), 3, "{}", schemas["Tier"]);
        assert!(values("Region").contains(&serde_json::json!("eu-central-1")));
        assert!(values("ClusterState").contains(&serde_json::json!("deleting")));
        let tier = &schemas["ClusterDto"]["properties"]["tier"];
        assert_eq!(tier["$ref"], "#/components/schemas/Tier", "{tier}");
    }
}

//! Operations: `/healthz` (503 while Postgres is unreachable), `/metrics`, and the OpenAPI
//! description of the REST API.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde_json::json;

use super::AppState;
use crate::metrics::METRICS;

/// 200 when Postgres answers and the writer is not stuck; 503 otherwise. A writer whose
/// current commit has taken longer than the answer timeout (a lock, a stalled connection)
/// counts as down even if a fresh connection can still run `SELECT 1`.
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let store = &state.deps.store;
    let stuck = store
        .writer
        .busy_for()
        .is_some_and(|t| t > state.deps.settings.answer_write_timeout);
    let reachable = matches!(
        tokio::time::timeout(Duration::from_secs(2), store.ping()).await,
        Ok(Ok(()))
    );
    match (reachable, stuck) {
        (true, false) => HttpResponse::Ok().json(json!({"status": "ok", "db": "ok"})),
        (true, true) => HttpResponse::ServiceUnavailable()
            .json(json!({"status": "degraded", "db": "writes stalled"})),
        (false, _) => HttpResponse::ServiceUnavailable()
            .json(json!({"status": "degraded", "db": "unreachable"})),
    }
}

pub async fn metrics() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(METRICS.render())
}

/// The OpenAPI 3 description of the REST API, compiled into the binary.
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(include_str!("openapi.json"))
}

//! Operations: `/healthz` (503 while Postgres is unreachable), `/metrics`, and the OpenAPI
//! description of the REST API.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde_json::json;

use super::AppState;
use crate::metrics::METRICS;

pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    match tokio::time::timeout(Duration::from_secs(2), state.deps.store.ping()).await {
        Ok(Ok(())) => HttpResponse::Ok().json(json!({"status": "ok", "db": "ok"})),
        _ => HttpResponse::ServiceUnavailable()
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

//! actix-web routes: rooms and host controls, admin results, health and metrics, the static
//! pages; one error type (`ApiError`) for every JSON error body.

mod admin;
mod error;
mod ops;
mod rooms;

use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use tokio::sync::watch;

pub use error::ApiError;

use crate::rooms::RoomDeps;

/// Shared by every worker and session.
pub struct AppState {
    pub deps: RoomDeps,
    /// Turns true when the server is shutting down: sessions close with 1012.
    pub shutdown: watch::Receiver<bool>,
}

/// Every route. Each resource answers 405 for a method it does not have (rule 15), and
/// unknown paths answer 404 `not_found`.
pub fn routes(cfg: &mut web::ServiceConfig, static_dir: &str) {
    cfg.service(resource("/api/rooms", "POST").route(web::post().to(rooms::create)))
        .service(resource("/api/rooms/{code}", "GET").route(web::get().to(rooms::read)))
        .service(
            resource("/api/rooms/{code}/leaderboard", "GET")
                .route(web::get().to(rooms::leaderboard)),
        )
        .service(resource("/api/rooms/{code}/results", "GET").route(web::get().to(rooms::results)))
        .service(
            resource("/api/rooms/{code}/players/{player_id}", "DELETE")
                .route(web::delete().to(rooms::kick)),
        )
        .service(
            web::resource("/api/rooms/{code}/{action}")
                .route(web::post().to(rooms::control))
                .default_service(web::to(rooms::control_other_method)),
        )
        .service(resource("/api/admin/rooms", "GET").route(web::get().to(admin::list)))
        .service(
            resource("/api/admin/rooms/{room_id}/results", "GET")
                .route(web::get().to(admin::results)),
        )
        .service(resource("/healthz", "GET").route(web::get().to(ops::healthz)))
        .service(resource("/metrics", "GET").route(web::get().to(ops::metrics)))
        .service(resource("/api/openapi.json", "GET").route(web::get().to(ops::openapi)))
        .service(resource("/ws", "GET").route(web::get().to(crate::ws::ws_route)))
        .service(
            // Pages are read with GET or HEAD; any other method on any other path falls through
            // to `not_found` (rule 15: an unknown path is 404 whatever the method).
            actix_files::Files::new("/", static_dir)
                .guard(actix_web::guard::Any(actix_web::guard::Get()).or(actix_web::guard::Head()))
                .index_file("index.html")
                .default_handler(web::to(not_found)),
        )
        .default_service(web::to(not_found));
}

/// A resource whose other methods answer `405 method_not_allowed` with an `Allow` header.
fn resource(path: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move || async move { method_not_allowed(allow) }))
}

/// `405 method_not_allowed`, saying which method the path takes.
pub fn method_not_allowed(allow: &'static str) -> HttpResponse {
    let mut resp = actix_web::ResponseError::error_response(&ApiError::MethodNotAllowed);
    resp.headers_mut().insert(
        actix_web::http::header::ALLOW,
        actix_web::http::header::HeaderValue::from_static(allow),
    );
    resp
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

/// Reads a request body up to `limit` bytes (`413 payload_too_large` beyond).
pub async fn read_body(mut payload: web::Payload, limit: usize) -> Result<web::BytesMut, ApiError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| match e {
            actix_web::error::PayloadError::Overflow => ApiError::PayloadTooLarge(limit),
            other => ApiError::InvalidJson(other.to_string()),
        })?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

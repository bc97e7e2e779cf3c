//! Admin routes (bearer `ADMIN_TOKEN`): the room list and any room's results as JSON or CSV.
//! The token is checked before anything else (rule 15).

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;
use std::collections::HashMap;
use uuid::Uuid;

use super::{ApiError, AppState, bearer};
use crate::domain::Status;
use crate::results;
use crate::store::to_ms;
use crate::tokens::secrets_equal;

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 1000;

fn authorize(req: &HttpRequest, state: &AppState) -> Result<(), ApiError> {
    match (&state.deps.settings.admin_token, bearer(req)) {
        (Some(expected), Some(given)) if secrets_equal(expected, &given) => Ok(()),
        _ => Err(ApiError::Unauthorized),
    }
}

#[tracing::instrument(skip_all)]
pub async fn list(
    req: HttpRequest,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let status = match query.get("status").map(String::as_str) {
        None | Some("") | Some("all") => None,
        Some(s) => Some(Status::parse(s).ok_or_else(|| ApiError::InvalidQuery {
            field: "status",
            message: "status must be one of lobby, question, paused, reveal, finished".into(),
        })?),
    };
    let limit = match query.get("limit") {
        None => DEFAULT_LIMIT,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 1 => n.min(MAX_LIMIT),
            _ => {
                return Err(ApiError::InvalidQuery {
                    field: "limit",
                    message: format!("limit must be a whole number from 1 to {MAX_LIMIT}"),
                });
            }
        },
    };
    state.deps.store.writer.flush().await;
    let rows = state
        .deps
        .store
        .list_rooms(status.map(Status::as_str), limit)
        .await?;
    let rooms: Vec<_> = rows
        .into_iter()
        .map(|r| {
            json!({
                "room_id": r.id,
                "code": r.code,
                "title": r.title,
                "status": r.status,
                "player_count": r.player_count,
                "created_at": to_ms(r.created_at),
                "finished_at": r.finished_at.map(to_ms),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "rooms": rooms })))
}

#[tracing::instrument(skip_all, fields(room_id = %path))]
pub async fn results(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorize(&req, &state)?;
    let csv = match query.get("format").map(String::as_str) {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => {
            return Err(ApiError::InvalidQuery {
                field: "format",
                message: "format must be json or csv".into(),
            });
        }
    };
    let id = Uuid::parse_str(&path.into_inner()).map_err(|_| ApiError::RoomNotFound)?;
    state.deps.store.writer.flush().await;
    let row = state
        .deps
        .store
        .room_by_id(id)
        .await?
        .ok_or(ApiError::RoomNotFound)?;
    let report = results::build(&state.deps.store.load_room(row).await?);
    if csv {
        let filename = format!("quizroom-{}-results.csv", report.room.code);
        Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                "Content-Disposition",
                format!("attachment; filename=\"{filename}\""),
            ))
            .body(results::csv(&report)))
    } else {
        Ok(HttpResponse::Ok().json(report))
    }
}

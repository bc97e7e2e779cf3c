//! Room routes: create, read, leaderboard, results, and the host controls.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{ApiError, AppState, bearer, read_body};
use crate::domain::Quiz;
use crate::rooms::{self, Control, ControlAction, GetLeaderboard, GetView, RoomView};
use crate::store::RoomRow;
use crate::{results, tokens};

#[tracing::instrument(skip_all)]
pub async fn create(
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let settings = &state.deps.settings;
    let body = read_body(payload, settings.max_body_bytes).await?;
    let value: Value =
        serde_json::from_slice(&body).map_err(|e| ApiError::InvalidJson(e.to_string()))?;
    let quiz = Quiz::parse(&value, settings.max_players_cap).map_err(ApiError::InvalidQuiz)?;
    let created = rooms::create_room(&state.deps, quiz).await?;
    Ok(HttpResponse::Created().json(json!({
        "room_id": created.room_id,
        "code": created.code,
        "host_token": created.host_token,
        "status": "lobby",
        "join_url": format!("/play.html?code={}", created.code),
    })))
}

/// A room that has left memory (finished a while ago), read from the store. A code that is
/// not six digits names no room and is not looked up.
async fn stored_room(state: &AppState, code: &str) -> Result<RoomRow, ApiError> {
    if !tokens::is_room_code(code) {
        return Err(ApiError::RoomNotFound);
    }
    state
        .deps
        .store
        .room_by_code(code)
        .await?
        .ok_or(ApiError::RoomNotFound)
}

async fn stored_view(state: &AppState, row: &RoomRow) -> Result<RoomView, ApiError> {
    let stored = state.deps.store.load_room(row.clone()).await?;
    Ok(RoomView {
        code: row.code.clone(),
        title: row.title.clone(),
        status: crate::domain::Status::parse(&row.status).map_or("finished", |s| s.as_str()),
        question_count: stored.questions.len(),
        player_count: stored
            .players
            .iter()
            .filter(|p| p.status == "active")
            .count(),
        current_question: None,
    })
}

#[tracing::instrument(skip_all, fields(room_code = %path))]
pub async fn read(
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let code = path.into_inner();
    let view = match state.deps.registry.get(&code) {
        Some(room) => room.send(GetView).await?,
        None => stored_view(&state, &stored_room(&state, &code).await?).await?,
    };
    Ok(HttpResponse::Ok().json(view))
}

#[tracing::instrument(skip_all, fields(room_code = %path))]
pub async fn leaderboard(
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let code = path.into_inner();
    let body = match state.deps.registry.get(&code) {
        Some(room) => {
            let ranked = room.send(GetLeaderboard).await?;
            let entries: Vec<Value> = ranked
                .into_iter()
                .map(|r| json!({"rank": r.rank, "player_id": r.player_id, "nickname": r.nickname, "score": r.score}))
                .collect();
            json!({ "entries": entries })
        }
        None => {
            let row = stored_room(&state, &code).await?;
            let stored = state.deps.store.load_room(row).await?;
            results::leaderboard_json(&results::build(&stored))
        }
    };
    Ok(HttpResponse::Ok().json(body))
}

/// Results for the host: 404 for an unknown room before the token is checked (rule 15).
#[tracing::instrument(skip_all, fields(room_code = %path))]
pub async fn results(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let code = path.into_inner();
    // Phase changes are journaled asynchronously: let what the rooms already did reach
    // Postgres before reading it.
    state.deps.store.writer.flush().await;
    let row = stored_room(&state, &code).await?;
    let token = bearer(&req).ok_or(ApiError::Unauthorized)?;
    if !tokens::token_matches(&token, &row.host_token_hash) {
        return Err(ApiError::Unauthorized);
    }
    let stored = state.deps.store.load_room(row).await?;
    Ok(HttpResponse::Ok().json(results::build(&stored)))
}

#[tracing::instrument(skip_all, fields(room_code = %path.0))]
pub async fn kick(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (code, player) = path.into_inner();
    // An id that is not even a UUID names no player; the room is still checked first.
    let player = Uuid::parse_str(&player).ok();
    control_room(&req, &state, &code, player.map(ControlAction::Kick)).await
}

/// Another method on `/api/rooms/{code}/{action}`: 405 for a real action, 404 for a path that
/// does not exist (rule 15).
pub async fn control_other_method(
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    match path.1.as_str() {
        "start" | "pause" | "resume" | "lock" | "next" | "end" => {
            Ok(super::method_not_allowed("POST"))
        }
        _ => Err(ApiError::NotFound),
    }
}

#[tracing::instrument(skip_all, fields(room_code = %path.0, action = %path.1))]
pub async fn control(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (code, action) = path.into_inner();
    let action = match action.as_str() {
        "start" => ControlAction::Start,
        "pause" => ControlAction::Pause,
        "resume" => ControlAction::Resume,
        "lock" => ControlAction::Lock,
        "next" => ControlAction::Next,
        "end" => ControlAction::End,
        _ => return Err(ApiError::NotFound),
    };
    control_room(&req, &state, &code, Some(action)).await
}

/// Runs a host control. `None` is a kick of something that is not a player id.
async fn control_room(
    req: &HttpRequest,
    state: &AppState,
    code: &str,
    action: Option<ControlAction>,
) -> Result<HttpResponse, ApiError> {
    let token = bearer(req);
    let Some(room) = state.deps.registry.get(code) else {
        return control_stored_room(state, code, token, action).await;
    };
    let token = token.ok_or(ApiError::Unauthorized)?;
    let Some(action) = action else {
        if !room
            .send(crate::rooms::VerifyHost { host_token: token })
            .await?
        {
            return Err(ApiError::Unauthorized);
        }
        return Err(ApiError::PlayerNotFound);
    };
    let view = room
        .send(Control {
            host_token: token,
            action,
        })
        .await??;
    Ok(HttpResponse::Ok().json(view))
}

/// A finished room no longer in memory: nothing can change, but the answers stay right.
async fn control_stored_room(
    state: &AppState,
    code: &str,
    token: Option<String>,
    action: Option<ControlAction>,
) -> Result<HttpResponse, ApiError> {
    let row = stored_room(state, code).await?;
    let token = token.ok_or(ApiError::Unauthorized)?;
    if !tokens::token_matches(&token, &row.host_token_hash) {
        return Err(ApiError::Unauthorized);
    }
    match action {
        Some(ControlAction::Kick(player)) => {
            let stored = state.deps.store.load_room(row.clone()).await?;
            if !stored.players.iter().any(|p| p.id == player) {
                return Err(ApiError::PlayerNotFound);
            }
            Ok(HttpResponse::Ok().json(stored_view(state, &row).await?))
        }
        None => Err(ApiError::PlayerNotFound),
        Some(_) => Err(ApiError::InvalidState(format!(
            "the room is {}",
            row.status
        ))),
    }
}

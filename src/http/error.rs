//! The REST error type and its one mapping to HTTP status + `{"error": {code, message, field}}`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::domain::QuizError;
use crate::rooms::ControlError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the body is not valid JSON: {0}")]
    InvalidJson(String),
    #[error("{}", .0.message)]
    InvalidQuiz(QuizError),
    #[error("{message}")]
    InvalidQuery {
        field: &'static str,
        message: String,
    },
    #[error("no room has that code")]
    RoomNotFound,
    #[error("no such player in this room")]
    PlayerNotFound,
    #[error("a valid bearer token is required")]
    Unauthorized,
    #[error("{0}")]
    InvalidState(String),
    #[error("no such path")]
    NotFound,
    #[error("that method is not allowed here")]
    MethodNotAllowed,
    #[error("the body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("the database is unreachable; try again shortly")]
    Unavailable(#[source] StoreError),
    #[error("the room did not answer")]
    RoomGone,
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidJson(_) => "invalid_json",
            ApiError::InvalidQuiz(_) => "invalid_quiz",
            ApiError::InvalidQuery { .. } => "invalid_query",
            ApiError::RoomNotFound => "room_not_found",
            ApiError::PlayerNotFound => "player_not_found",
            ApiError::Unauthorized => "unauthorized",
            ApiError::InvalidState(_) => "invalid_state",
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::PayloadTooLarge(_) => "payload_too_large",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::RoomGone => "unavailable",
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            ApiError::InvalidQuiz(e) if !e.field.is_empty() => Some(&e.field),
            ApiError::InvalidQuery { field, .. } => Some(field),
            _ => None,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::InvalidJson(_) => StatusCode::BAD_REQUEST,
            ApiError::InvalidQuiz(_) | ApiError::InvalidQuery { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::RoomNotFound | ApiError::PlayerNotFound | ApiError::NotFound => {
                StatusCode::NOT_FOUND
            }
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::InvalidState(_) => StatusCode::CONFLICT,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unavailable(_) | ApiError::RoomGone => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Unavailable(cause) = self {
            tracing::warn!(error = %cause, "request failed on the database");
        }
        let mut error = json!({"code": self.code(), "message": self.to_string()});
        if let Some(field) = self.field() {
            error["field"] = json!(field);
        }
        let mut resp = HttpResponse::build(self.status_code());
        if matches!(self, ApiError::Unauthorized) {
            resp.insert_header(("WWW-Authenticate", "Bearer"));
        }
        resp.json(json!({"error": error}))
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Unavailable(e)
    }
}

impl From<ControlError> for ApiError {
    fn from(e: ControlError) -> Self {
        match e {
            ControlError::Unauthorized => ApiError::Unauthorized,
            ControlError::InvalidState(s) => ApiError::InvalidState(s.to_string()),
            ControlError::PlayerNotFound => ApiError::PlayerNotFound,
            ControlError::Gone => ApiError::RoomGone,
        }
    }
}

impl From<actix::MailboxError> for ApiError {
    fn from(_: actix::MailboxError) -> Self {
        ApiError::RoomGone
    }
}

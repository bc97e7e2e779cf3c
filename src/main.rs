//! The `quizroom` server binary: settings from the environment, then serve until a signal.

use std::process::ExitCode;

use quizroom::config::Settings;
use quizroom::startup::Application;
use quizroom::telemetry;

#[actix_web::main]
async fn main() -> ExitCode {
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("quizroom: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(settings.log_format);
    if settings.admin_token.is_none() {
        tracing::warn!("ADMIN_TOKEN is not set: the admin routes answer 401 until it is");
    }
    let addr = settings.addr;
    let app = match Application::build(settings).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!(error = %e, "quizroom could not start");
            eprintln!("quizroom: {e}");
            return ExitCode::from(1);
        }
    };
    tracing::info!(%addr, port = app.port(), "quizroom is listening");
    match app.run_until_signal().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "server error");
            ExitCode::from(1)
        }
    }
}

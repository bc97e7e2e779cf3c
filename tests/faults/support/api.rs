//! A small REST client for the server under test (reqwest).

use std::time::Duration;

use serde_json::Value;

#[derive(Debug, Clone)]
pub struct CreatedRoom {
    pub code: String,
    pub room_id: String,
    pub host_token: String,
}

#[derive(Clone)]
pub struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    pub fn new(base: String) -> Api {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(20))
            .build()
            .expect("an HTTP client");
        Api { base, http }
    }

    async fn read(resp: reqwest::Response) -> (u16, Value) {
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn create_room(&self, quiz: &Value) -> CreatedRoom {
        let resp = self
            .http
            .post(format!("{}/api/rooms", self.base))
            .json(quiz)
            .send()
            .await
            .expect("POST /api/rooms");
        let (status, body) = Self::read(resp).await;
        assert_eq!(status, 201, "create a room: {body}");
        CreatedRoom {
            code: body["code"].as_str().expect("code").to_owned(),
            room_id: body["room_id"].as_str().expect("room_id").to_owned(),
            host_token: body["host_token"].as_str().expect("host_token").to_owned(),
        }
    }

    /// A host control (`start`, `pause`, `resume`, `lock`, `next`, `end`): status and body.
    pub async fn try_control(&self, room: &CreatedRoom, action: &str) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}/api/rooms/{}/{action}", self.base, room.code))
            .bearer_auth(&room.host_token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST {action}: {e}"));
        Self::read(resp).await
    }

    /// A host control that must succeed; returns the room view.
    pub async fn control(&self, room: &CreatedRoom, action: &str) -> Value {
        let (status, body) = self.try_control(room, action).await;
        assert_eq!(status, 200, "{action}: {body}");
        body
    }

    /// `GET /api/rooms/{code}`.
    pub async fn room(&self, code: &str) -> Value {
        let resp = self
            .http
            .get(format!("{}/api/rooms/{code}", self.base))
            .send()
            .await
            .expect("GET /api/rooms/{code}");
        let (status, body) = Self::read(resp).await;
        assert_eq!(status, 200, "read room {code}: {body}");
        body
    }

    /// `GET /api/rooms/{code}/results` with the host token.
    pub async fn results(&self, room: &CreatedRoom) -> Value {
        let resp = self
            .http
            .get(format!("{}/api/rooms/{}/results", self.base, room.code))
            .bearer_auth(&room.host_token)
            .send()
            .await
            .expect("GET results");
        let (status, body) = Self::read(resp).await;
        assert_eq!(status, 200, "results: {body}");
        body
    }

    /// The status of `GET /healthz`, or `None` if it did not answer within `timeout`.
    pub async fn healthz_status(&self, timeout: Duration) -> Option<u16> {
        let req = self
            .http
            .get(format!("{}/healthz", self.base))
            .timeout(timeout)
            .send();
        match req.await {
            Ok(resp) => Some(resp.status().as_u16()),
            Err(_) => None,
        }
    }

    /// The value of an unlabelled metric in `/metrics`.
    pub async fn metric(&self, name: &str) -> f64 {
        let text = self
            .http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .expect("GET /metrics")
            .text()
            .await
            .expect("metrics body");
        text.lines()
            .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(' ')))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no metric {name} in:\n{text}"))
    }
}

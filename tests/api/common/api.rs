//! The API of a running server as the suite calls it: one method per endpoint, each building
//! its path here, so no test spells a URL. `request`, `get`, `post` and `report_payment_raw`
//! stay for the tests that are about odd requests (unknown paths, raw bodies, odd headers).

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

pub use super::endpoint::{Endpoint, Report};
use super::form::{FORM, payment_with};

/// How a request authenticates.
#[derive(Debug, Clone)]
pub enum Auth {
    None,
    Basic(String),
    Bearer(String),
}

/// One HTTP response, its body parsed when it is JSON.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
    pub json: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `error.<field>` of a Stripe error body.
    pub fn error(&self, field: &str) -> &Value {
        &self.json["error"][field]
    }

    /// The JSON of a response that must be a 200.
    pub fn ok(self) -> Value {
        assert_eq!(self.status, 200, "{}", self.body);
        self.json
    }
}

/// A running server and how requests to it authenticate. `TestServer` and `ChildServer` are
/// one, and so is the `Client` that `with_key` gives for another key.
pub trait Api {
    /// `http://127.0.0.1:<port>`.
    fn base(&self) -> &str;
    fn http(&self) -> &reqwest::Client;
    /// How requests authenticate unless a test says otherwise.
    fn auth(&self) -> Auth;
    /// Longest wait for one answer; None waits as long as it takes.
    fn timeout(&self) -> Option<Duration> {
        None
    }

    /// `127.0.0.1:<port>`, for tests that speak raw TCP.
    fn address(&self) -> &str {
        self.base().trim_start_matches("http://")
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base())
    }

    /// The same server as `key` sees it (Basic auth, as curl -u sends it).
    fn with_key(&self, key: &str) -> Client {
        self.with_auth(Auth::Basic(key.to_owned()))
    }

    fn with_auth(&self, auth: Auth) -> Client {
        Client {
            base: self.base().to_owned(),
            http: self.http().clone(),
            auth,
            timeout: self.timeout(),
        }
    }

    /// Sends `body` (a content type and bytes) to `path`, which may carry a query string.
    async fn try_send(
        &self,
        method: Method,
        path: &str,
        auth: Auth,
        body: Option<(&str, Vec<u8>)>,
        headers: &[(&str, &str)],
    ) -> reqwest::Result<Resp> {
        let mut builder = self.http().request(method, self.url(path));
        if let Some((content_type, bytes)) = body {
            builder = builder.header("content-type", content_type).body(bytes);
        }
        builder = match auth {
            Auth::None => builder,
            Auth::Basic(key) => builder.basic_auth(key, Some("")),
            Auth::Bearer(key) => builder.bearer_auth(key),
        };
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        if let Some(timeout) = self.timeout() {
            builder = builder.timeout(timeout);
        }
        into_resp(builder.send().await?).await
    }

    /// Any request, `form` being the query of a GET and the body of anything else.
    async fn try_request(
        &self,
        method: Method,
        path: &str,
        auth: Auth,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> reqwest::Result<Resp> {
        let encoded = encode(form);
        if method == Method::GET {
            let path = match encoded.is_empty() {
                true => path.to_owned(),
                false => format!("{path}?{encoded}"),
            };
            self.try_send(method, &path, auth, None, headers).await
        } else {
            let body = Some((FORM, encoded.into_bytes()));
            self.try_send(method, path, auth, body, headers).await
        }
    }

    async fn request(
        &self,
        method: Method,
        path: &str,
        auth: Auth,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Resp {
        let sent = self.try_request(method, path, auth, form, headers).await;
        sent.expect("request answered")
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Resp {
        self.request(Method::POST, path, self.auth(), form, &[]).await
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Resp {
        self.request(Method::GET, path, self.auth(), query, &[]).await
    }

    /// report_payment with a raw body and content type, for malformed-input tests.
    async fn try_report_payment_raw(&self, content_type: &str, body: Vec<u8>) -> reqwest::Result<Resp> {
        let path = Endpoint::ReportPayment.path();
        self.try_send(Method::POST, &path, self.auth(), Some((content_type, body)), &[])
            .await
    }

    async fn report_payment_raw(&self, content_type: &str, body: Vec<u8>) -> Resp {
        let sent = self.try_report_payment_raw(content_type, body).await;
        sent.expect("request answered")
    }

    /// `endpoint` with `form` (a GET's query) and, when given, an Idempotency-Key.
    async fn try_call(
        &self,
        endpoint: &Endpoint,
        form: &[(&str, &str)],
        idempotency_key: Option<&str>,
    ) -> reqwest::Result<Resp> {
        let header = idempotency_key.map(|key| ("Idempotency-Key", key));
        let headers: Vec<(&str, &str)> = header.into_iter().collect();
        let (method, path) = (endpoint.method(), endpoint.path());
        self.try_request(method, &path, self.auth(), form, &headers).await
    }

    async fn call(&self, endpoint: &Endpoint, form: &[(&str, &str)], idempotency_key: Option<&str>) -> Resp {
        let sent = self.try_call(endpoint, form, idempotency_key).await;
        sent.expect("request answered")
    }

    /// POST /v1/payment_records/report_payment
    async fn report_payment(&self, form: &[(&str, &str)]) -> Resp {
        self.call(&Endpoint::ReportPayment, form, None).await
    }

    async fn report_payment_keyed(&self, idempotency_key: &str, form: &[(&str, &str)]) -> Resp {
        self.call(&Endpoint::ReportPayment, form, Some(idempotency_key)).await
    }

    /// POST /v1/payment_records/{id}/<call>
    async fn report(&self, id: &str, call: Report, form: &[(&str, &str)]) -> Resp {
        self.call(&Endpoint::Report(id.to_owned(), call), form, None).await
    }

    async fn report_keyed(&self, idempotency_key: &str, id: &str, call: Report, form: &[(&str, &str)]) -> Resp {
        let endpoint = Endpoint::Report(id.to_owned(), call);
        self.call(&endpoint, form, Some(idempotency_key)).await
    }

    /// POST /v1/payment_records/{id}/report_payment_attempt
    async fn report_attempt(&self, id: &str, form: &[(&str, &str)]) -> Resp {
        self.report(id, Report::Attempt, form).await
    }

    /// POST /v1/payment_records/{id}/report_payment_attempt_guaranteed
    async fn report_guaranteed(&self, id: &str, form: &[(&str, &str)]) -> Resp {
        self.report(id, Report::Guaranteed, form).await
    }

    /// POST /v1/payment_records/{id}/report_payment_attempt_failed
    async fn report_failed(&self, id: &str, form: &[(&str, &str)]) -> Resp {
        self.report(id, Report::Failed, form).await
    }

    /// POST /v1/payment_records/{id}/report_payment_attempt_canceled
    async fn report_canceled(&self, id: &str, form: &[(&str, &str)]) -> Resp {
        self.report(id, Report::Canceled, form).await
    }

    /// POST /v1/payment_records/{id}/report_payment_attempt_informational
    async fn report_informational(&self, id: &str, form: &[(&str, &str)]) -> Resp {
        self.report(id, Report::Informational, form).await
    }

    /// POST /v1/payment_records/{id}/report_refund
    async fn report_refund(&self, id: &str, form: &[(&str, &str)]) -> Resp {
        self.report(id, Report::Refund, form).await
    }

    /// GET /v1/payment_records/{id}
    async fn retrieve_record(&self, id: &str, query: &[(&str, &str)]) -> Resp {
        self.call(&Endpoint::RetrieveRecord(id.to_owned()), query, None).await
    }

    /// GET /v1/payment_records
    async fn list_records(&self, query: &[(&str, &str)]) -> Resp {
        self.call(&Endpoint::ListRecords, query, None).await
    }

    /// GET /v1/payment_attempt_records/{id}
    async fn retrieve_attempt(&self, id: &str, query: &[(&str, &str)]) -> Resp {
        self.call(&Endpoint::RetrieveAttempt(id.to_owned()), query, None).await
    }

    /// GET /v1/payment_attempt_records?payment_record={record_id}
    async fn list_attempts(&self, record_id: &str, query: &[(&str, &str)]) -> Resp {
        let mut query = query.to_vec();
        query.insert(0, ("payment_record", record_id));
        self.call(&Endpoint::ListAttempts, &query, None).await
    }

    /// GET /healthz, without a key.
    async fn healthz(&self) -> Resp {
        self.request(Method::GET, &Endpoint::Healthz.path(), Auth::None, &[], &[])
            .await
    }

    /// GET /readyz, without a key.
    async fn readyz(&self) -> Resp {
        self.request(Method::GET, &Endpoint::Readyz.path(), Auth::None, &[], &[])
            .await
    }

    /// GET /metrics, without a key.
    async fn metrics(&self) -> Resp {
        self.request(Method::GET, &Endpoint::Metrics.path(), Auth::None, &[], &[])
            .await
    }

    /// GET /openapi.json, without a key.
    async fn openapi(&self) -> Resp {
        self.request(Method::GET, &Endpoint::OpenApi.path(), Auth::None, &[], &[])
            .await
    }

    /// GET /v1/events
    async fn list_events(&self, query: &[(&str, &str)]) -> Resp {
        self.call(&Endpoint::ListEvents, query, None).await
    }

    /// GET /v1/events/{id}
    async fn retrieve_event(&self, id: &str) -> Resp {
        self.call(&Endpoint::RetrieveEvent(id.to_owned()), &[], None).await
    }

    /// POST /v1/webhook_endpoints
    async fn create_webhook_endpoint(&self, form: &[(&str, &str)]) -> Resp {
        self.call(&Endpoint::CreateWebhook, form, None).await
    }

    async fn create_webhook_endpoint_keyed(&self, idempotency_key: &str, form: &[(&str, &str)]) -> Resp {
        self.call(&Endpoint::CreateWebhook, form, Some(idempotency_key)).await
    }

    /// GET /v1/webhook_endpoints/{id}
    async fn retrieve_webhook_endpoint(&self, id: &str) -> Resp {
        self.call(&Endpoint::RetrieveWebhook(id.to_owned()), &[], None).await
    }

    /// POST /v1/webhook_endpoints/{id}
    async fn update_webhook_endpoint(&self, id: &str, form: &[(&str, &str)]) -> Resp {
        self.call(&Endpoint::UpdateWebhook(id.to_owned()), form, None).await
    }

    /// GET /v1/webhook_endpoints
    async fn list_webhook_endpoints(&self, query: &[(&str, &str)]) -> Resp {
        self.call(&Endpoint::ListWebhooks, query, None).await
    }

    /// DELETE /v1/webhook_endpoints/{id}
    async fn delete_webhook_endpoint(&self, id: &str) -> Resp {
        self.call(&Endpoint::DeleteWebhook(id.to_owned()), &[], None).await
    }

    /// A webhook endpoint for every event type at `url`; returns it (with its secret).
    async fn webhook_endpoint(&self, url: &str) -> Value {
        let r = self
            .create_webhook_endpoint(&[("url", url), ("enabled_events[]", "*")])
            .await;
        assert_eq!(r.status, 200, "create webhook endpoint: {}", r.body);
        r.json
    }

    /// The types of every event of the tenant, oldest first.
    async fn event_types(&self) -> Vec<String> {
        let page = self.list_events(&[("limit", "100")]).await.ok();
        let mut types: Vec<String> = page["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|e| e["type"].as_str().expect("type").to_owned())
            .collect();
        types.reverse();
        types
    }

    /// A record that must exist.
    async fn record(&self, id: &str) -> Value {
        self.retrieve_record(id, &[]).await.ok()
    }

    /// Every attempt of a record, newest first.
    async fn attempts_of(&self, record_id: &str) -> Vec<Value> {
        let r = self.list_attempts(record_id, &[("limit", "100")]).await.ok();
        r["data"].as_array().expect("data").clone()
    }

    /// A pending payment of `value` usd; returns the record.
    async fn pending_payment(&self, value: i64) -> Value {
        let value = value.to_string();
        let form = payment_with(&[("amount_requested[value]", &value)]);
        let r = self.report_payment(&form).await;
        assert_eq!(r.status, 200, "report_payment failed: {}", r.body);
        r.json
    }
}

/// A server as one key sees it, owned, so it can move into a task.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
    auth: Auth,
    timeout: Option<Duration>,
}

impl Client {
    /// The server at `base`, an address the harness read from a server's output.
    pub fn new(base: &str, auth: Auth) -> Client {
        Client {
            base: base.to_owned(),
            http: reqwest::Client::new(),
            auth,
            timeout: None,
        }
    }

    /// Connects from `address` (a loopback address other than 127.0.0.1, for per-address limits).
    pub fn connecting_from(mut self, address: std::net::IpAddr) -> Client {
        self.http = reqwest::Client::builder()
            .local_address(address)
            .build()
            .expect("a client");
        self
    }

    /// Gives up on an answer after `timeout`: the request fails.
    pub fn with_timeout(mut self, timeout: Duration) -> Client {
        self.timeout = Some(timeout);
        self
    }
}

impl Api for Client {
    fn base(&self) -> &str {
        &self.base
    }
    fn http(&self) -> &reqwest::Client {
        &self.http
    }
    fn auth(&self) -> Auth {
        self.auth.clone()
    }
    fn timeout(&self) -> Option<Duration> {
        self.timeout
    }
}

/// Stripe's form encoding of ordered pairs (brackets percent-encoded, as the SDKs send them).
pub fn encode(form: &[(&str, &str)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form {
        serializer.append_pair(k, v);
    }
    serializer.finish()
}

async fn into_resp(response: reqwest::Response) -> reqwest::Result<Resp> {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.text().await?;
    let json = serde_json::from_str(&body).unwrap_or(Value::Null);
    Ok(Resp {
        status,
        headers,
        body,
        json,
    })
}

//! The commands that call a running payrec's API with a key (`reset`, `listen`, `trigger`),
//! never its database, so they work against a payrec on another machine; and `payrec reset`.

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use super::Failure;
use super::args::{RemoteArgs, ResetArgs};

/// Longest wait for one answer of the server.
pub const REMOTE_TIMEOUT: Duration = Duration::from_secs(30);

/// A running payrec, called with one key.
#[derive(Debug, Clone)]
pub struct Remote {
    http: reqwest::Client,
    base: url::Url,
    key: String,
}

/// An answer: its status and its body as sent (an event is forwarded byte for byte).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    /// The body of a 2xx, else a failure saying what the server answered.
    pub fn ok(self, what: &str) -> Result<Value, Failure> {
        if (200..300).contains(&self.status) {
            return Ok(self.json());
        }
        let json = self.json();
        let message = json["error"]["message"].as_str().unwrap_or(&self.text).to_owned();
        Err(Failure(format!(
            "{what}: the server answered {}: {message}",
            self.status
        )))
    }
}

impl Remote {
    pub fn new(args: &RemoteArgs) -> Result<Remote, Failure> {
        let http = reqwest::Client::builder()
            .timeout(REMOTE_TIMEOUT)
            .user_agent(concat!("payrec-cli/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Remote {
            http,
            base: args.url.clone(),
            key: args.api_key.clone(),
        })
    }

    /// `method path` with `form` (the query of a GET, else the body), Stripe's form encoding.
    pub async fn send(&self, method: Method, path: &str, form: &[(&str, &str)]) -> Result<Answer, Failure> {
        let mut url = self.base.join(path)?;
        let encoded = {
            let mut s = form_urlencoded::Serializer::new(String::new());
            s.extend_pairs(form);
            s.finish()
        };
        let mut request = if method == Method::GET {
            url.set_query((!encoded.is_empty()).then_some(encoded.as_str()));
            self.http.request(method, url.clone())
        } else {
            self.http
                .request(method, url.clone())
                .header("content-type", "application/x-www-form-urlencoded")
                .body(encoded)
        };
        request = request.bearer_auth(&self.key);
        let response = request
            .send()
            .await
            .map_err(|e| Failure(format!("cannot reach payrec at {}: {e}", self.base)))?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        Ok(Answer { status, text })
    }

    /// A call that must succeed: its JSON.
    pub async fn call(&self, method: Method, path: &str, form: &[(&str, &str)]) -> Result<Value, Failure> {
        let what = format!("{method} {path}");
        self.send(method, path, form).await?.ok(&what)
    }
}

/// `payrec reset`.
pub async fn reset(args: &ResetArgs) -> Result<(), Failure> {
    let remote = Remote::new(&args.remote)?;
    let form: &[(&str, &str)] = match args.webhook_endpoints {
        true => &[("webhook_endpoints", "true")],
        false => &[],
    };
    let erased = remote.call(Method::POST, "/payrec/v1/test_data/reset", form).await?;
    let counts: Vec<String> = erased["erased"]
        .as_object()
        .map(|o| o.iter().map(|(table, n)| format!("{n} {table}")).collect())
        .unwrap_or_default();
    println!(
        "payrec: erased the test-mode data of {}: {}",
        erased["account"].as_str().unwrap_or("the account"),
        counts.join(", ")
    );
    Ok(())
}

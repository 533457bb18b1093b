//! A minimal HTTP/1.1 client: one keep-alive hyper connection per worker, Stripe's headers.

use std::net::SocketAddr;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Where requests go and how they authenticate.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub host: HeaderValue,
    pub auth: HeaderValue,
}

impl Target {
    pub fn new(addr: SocketAddr, key: &str) -> Target {
        Target {
            addr,
            host: HeaderValue::from_str(&addr.to_string()).expect("socket addresses are ASCII"),
            auth: HeaderValue::from_str(&format!("Bearer {key}")).expect("keys are ASCII"),
        }
    }
}

/// What came back: status and the whole body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Bytes,
    /// The `name=value` of each Set-Cookie.
    pub cookies: Vec<String>,
}

impl Reply {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first `"id":"<prefix>…"` in the body: a record's own id in a record response.
    pub fn object_id(&self, prefix: &str) -> Option<String> {
        let body = std::str::from_utf8(&self.body).ok()?;
        let start = body.find(&format!("\"id\":\"{prefix}"))? + "\"id\":\"".len();
        let len = body[start..].find('"')?;
        Some(body[start..start + len].to_owned())
    }
}

/// One keep-alive connection; reconnects after a transport error.
pub struct Conn {
    target: Target,
    sender: Option<SendRequest<Full<Bytes>>>,
    /// Sent as `Cookie` with every request (the dashboard's session), when set.
    pub cookie: Option<HeaderValue>,
}

impl Conn {
    pub fn new(target: Target) -> Conn {
        Conn {
            target,
            sender: None,
            cookie: None,
        }
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, String> {
        let stream = TcpStream::connect(self.target.addr)
            .await
            .map_err(|e| format!("connect {}: {e}", self.target.addr))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }

    pub async fn get(&mut self, path_and_query: &str) -> Result<Reply, String> {
        self.send(Method::GET, path_and_query, None, Bytes::new()).await
    }

    pub async fn post(&mut self, path: &str, form: String, idempotency_key: Option<&str>) -> Result<Reply, String> {
        self.send(Method::POST, path, idempotency_key, Bytes::from(form)).await
    }

    async fn send(
        &mut self,
        method: Method,
        path: &str,
        idempotency_key: Option<&str>,
        body: Bytes,
    ) -> Result<Reply, String> {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, self.target.host.clone())
            .header(AUTHORIZATION, self.target.auth.clone());
        if !body.is_empty() {
            builder = builder.header(CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        if let Some(key) = idempotency_key {
            builder = builder.header("idempotency-key", key);
        }
        if let Some(cookie) = &self.cookie {
            builder = builder.header(hyper::header::COOKIE, cookie.clone());
        }
        let request = builder.body(Full::new(body)).map_err(|e| e.to_string())?;
        let result = self.exchange(request).await;
        if result.is_err() {
            self.sender = None;
        }
        result
    }

    async fn exchange(&mut self, request: Request<Full<Bytes>>) -> Result<Reply, String> {
        if self.sender.as_ref().is_none_or(|s| s.is_closed()) {
            self.sender = Some(self.connect().await?);
        }
        let sender = self.sender.as_mut().expect("connected above");
        sender.ready().await.map_err(|e| format!("connection: {e}"))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("request: {e}"))?;
        let status = response.status().as_u16();
        let cookies = response
            .headers()
            .get_all(hyper::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
            .collect();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("response body: {e}"))?
            .to_bytes();
        Ok(Reply { status, body, cookies })
    }
}

/// Stripe's form encoding of ordered pairs.
pub fn form(pairs: &[(&str, &str)]) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        serializer.append_pair(k, v);
    }
    serializer.finish()
}

//! Request limits and content types: body size, nesting depth, parameter count, name length,
//! and bodies that are not form-encoded. Each is a Stripe-shaped error, never a 5xx.

use crate::common::backend_test;
use crate::common::form::*;
use crate::common::{Api, Endpoint, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[backend_test]
async fn a_json_body_is_a_stripe_400_not_a_500_nor_plain_text(server: TestServer) {
    let body = br#"{"amount_requested":{"currency":"usd","value":1000},"initiated_at":1730211300}"#;
    let r = server.report_payment_raw("application/json", body.to_vec()).await;
    assert_malformed(&r, "application/x-www-form-urlencoded");
}

#[backend_test]
async fn a_text_plain_body_is_a_stripe_400(server: TestServer) {
    let r = server
        .report_payment_raw("text/plain", b"amount_requested[value]=1".to_vec())
        .await;
    assert_malformed(&r, "application/x-www-form-urlencoded");
    let r = server
        .report_payment_raw("multipart/form-data; boundary=x", b"--x--".to_vec())
        .await;
    assert_malformed(&r, "application/x-www-form-urlencoded");
}

#[backend_test]
async fn a_form_content_type_with_a_charset_or_other_case_is_accepted(server: TestServer) {
    for content_type in [
        "application/x-www-form-urlencoded; charset=utf-8",
        "Application/X-WWW-Form-URLEncoded",
    ] {
        let r = server.report_payment_raw(content_type, b"foo=1".to_vec()).await;
        assert_unknown(&r, "foo");
    }
}

/// A form body of exactly `len` bytes: one long description.
fn body_of_len(len: usize) -> Vec<u8> {
    let mut body = b"description=".to_vec();
    body.resize(len, b'x');
    body
}

#[backend_test]
async fn a_body_over_256_kib_is_a_stripe_413(server: TestServer) {
    let r = server.report_payment_raw(FORM, body_of_len(BODY_BYTES_MAX + 1)).await;
    assert_eq!(r.status, 413, "{}", r.body);
    assert_eq!(r.error("type"), "invalid_request_error");
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(
        r.error("message").as_str().unwrap_or_default().contains("262144"),
        "{}",
        r.body
    );
}

#[backend_test]
async fn a_body_of_exactly_256_kib_is_read_and_validated(server: TestServer) {
    let r = server.report_payment_raw(FORM, body_of_len(BODY_BYTES_MAX)).await;
    assert_bad_request(&r);
}

/// Sends raw bytes and returns the status and body: for a chunked body, which the harness's
/// client cannot send.
async fn raw_http(server: &TestServer, request: Vec<u8>) -> (u16, String) {
    let stream = tokio::net::TcpStream::connect(server.address()).await.expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    let write = async move {
        // The server may answer and stop reading before the whole body is sent.
        let _ = writer.write_all(&request).await;
        writer
    };
    let read = async move {
        let mut response = Vec::new();
        let _ = reader.read_to_end(&mut response).await;
        response
    };
    let (_writer, response) = tokio::join!(write, read);
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[backend_test]
async fn a_chunked_body_over_256_kib_is_a_413(server: TestServer) {
    let auth = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{}:", server.test_key),
    );
    let path = Endpoint::ReportPayment.path();
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: payrec\r\nAuthorization: Basic {auth}\r\n\
         Content-Type: {FORM}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    let chunk = body_of_len(64 * 1024);
    for _ in 0..5 {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(&chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let (status, body) = raw_http(&server, request).await;
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("invalid_request_error"), "{body}");
}

// Decoding limits.

#[backend_test]
async fn nesting_deeper_than_8_levels_is_rejected(server: TestServer) {
    let r = post_form(&server, "shipping_details[a][b][c][d][e][f][g][h]=1").await;
    assert_malformed(&r, "nested too deeply");
    assert!(r.error("message").as_str().unwrap_or_default().contains('8'));
}

#[backend_test]
async fn nesting_of_exactly_8_levels_is_decoded(server: TestServer) {
    let r = post_form(&server, "shipping_details[a][b][c][d][e][f][g]=1").await;
    assert_unknown(&r, "shipping_details[a]");
}

fn many_params(n: usize) -> String {
    (0..n).map(|i| format!("p{i}=1")).collect::<Vec<_>>().join("&")
}

#[backend_test]
async fn more_than_1024_parameters_are_rejected(server: TestServer) {
    let r = post_form(&server, &many_params(1025)).await;
    assert_malformed(&r, "1024");
}

#[backend_test]
async fn exactly_1024_parameters_are_decoded(server: TestServer) {
    let r = post_form(&server, &many_params(1024)).await;
    assert_bad_request(&r);
    assert_eq!(r.error("code"), "parameter_unknown");
}

#[backend_test]
async fn a_parameter_name_over_512_bytes_is_rejected(server: TestServer) {
    let r = post_form(&server, &format!("{}=1", "a".repeat(513))).await;
    assert_malformed(&r, "512");
    let r = post_form(&server, &format!("{}=1", "a".repeat(512))).await;
    assert_eq!(r.error("code"), "parameter_unknown", "{}", r.body);
}

use crate::common::backend_test;
use crate::common::{Api, TestServer};

#[backend_test]
async fn unknown_record_is_a_stripe_shaped_404_with_a_request_id(server: TestServer) {
    let r = server.retrieve_record("pr_x", &[]).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error("code"), "resource_missing");
    assert_eq!(r.error("message"), "No such payment_record: 'pr_x'");
    assert!(r.header("request-id").unwrap().starts_with("req_"));
}

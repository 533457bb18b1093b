//! The dashboard scenario: signs in with the bench's key, then fetches each page
//! `--dashboard-samples` times, one request at a time on one keep-alive connection, and reports
//! each page's latency (median, p99, max). On a local connection that is the server's time to
//! answer, plus a loopback round trip.

use std::time::Instant;

use hyper::header::HeaderValue;
use rand::SeedableRng;
use rand::rngs::SmallRng;

use super::args::Args;
use super::client::{Conn, Target, form};
use super::ids::RecordIds;

/// One page's latencies.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PageTiming {
    pub page: &'static str,
    pub samples: usize,
    pub median_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub bytes: usize,
}

/// The hidden `csrf` field's value in a page.
fn csrf_of(body: &str) -> Option<String> {
    let at = body.find("name=\"csrf\" value=\"")? + "name=\"csrf\" value=\"".len();
    Some(body[at..].split('"').next()?.to_owned())
}

async fn sign_in(conn: &mut Conn, key: &str) -> Result<(), String> {
    let form_page = conn.get("/dashboard/sign-in").await?;
    let csrf = csrf_of(&String::from_utf8_lossy(&form_page.body)).ok_or("no sign-in form")?;
    let cookie = form_page.cookies.join("; ");
    conn.cookie = Some(HeaderValue::from_str(&cookie).map_err(|e| e.to_string())?);
    let signed = conn
        .post("/dashboard/sign-in", form(&[("key", key), ("csrf", &csrf)]), None)
        .await?;
    let session = signed
        .cookies
        .iter()
        .find(|c| c.starts_with("payrec_session="))
        .ok_or(format!("sign-in answered {} without a session", signed.status))?;
    conn.cookie = Some(HeaderValue::from_str(session).map_err(|e| e.to_string())?);
    Ok(())
}

/// A page's path for one sample (a random record's, for some pages).
type PathOf<'a> = Box<dyn Fn(&mut SmallRng) -> String + 'a>;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

pub async fn run(args: &Args, target: &Target, key: &str, ids: &RecordIds) -> Result<Vec<PageTiming>, String> {
    let mut conn = Conn::new(target.clone());
    sign_in(&mut conn, key).await?;
    let mut rng = SmallRng::from_os_rng();
    let pages: [(&'static str, PathOf<'_>); 8] = [
        ("overview (30 days)", Box::new(|_| "/dashboard/".to_owned())),
        ("payments list", Box::new(|_| "/dashboard/payments".to_owned())),
        (
            "payments list, state=guaranteed, usd",
            Box::new(|_| "/dashboard/payments?state=guaranteed&currency=usd".to_owned()),
        ),
        (
            "payments list, state=failed (matches none)",
            Box::new(|_| "/dashboard/payments?state=failed".to_owned()),
        ),
        (
            "payments list, created today, usd 10-1000",
            Box::new(|_| {
                let today = payrec::clock::unix_now().div_euclid(86_400);
                let (y, m, d) = payrec::clock::civil(today);
                format!("/dashboard/payments?from={y:04}-{m:02}-{d:02}&currency=usd&min=10&max=1000")
            }),
        ),
        (
            "search by payment_reference",
            Box::new(|rng| {
                let reference = ids.pick_reference(rng).unwrap_or_else(|| "none".into());
                format!("/dashboard/payments?q={reference}")
            }),
        ),
        (
            "search by record id",
            Box::new(|rng| format!("/dashboard/payments?q={}", ids.pick(rng))),
        ),
        (
            "payment detail",
            Box::new(|rng| format!("/dashboard/payments/{}", ids.pick(rng))),
        ),
    ];
    let mut timings = Vec::new();
    for (page, path) in &pages {
        let mut ms = Vec::with_capacity(args.dashboard_samples);
        let mut bytes = 0;
        for _ in 0..args.dashboard_samples.max(1) {
            let path = path(&mut rng);
            let started = Instant::now();
            let reply = conn.get(&path).await?;
            ms.push(started.elapsed().as_secs_f64() * 1000.0);
            if reply.status != 200 {
                return Err(format!("{path}: HTTP {}", reply.status));
            }
            bytes = reply.body.len();
        }
        ms.sort_by(f64::total_cmp);
        timings.push(PageTiming {
            page,
            samples: ms.len(),
            median_ms: percentile(&ms, 0.5),
            p99_ms: percentile(&ms, 0.99),
            max_ms: *ms.last().expect("one sample at least"),
            bytes,
        });
    }
    Ok(timings)
}

pub fn print(timings: &[PageTiming]) {
    println!("| page | samples | median ms | p99 ms | max ms | bytes |");
    println!("|---|---|---|---|---|---|");
    for t in timings {
        println!(
            "| {} | {} | {:.2} | {:.2} | {:.2} | {} |",
            t.page, t.samples, t.median_ms, t.p99_ms, t.max_ms, t.bytes
        );
    }
}

//! The YouTube-style cuepoint and Dailymotion-style ad-break APIs, the per-stream break policy
//! and scoped tokens, through the proxy in front of the packager on a manual clock: every
//! endpoint and error reason, the policy refusing the 25th break in an hour, a break closer
//! than the spacing and any break on a disabled stream, each refusal in every style's shape,
//! and read tokens refused for writes in every style.
mod proxy_support;

use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use hlsplice::hls::BreakPolicy;
use hlsplice::packager::PackagerConfig;
use hlsplice::server::ServerConfig;
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use proxy_support::*;
use serde_json::{Value, json};

const VIDEO: &str = "/live/demo/video.m3u8";
const LL_VIDEO: &str = "/ll/demo/video.m3u8";
const READ: &str = "read-only-token";
const CUEPOINT: &str = "/youtube/v3/liveBroadcasts/cuepoint";

fn classic() -> PackagerConfig {
    PackagerConfig {
        part_ms: None,
        ..PackagerConfig::default()
    }
}

async fn start(name: &str, packager: PackagerConfig, default_policy: BreakPolicy) -> Harness {
    Harness::start_with(name, packager, |c| ServerConfig {
        read_tokens: vec![READ.to_owned()],
        default_policy,
        ..c
    })
    .await
}

fn at_seconds(s: i64) -> DateTime<Utc> {
    t0() + Duration::seconds(s)
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// One request with an optional bearer token and content type; the body as JSON (`Null` when
/// it is not JSON) and the raw answer.
async fn send(
    h: &Harness,
    method: Method,
    path: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: Option<String>,
) -> (StatusCode, Value, Response) {
    let mut builder = Request::builder()
        .method(method)
        .uri(format!("http://{}{path}", h.proxy_addr()));
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if let Some(content_type) = content_type {
        builder = builder.header(header::CONTENT_TYPE, content_type);
    }
    let request = builder
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .unwrap();
    let answer = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        let (parts, body) = h.client.request(request).await.unwrap().into_parts();
        Response {
            status: parts.status,
            headers: parts.headers,
            body: body.collect().await.unwrap().to_bytes(),
        }
    })
    .await
    .expect("answered in time");
    let value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    (answer.status, value, answer)
}

async fn cuepoint(
    h: &Harness,
    query: &str,
    body: Value,
    token: Option<&str>,
) -> (StatusCode, Value) {
    let path = format!("{CUEPOINT}{query}");
    let (status, value, _) = send(
        h,
        Method::POST,
        &path,
        token,
        Some("application/json"),
        Some(body.to_string()),
    )
    .await;
    (status, value)
}

/// The reason of a YouTube-style error, after checking its shape.
fn youtube_reason(status: StatusCode, value: &Value) -> String {
    let error = &value["error"];
    assert_eq!(error["code"], status.as_u16(), "{value}");
    let first = &error["errors"][0];
    assert_eq!(first["message"], error["message"], "{value}");
    assert!(first["domain"].is_string(), "{value}");
    first["reason"].as_str().expect("a reason").to_owned()
}

/// The type of a Dailymotion-style error, after checking its shape.
fn dailymotion_type(status: StatusCode, value: &Value) -> String {
    let error = &value["error"];
    assert_eq!(error["code"], status.as_u16(), "{value}");
    assert!(error["message"].is_string(), "{value}");
    error["type"].as_str().expect("a type").to_owned()
}

async fn dm_post(
    h: &Harness,
    stream: &str,
    form: &str,
    token: Option<&str>,
) -> (StatusCode, Value, Response) {
    send(
        h,
        Method::POST,
        &format!("/video/{stream}"),
        token,
        Some("application/x-www-form-urlencoded"),
        Some(form.to_owned()),
    )
    .await
}

async fn dm_get(
    h: &Harness,
    stream: &str,
    fields: &str,
    token: Option<&str>,
) -> (StatusCode, Value) {
    let (status, value, _) = send(
        h,
        Method::GET,
        &format!("/video/{stream}?fields={fields}"),
        token,
        None,
        None,
    )
    .await;
    (status, value)
}

async fn put_policy(h: &Harness, stream: &str, policy: Value, token: &str) -> (StatusCode, Value) {
    let (status, value, _) = send(
        h,
        Method::PUT,
        &format!("/api/v1/streams/{stream}/policy"),
        Some(token),
        Some("application/json"),
        Some(policy.to_string()),
    )
    .await;
    (status, value)
}

async fn ome_out(
    h: &Harness,
    app_stream: &str,
    duration_ms: u64,
    token: &str,
) -> (StatusCode, Value) {
    let (app, stream) = app_stream.split_once('/').unwrap();
    let (status, value, _) = send(
        h,
        Method::POST,
        &format!("/v1/vhosts/default/apps/{app}/streams/{stream}:sendEvent"),
        Some(token),
        Some("application/json"),
        Some(
            json!({"eventFormat":"cue","events":[{"cueType":"out","duration":duration_ms}]})
                .to_string(),
        ),
    )
    .await;
    (status, value)
}

async fn stream_summary(h: &Harness, stream: &str) -> Value {
    let (status, value) = h.api(Method::GET, "/api/v1/streams", None).await;
    assert_eq!(status, StatusCode::OK, "{value}");
    value["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stream"] == stream)
        .cloned()
        .unwrap_or_else(|| panic!("no stream {stream}: {value}"))
}

/// The program time of the first segment a playlist lists.
fn first_pdt(playlist: &str) -> DateTime<Utc> {
    let line = playlist
        .lines()
        .find_map(|l| l.strip_prefix("#EXT-X-PROGRAM-DATE-TIME:"))
        .expect("a PDT");
    DateTime::parse_from_rfc3339(line)
        .unwrap()
        .with_timezone(&Utc)
}

/// Every documented `liveBroadcasts.cuepoint` reason, the resource answered with its id and
/// resolved times, `insertionOffsetTimeMs` counted from the first program time the proxy saw
/// (stored: the same after a restart), and the policy refusing in YouTube's shape.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn youtube_cuepoints_and_every_error_reason() {
    let mut h = start("api-youtube", classic(), BreakPolicy::NONE).await;
    let body = json!({"cueType": "cueTypeAd"});
    let (status, answer) = cuepoint(&h, "?id=live/demo", body.clone(), Some(TOKEN)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    assert_eq!(youtube_reason(status, &answer), "liveBroadcastNotFound");

    let first_playlist = h.playlist(VIDEO).await;
    let first = first_pdt(&first_playlist);
    assert_eq!(first, at_seconds(-10), "a 10-segment window ending at t0");
    assert_eq!(
        stream_summary(&h, "live/demo").await["first_program_time"],
        rfc3339(first)
    );

    // Authentication and scope.
    let (status, answer) = cuepoint(&h, "?id=live/demo", body.clone(), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(youtube_reason(status, &answer), "authError");
    let (status, answer) = cuepoint(&h, "?id=live/demo", body.clone(), Some(READ)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert_eq!(
        youtube_reason(status, &answer),
        "insufficientLivePermissions"
    );
    // Route and method.
    let (status, answer, _) = send(
        &h,
        Method::GET,
        &format!("{CUEPOINT}?id=live/demo"),
        Some(TOKEN),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(youtube_reason(status, &answer), "methodNotAllowed");
    let (status, answer, _) = send(
        &h,
        Method::POST,
        "/youtube/v3/liveBroadcasts",
        Some(TOKEN),
        None,
        Some("{}".into()),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(youtube_reason(status, &answer), "notFound");

    // Every request error, with its reason.
    let past_wall = at_seconds(-5).timestamp_millis();
    for (query, body, reason) in [
        ("", json!({"cueType": "cueTypeAd"}), "idRequired"),
        ("?id=", json!({"cueType": "cueTypeAd"}), "idRequired"),
        (
            "?id=live/demo",
            json!({"durationSecs": 30}),
            "cueTypeRequired",
        ),
        (
            "?id=live/demo",
            json!({"cueType": "cueTypeOther"}),
            "cueTypeRequired",
        ),
        (
            "?id=live/demo",
            json!({"cueType": "cueTypeAd", "insertionOffsetTimeMs": 0, "walltimeMs": 1}),
            "conflictingTimeFields",
        ),
        (
            "?id=live/demo",
            json!({"cueType": "cueTypeAd", "insertionOffsetTimeMs": -1}),
            "invalidInsertionOffsetTimeMs",
        ),
        // 1 s after the first program time is 9 s before the live edge: already published.
        (
            "?id=live/demo",
            json!({"cueType": "cueTypeAd", "insertionOffsetTimeMs": "1000"}),
            "invalidInsertionOffsetTimeMs",
        ),
        (
            "?id=live/demo",
            json!({"cueType": "cueTypeAd", "walltimeMs": "soon"}),
            "invalidWalltimeMs",
        ),
        (
            "?id=live/demo",
            json!({"cueType": "cueTypeAd", "walltimeMs": past_wall}),
            "invalidWalltimeMs",
        ),
        // Shorter than 1.5 x the 1 s target duration (the default policy's minimum).
        (
            "?id=live/demo",
            json!({"cueType": "cueTypeAd", "durationSecs": 1}),
            "invalidDurationSecs",
        ),
        (
            "?id=live/demo",
            json!({"cueType": "cueTypeAd", "durationSecs": 0}),
            "invalidDurationSecs",
        ),
        // Over the server's longest break (120 s here).
        (
            "?id=live/demo",
            json!({"cueType": "cueTypeAd", "durationSecs": 121}),
            "invalidDurationSecs",
        ),
    ] {
        let (status, answer) = cuepoint(&h, query, body.clone(), Some(TOKEN)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query} {body}: {answer}");
        assert_eq!(
            youtube_reason(status, &answer),
            reason,
            "{query} {body}: {answer}"
        );
    }
    assert!(
        h.breaks("live/demo").await.is_empty(),
        "nothing was created"
    );

    // As soon as possible: at the live edge (t0), 30 s by default.
    let (status, made) = cuepoint(&h, "?id=live%2Fdemo", body.clone(), Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{made}");
    assert_eq!(made["cueType"], "cueTypeAd");
    assert_eq!(made["durationSecs"], 30);
    assert_eq!(made["walltimeMs"], t0().timestamp_millis().to_string());
    assert_eq!(made["insertionOffsetTimeMs"], "10000");
    let id: u64 = made["id"].as_str().unwrap().parse().unwrap();
    let (status, native) = h
        .api(
            Method::GET,
            &format!("/api/v1/streams/live/demo/breaks/{id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(native["planned_duration_ms"], 30_000);
    assert_eq!(native["requested_start"], rfc3339(t0()));

    // Ahead, by program time and by offset (a string, as Google's client libraries send).
    let wall = at_seconds(120).timestamp_millis();
    let (status, made) = cuepoint(
        &h,
        "?id=live/demo&part=id",
        json!({"cueType": "cueTypeAd", "walltimeMs": wall, "durationSecs": 15}),
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{made}");
    assert_eq!(made["walltimeMs"], wall.to_string());
    assert_eq!(made["insertionOffsetTimeMs"], "130000");
    assert_eq!(made["durationSecs"], 15);
    let (status, made) = cuepoint(
        &h,
        "?id=live/demo",
        json!({"cueType": "cueTypeAd", "insertionOffsetTimeMs": "250000"}),
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{made}");
    assert_eq!(
        made["walltimeMs"],
        at_seconds(240).timestamp_millis().to_string()
    );
    assert_eq!(made["insertionOffsetTimeMs"], "250000");
    let starts: Vec<Value> = h
        .breaks("live/demo")
        .await
        .iter()
        .map(|b| b["requested_start"].clone())
        .collect();
    assert_eq!(
        starts,
        [
            rfc3339(at_seconds(240)),
            rfc3339(at_seconds(120)),
            rfc3339(t0())
        ]
    );

    // The policy refuses in YouTube's words, naming the rule and the next possible time.
    let (status, policy) = put_policy(&h, "live/demo", json!({"min_spacing_s": 60}), TOKEN).await;
    assert_eq!(status, StatusCode::OK, "{policy}");
    let (status, answer) = cuepoint(
        &h,
        "?id=live/demo",
        json!({"cueType": "cueTypeAd", "walltimeMs": at_seconds(150).timestamp_millis()}),
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert_eq!(
        youtube_reason(status, &answer),
        "userRequestsExceedRateLimit"
    );
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("min_spacing_s") && message.contains("2026-01-01T00:03:00.000Z"),
        "{message}"
    );

    // The first program time is stored: a restart counts offsets from the same time.
    h.restart_proxy().await;
    h.playlist(VIDEO).await;
    assert_eq!(
        stream_summary(&h, "live/demo").await["first_program_time"],
        rfc3339(first)
    );
    let (status, made) = cuepoint(
        &h,
        "?id=live/demo",
        json!({"cueType": "cueTypeAd", "insertionOffsetTimeMs": 400_000}),
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{made}");
    assert_eq!(
        made["walltimeMs"],
        at_seconds(390).timestamp_millis().to_string()
    );
}

/// `live_ad_break_launch`, `live_ad_break` and the status fields, every error type, the
/// Dailymotion preset's spacing and hourly count, and a disabled stream whose playlists keep
/// serving unchanged while its published break ends normally.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dailymotion_ad_breaks_status_and_errors() {
    let h = start("api-dailymotion", classic(), BreakPolicy::DAILYMOTION).await;
    let (status, answer, _) = dm_post(&h, "live/demo", "live_ad_break_launch=1", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(dailymotion_type(status, &answer), "not_found");
    h.playlist(VIDEO).await;

    let fields = "live_ad_break,live_ad_break_remaining,live_ad_break_end_time";
    let (status, answer) = dm_get(&h, "live/demo", fields, Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer,
        json!({"live_ad_break": true, "live_ad_break_remaining": 24, "live_ad_break_end_time": null})
    );

    // One ad: a 30 s break at the live edge.
    let (status, answer, _) =
        dm_post(&h, "live%2Fdemo", "live_ad_break_launch=1", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let end = at_seconds(30).timestamp();
    assert_eq!(
        answer,
        json!({"id": "live/demo", "live_ad_break": true, "live_ad_break_remaining": 23, "live_ad_break_end_time": end})
    );
    let breaks = h.breaks("live/demo").await;
    assert_eq!(breaks.len(), 1);
    assert_eq!(breaks[0]["planned_duration_ms"], 30_000);
    assert_eq!(breaks[0]["requested_start"], rfc3339(t0()));

    // Errors, each with its type.
    for (form, status_wanted, kind) in [
        (
            "live_ad_break_launch=0",
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
        ),
        (
            "live_ad_break_launch=two",
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
        ),
        (
            "live_ad_break=maybe",
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
        ),
        ("title=News", StatusCode::BAD_REQUEST, "invalid_parameter"),
        ("", StatusCode::BAD_REQUEST, "missing_required_parameter"),
        // Five ads of 30 s are over the server's longest break (120 s here).
        (
            "live_ad_break_launch=5",
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
        ),
    ] {
        let (status, answer, _) = dm_post(&h, "live/demo", form, Some(TOKEN)).await;
        assert_eq!(status, status_wanted, "{form}: {answer}");
        assert_eq!(dailymotion_type(status, &answer), kind, "{form}: {answer}");
    }
    let (status, answer) = dm_get(&h, "live/demo", "title", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(dailymotion_type(status, &answer), "invalid_parameter");
    let (status, answer) = dm_get(&h, "live/other", "id", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(dailymotion_type(status, &answer), "not_found");
    let (status, answer, _) = dm_post(&h, "live/demo", "live_ad_break_launch=1", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(dailymotion_type(status, &answer), "invalid_token");
    let (status, answer, raw) =
        dm_post(&h, "live/demo", "live_ad_break_launch=1", Some(READ)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(dailymotion_type(status, &answer), "access_forbidden");
    assert!(
        raw.headers[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .contains("insufficient_scope")
    );
    let (status, answer) = dm_get(&h, "live/demo", "live_ad_break", Some(READ)).await;
    assert_eq!(
        (status, answer),
        (StatusCode::OK, json!({"live_ad_break": true}))
    );
    // A GET without `fields` is not the API: it goes to the packager like any player's.
    let (status, _, _) = send(&h, Method::GET, "/video/live/demo", Some(TOKEN), None, None).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "the packager has no /video/ path"
    );
    assert_eq!(
        h.breaks("live/demo").await.len(),
        1,
        "no error created a break"
    );

    // 31 s on the first break has ended, but the next may start 45 s after it.
    for _ in 0..31 {
        h.advance_ms(1000);
        h.playlist(VIDEO).await;
    }
    let (status, answer, raw) =
        dm_post(&h, "live/demo", "live_ad_break_launch=1", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{answer}");
    assert_eq!(dailymotion_type(status, &answer), "rate_limit_exceeded");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("min_spacing_s") && message.contains("2026-01-01T00:00:45.000Z"),
        "{message}"
    );
    assert_eq!(raw.headers[header::RETRY_AFTER], "14");
    for _ in 0..15 {
        h.advance_ms(1000);
        h.playlist(VIDEO).await;
    }
    // Two ads: a 60 s break.
    let (status, answer, _) = dm_post(
        &h,
        "live/demo",
        "live_ad_break_launch=2&fields=live_ad_break_remaining,live_ad_break_end_time",
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        answer,
        json!({"live_ad_break_remaining": 22, "live_ad_break_end_time": at_seconds(46 + 60).timestamp()})
    );
    h.advance_ms(2000);
    let active = h.playlist(VIDEO).await;
    assert!(active.contains("#EXT-X-CUE-OUT:DURATION=60"), "{active}");

    // Disabled: every launch refused, the playlist exactly as before, the break ends normally.
    let (status, answer, _) = dm_post(&h, "live/demo", "live_ad_break=false", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["live_ad_break"], false);
    assert_eq!(answer["live_ad_break_remaining"], 0);
    assert_eq!(
        h.playlist(VIDEO).await,
        active,
        "disabling changes no playlist"
    );
    let (status, answer, _) = dm_post(&h, "live/demo", "live_ad_break_launch=1", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert_eq!(dailymotion_type(status, &answer), "access_forbidden");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("disabled")
    );
    let mut ended = false;
    for _ in 0..64 {
        h.advance_ms(1000);
        if h.playlist(VIDEO).await.contains("#EXT-X-CUE-IN") {
            ended = true;
            break;
        }
    }
    assert!(
        ended,
        "the published break ended while breaks were disabled"
    );
    let (status, answer) = dm_get(
        &h,
        "live/demo",
        "live_ad_break,live_ad_break_remaining",
        Some(TOKEN),
    )
    .await;
    assert_eq!(
        (status, answer),
        (
            StatusCode::OK,
            json!({"live_ad_break": false, "live_ad_break_remaining": 0})
        )
    );
    // Enabled again: launches work (the preset's values were kept with the switch).
    let (status, answer, _) = dm_post(
        &h,
        "live/demo",
        "live_ad_break=true&live_ad_break_launch=1",
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["live_ad_break_remaining"], 21);
    let (status, policy) = h
        .api(Method::GET, "/api/v1/streams/live/demo/policy", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        policy,
        json!({"max_per_hour": 24, "min_spacing_s": 45, "min_duration_s": null, "max_duration_s": null, "enabled": true})
    );
}

/// The policy endpoints, the 25th break of an hour, a break closer than the spacing and a
/// disabled stream, each refusal in every style's shape; read tokens read but never write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_refuses_in_every_style_and_read_tokens_only_read() {
    let h = start("api-policy", PackagerConfig::default(), BreakPolicy::NONE).await;
    let (status, _) = h
        .api(Method::GET, "/api/v1/streams/live/demo/policy", None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "unknown stream");
    h.playlist(VIDEO).await;
    h.playlist(LL_VIDEO).await;

    let (status, policy) = h
        .api(Method::GET, "/api/v1/streams/live/demo/policy", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        policy,
        json!({"max_per_hour": null, "min_spacing_s": 0, "min_duration_s": null, "max_duration_s": null, "enabled": true})
    );
    for (bad, needle) in [
        (json!({"max_per_hour": 0}), "max_per_hour"),
        (json!({"min_spacing_s": -3}), "min_spacing_s"),
        (json!({"max_duration_s": 121}), "max_duration_s"),
        (
            json!({"min_duration_s": 10, "max_duration_s": 5}),
            "min_duration_s",
        ),
        (json!({"enabled": "no"}), "enabled"),
        (json!({"cap": 3}), "cap"),
    ] {
        let (status, answer) = put_policy(&h, "live/demo", bad.clone(), TOKEN).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {answer}");
        assert!(
            answer["error"].as_str().unwrap().contains(needle),
            "{bad}: {answer}"
        );
    }

    // The default minimum is 1.5 x the target duration (1 s segments): native 400 naming it.
    let (status, answer) = h
        .create_break("live/demo", json!({"duration_ms": 1000}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["rule"], "min_duration_s");

    // 24 breaks an hour, 45 s apart. Scheduled a minute apart from t0 + 60 s, the 25th would
    // make the hour from the first hold 25 starts: refused until t0 + 60 s + 1 h.
    let (status, stored) = put_policy(
        &h,
        "live/demo",
        json!({"max_per_hour": 24, "min_spacing_s": 45}),
        TOKEN,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{stored}");
    assert_eq!(stored["max_per_hour"], 24);
    for i in 0..24 {
        let start = rfc3339(at_seconds(60 + 60 * i));
        let (status, made) = h
            .create_break("live/demo", json!({"duration_ms": 30000, "start": start}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "break {}: {made}", i + 1);
    }
    let (status, answer, raw) = send(
        &h,
        Method::POST,
        "/api/v1/streams/live/demo/breaks",
        Some(TOKEN),
        Some("application/json"),
        Some(json!({"duration_ms": 30000, "start": rfc3339(at_seconds(60 + 60 * 24))}).to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{answer}");
    assert_eq!(answer["rule"], "max_per_hour");
    assert_eq!(answer["next_allowed_at"], rfc3339(at_seconds(60 + 3600)));
    assert_eq!(
        raw.headers[header::RETRY_AFTER],
        (3600 - 60 * 24).to_string()
    );
    assert_eq!(
        h.breaks("live/demo").await.len(),
        24,
        "the 25th was not created"
    );
    let (status, made) = h
        .create_break(
            "live/demo",
            json!({"duration_ms": 30000, "start": rfc3339(at_seconds(60 + 3600))}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "one hour after the first: {made}"
    );

    // A break closer than the spacing, in every style (on the LL stream: a break 30 s ahead).
    let (status, _) = put_policy(&h, "ll/demo", json!({"min_spacing_s": 45}), TOKEN).await;
    assert_eq!(status, StatusCode::OK);
    let edge: DateTime<Utc> = stream_summary(&h, "ll/demo").await["live_edge"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let ahead = edge + Duration::seconds(30);
    let (status, made) = h
        .create_break(
            "ll/demo",
            json!({"duration_ms": 3000, "start": rfc3339(ahead)}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let next = rfc3339(ahead + Duration::seconds(45));
    let (status, answer, raw) = send(
        &h,
        Method::POST,
        "/api/v1/streams/ll/demo/breaks",
        Some(TOKEN),
        Some("application/json"),
        Some(json!({"duration_ms": 3000}).to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{answer}");
    assert_eq!(
        (answer["rule"].as_str(), answer["next_allowed_at"].as_str()),
        (Some("min_spacing_s"), Some(next.as_str()))
    );
    assert_eq!(raw.headers[header::RETRY_AFTER], "75");
    let (status, answer) = ome_out(&h, "ll/demo", 3000, TOKEN).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["statusCode"], 400);
    let message = answer["message"].as_str().unwrap();
    assert!(
        message.starts_with("[HTTP] refused by the break policy")
            && message.contains(&next)
            && message.ends_with("(400)"),
        "{message}"
    );
    let (status, answer) = cuepoint(
        &h,
        "?id=ll/demo",
        json!({"cueType": "cueTypeAd", "durationSecs": 3}),
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert_eq!(
        youtube_reason(status, &answer),
        "userRequestsExceedRateLimit"
    );
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("min_spacing_s")
    );
    let (status, answer, raw) = dm_post(&h, "ll/demo", "live_ad_break_launch=1", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{answer}");
    assert_eq!(dailymotion_type(status, &answer), "rate_limit_exceeded");
    assert!(raw.headers.contains_key(header::RETRY_AFTER));
    assert_eq!(
        h.breaks("ll/demo").await.len(),
        1,
        "nothing else was created"
    );

    // Disabled: refused in every style; the playlist is served as before; scheduled breaks stay
    // and can still be cancelled.
    let playlist = h.playlist(VIDEO).await;
    let (status, _) = put_policy(
        &h,
        "live/demo",
        json!({"max_per_hour": 24, "min_spacing_s": 45, "enabled": false}),
        TOKEN,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h.playlist(VIDEO).await, playlist);
    let (status, answer) = h
        .create_break(
            "live/demo",
            json!({"duration_ms": 30000, "start": rfc3339(at_seconds(3 * 3600))}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert_eq!(answer["rule"], "enabled");
    assert!(answer["next_allowed_at"].is_null());
    let (status, answer) = ome_out(&h, "live/demo", 30000, TOKEN).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("disabled"),
        "{answer}"
    );
    let (status, answer) = cuepoint(
        &h,
        "?id=live/demo",
        json!({"cueType": "cueTypeAd"}),
        Some(TOKEN),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        youtube_reason(status, &answer),
        "userRequestsExceedRateLimit"
    );
    let (status, answer, _) = dm_post(&h, "live/demo", "live_ad_break_launch=1", Some(TOKEN)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(dailymotion_type(status, &answer), "access_forbidden");
    assert_eq!(h.breaks("live/demo").await.len(), 25);
    let last = h.breaks("live/demo").await[0]["id"].clone();
    let (status, cancelled) = h
        .api(
            Method::DELETE,
            &format!("/api/v1/streams/live/demo/breaks/{last}"),
            None,
        )
        .await;
    assert_eq!(
        (status, &cancelled["state"]),
        (StatusCode::OK, &json!("cancelled"))
    );

    // Read tokens: every read works, every write is 403 in its style's shape.
    for path in [
        "/api/v1/streams",
        "/api/v1/streams/live/demo/breaks",
        "/api/v1/streams/live/demo/policy",
        "/video/live/demo?fields=live_ad_break",
    ] {
        let (status, answer, _) = send(&h, Method::GET, path, Some(READ), None, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {answer}");
    }
    for (method, path, body) in [
        (
            Method::POST,
            "/api/v1/streams/live/demo/breaks",
            json!({"duration_ms": 30000}),
        ),
        (
            Method::DELETE,
            "/api/v1/streams/live/demo/breaks/1",
            Value::Null,
        ),
        (
            Method::POST,
            "/api/v1/streams/live/demo/breaks/1/end",
            Value::Null,
        ),
        (Method::PUT, "/api/v1/streams/live/demo/policy", json!({})),
    ] {
        let (status, answer, raw) = send(
            &h,
            method.clone(),
            path,
            Some(READ),
            Some("application/json"),
            Some(body.to_string()),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {answer}");
        assert_eq!(answer["status"], 403);
        assert!(
            answer["error"].as_str().unwrap().contains("only read"),
            "{answer}"
        );
        assert!(raw.headers.contains_key(header::WWW_AUTHENTICATE));
    }
    let (status, answer) = ome_out(&h, "live/demo", 30000, READ).await;
    assert_eq!(
        (status, &answer["statusCode"]),
        (StatusCode::FORBIDDEN, &json!(403)),
        "{answer}"
    );
    assert!(answer["message"].as_str().unwrap().ends_with("(403)"));
    let (status, answer) = cuepoint(
        &h,
        "?id=live/demo",
        json!({"cueType": "cueTypeAd"}),
        Some(READ),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        youtube_reason(status, &answer),
        "insufficientLivePermissions"
    );
    let (status, answer, _) = dm_post(&h, "live/demo", "live_ad_break=true", Some(READ)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(dailymotion_type(status, &answer), "access_forbidden");
    let (status, policy) = h
        .api(Method::GET, "/api/v1/streams/live/demo/policy", None)
        .await;
    assert_eq!(
        (status, &policy["enabled"]),
        (StatusCode::OK, &json!(false)),
        "a read token changed nothing"
    );
}

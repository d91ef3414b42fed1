//! Proxy acceptance tests driven through the break API, with the clock-driven packager
//! (crate::packager) upstream. Time moves only when a test advances the ManualClock; the
//! break positions asserted below follow from it exactly (1 s segments, live edge at the
//! end of the newest segment).
mod proxy_support;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use hlsplice::packager::PackagerConfig;
use http::{Method, StatusCode};
use proxy_support::*;
use serde_json::{Value, json};
use std::sync::Arc;

fn classic() -> PackagerConfig {
    PackagerConfig {
        part_ms: None,
        ..PackagerConfig::default()
    }
}

fn date(value: &Value) -> DateTime<Utc> {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("not a date: {value}"));
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

const VIDEO: &str = "/live/demo/video.m3u8";
const AUDIO: &str = "/live/demo/audio.m3u8";

/// The rule every break event follows: `marker` is not in the video playlist before the next
/// segment, and once that segment is published (one more second of packager time) it stands on
/// it, `msn`. Returns that video playlist.
async fn lands_on_next_segment(
    h: &Harness,
    video: &mut Published,
    audio: &mut Published,
    marker: &str,
    msn: u64,
) -> String {
    let before = refresh(h, video, audio).await;
    let name = marker.trim_end_matches(':');
    assert!(
        !before.contains(name),
        "{name} before the next segment:\n{before}"
    );
    h.advance_ms(1000);
    let after = refresh(h, video, audio).await;
    assert_eq!(
        first_segment_with(&after, marker).map(|u| msn_of(&u)),
        Some(msn),
        "{name} on the first segment published after the request:\n{after}"
    );
    after
}

/// Refreshes both renditions, checks that no published tag changed, returns the video playlist.
async fn refresh(h: &Harness, published: &mut Published, audio: &mut Published) -> String {
    let video = h.playlist(VIDEO).await;
    published.check(&video);
    audio.check(&h.playlist(AUDIO).await);
    video
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn break_lifecycle_cue_out_cont_auto_in() {
    let h = Harness::start("lifecycle", classic()).await;
    let (mut video_tags, mut audio_tags) = (Published::default(), Published::default());
    let before = refresh(&h, &mut video_tags, &mut audio_tags).await;
    let newest = msn_of(&last_segment(&before));

    let (status, created) = h
        .create_break("live/demo", json!({"duration_ms": 3000, "start": "now"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["state"], "scheduled");
    assert_eq!(
        created["requested_start"], "2026-01-01T00:00:00.000Z",
        "now = the live edge, not the wall clock"
    );
    assert!(created["decided_start"].is_null());
    assert_eq!(created["planned_duration_ms"], 3000);
    assert!(
        created["daterange_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );
    assert!(created["event_id"].as_u64().is_some());
    for section in ["scte35_out", "scte35_in"] {
        let hex = created[section]["hex"].as_str().unwrap();
        let b64 = created[section]["base64"].as_str().unwrap();
        assert!(hex.starts_with("0x"));
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        assert_eq!(
            hex.len(),
            2 + 2 * bytes.len(),
            "{section}: hex and base64 disagree"
        );
    }
    // Nothing is marked before a new segment exists.
    let same = refresh(&h, &mut video_tags, &mut audio_tags).await;
    assert!(!same.contains("#EXT-X-CUE-OUT"), "{same}");

    h.advance_ms(1000);
    let out = refresh(&h, &mut video_tags, &mut audio_tags).await;
    let first = first_segment_with(&out, "#EXT-X-CUE-OUT:").expect("CUE-OUT after one segment");
    assert_eq!(
        msn_of(&first),
        newest + 1,
        "CUE-OUT goes on the first segment published after the request:\n{out}"
    );
    let tags = video_tags.tags(&first).unwrap();
    assert!(
        tags.iter()
            .any(|t| t.starts_with("#EXT-X-DATERANGE") && t.contains("SCTE35-OUT=")),
        "{tags:?}"
    );
    let active = h.breaks("live/demo").await;
    assert_eq!(active[0]["state"], "active");
    assert_eq!(active[0]["decided_start"], "2026-01-01T00:00:00.000Z");

    for step in 1..=2u64 {
        h.advance_ms(1000);
        let cont = refresh(&h, &mut video_tags, &mut audio_tags).await;
        let uri = last_segment(&cont);
        assert_eq!(msn_of(&uri), newest + 1 + step);
        let tags = video_tags.tags(&uri).unwrap();
        assert!(
            tags.iter().any(|t| t.starts_with("#EXT-X-CUE-OUT-CONT")),
            "segment {uri}: {tags:?}"
        );
        assert!(!cont.contains("#EXT-X-CUE-IN"), "{cont}");
    }

    h.advance_ms(1000);
    let back = refresh(&h, &mut video_tags, &mut audio_tags).await;
    let in_uri = first_segment_with(&back, "#EXT-X-CUE-IN").expect("auto IN after the duration");
    assert_eq!(msn_of(&in_uri), newest + 4, "IN 3 s after the OUT:\n{back}");
    let ended = h.breaks("live/demo").await;
    assert_eq!(ended[0]["state"], "ended");
    assert_eq!(
        date(&ended[0]["decided_end"]) - date(&ended[0]["decided_start"]),
        chrono::Duration::seconds(3)
    );
    assert!(
        back.lines()
            .any(|l| l.starts_with("#EXT-X-DATERANGE") && l.contains("SCTE35-IN=")),
        "{back}"
    );

    // Both renditions carry the same DATERANGE set once both have listed the IN segment (audio
    // boundaries trail the video's by a few ms), and later refreshes change nothing published.
    assert_eq!(dateranges(&back).len(), 2, "{back}");
    for _ in 0..3 {
        h.advance_ms(1000);
        refresh(&h, &mut video_tags, &mut audio_tags).await;
    }
    let audio = h.playlist(AUDIO).await;
    let video = h.playlist(VIDEO).await;
    assert_eq!(
        dateranges(&audio),
        dateranges(&video),
        "audio:\n{audio}\nvideo:\n{video}"
    );
    assert_eq!(dateranges(&video).len(), 2);
    // Second refresh of identical bytes is a cache hit.
    h.playlist(VIDEO).await;
    h.playlist(VIDEO).await;
    assert!(h.metric("hlsplice_playlist_cache_hits_total").await >= 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn early_in_and_cancel() {
    let h = Harness::start("early-in", classic()).await;
    let (mut video_tags, mut audio_tags) = (Published::default(), Published::default());
    refresh(&h, &mut video_tags, &mut audio_tags).await;
    let (status, created) = h
        .create_break("live/demo", json!({"duration_ms": 30000}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_u64().unwrap();
    h.advance_ms(2000);
    let during = refresh(&h, &mut video_tags, &mut audio_tags).await;
    let newest = msn_of(&last_segment(&during));

    // Cancelling a started break is refused; ending it early works.
    let (status, body) = h
        .api(
            Method::DELETE,
            &format!("/api/v1/streams/live/demo/breaks/{id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["break"]["id"], id);
    let (status, ended) = h
        .api(
            Method::POST,
            &format!("/api/v1/streams/live/demo/breaks/{id}/end"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{ended}");
    assert_eq!(ended["requested_end"], "2026-01-01T00:00:02.000Z");
    let (status, again) = h
        .api(
            Method::POST,
            &format!("/api/v1/streams/live/demo/breaks/{id}/end"),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a repeated IN is idempotent: {again}"
    );
    assert_eq!(again["requested_end"], ended["requested_end"]);

    h.advance_ms(1000);
    let back = refresh(&h, &mut video_tags, &mut audio_tags).await;
    let in_uri = first_segment_with(&back, "#EXT-X-CUE-IN").expect("early IN");
    assert_eq!(
        msn_of(&in_uri),
        newest + 1,
        "early IN on the next segment:\n{back}"
    );
    assert_eq!(h.breaks("live/demo").await[0]["state"], "ended");
    let (status, body) = h
        .api(
            Method::POST,
            &format!("/api/v1/streams/live/demo/breaks/{id}/end"),
            None,
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "IN with nothing active: {body}"
    );

    // A break scheduled ahead, cancelled before it starts, never appears.
    let (status, future) = h
        .create_break(
            "live/demo",
            json!({"duration_ms": 2000, "start": "2026-01-01T00:00:06Z", "event_id": 77}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{future}");
    assert_eq!(future["event_id"], 77);
    let future_id = future["id"].as_u64().unwrap();
    let (status, cancelled) = h
        .api(
            Method::DELETE,
            &format!("/api/v1/streams/live%2Fdemo/breaks/{future_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["state"], "cancelled");
    let (status, _) = h
        .api(
            Method::DELETE,
            &format!("/api/v1/streams/live/demo/breaks/{future_id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let daterange_id = future["daterange_id"].as_str().unwrap().to_owned();
    for _ in 0..6 {
        h.advance_ms(1000);
        let playlist = refresh(&h, &mut video_tags, &mut audio_tags).await;
        assert!(!playlist.contains(&daterange_id), "{playlist}");
        let outs: Vec<_> = markers(&playlist)
            .into_iter()
            .filter(|(uri, tags)| {
                msn_of(uri) > msn_of(&in_uri)
                    && tags.iter().any(|t| t.starts_with("#EXT-X-CUE-OUT"))
            })
            .collect();
        assert!(outs.is_empty(), "{playlist}");
    }
    let (status, body) = h
        .api(
            Method::POST,
            "/api/v1/streams/live/demo/breaks/99/end",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_rules_conflicts_idempotency_and_validation() {
    let h = Harness::start("api-rules", classic()).await;
    let (status, body) = h
        .create_break("live/demo", json!({"duration_ms": 1000}))
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "unknown before any playlist: {body}"
    );
    h.playlist(VIDEO).await;

    // Auth: no header, wrong token, Basic with the token.
    let addr = h.proxy_addr();
    let path = "/api/v1/streams/live/demo/breaks";
    let none = request(&h.client, addr, Method::GET, path, &[], None).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert!(none.headers.get("www-authenticate").is_some());
    let wrong = request(
        &h.client,
        addr,
        Method::GET,
        path,
        &[("authorization", "Bearer nope")],
        None,
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(TOKEN)
    );
    let ok = request(
        &h.client,
        addr,
        Method::GET,
        path,
        &[("authorization", &basic)],
        None,
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK);

    // Validation.
    for (body, needle) in [
        (json!({"duration_ms": 0}), "positive"),
        (json!({"duration_ms": 120_001}), "maximum"),
        (json!({"start": "now"}), "duration_ms"),
        (
            json!({"duration_ms": 1000, "start": "yesterday"}),
            "RFC 3339",
        ),
        (json!({"duration_ms": 1000, "color": "red"}), "color"),
        (json!({"duration_ms": -5}), "duration_ms"),
    ] {
        let (status, answer) = h.create_break("live/demo", body.clone()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {answer}");
        assert!(
            answer["error"].as_str().unwrap_or("").contains(needle),
            "{body} -> {answer}"
        );
    }
    let auth = format!("Bearer {TOKEN}");
    let broken = request(
        &h.client,
        addr,
        Method::POST,
        path,
        &[("authorization", &auth)],
        Some("{\"duration_ms\": ".into()),
    )
    .await;
    assert_eq!(broken.status, StatusCode::BAD_REQUEST, "{}", broken.text());
    assert!(broken.text().contains("invalid JSON"), "{}", broken.text());
    let huge = format!(
        "{{\"duration_ms\": 1000, \"request_id\": \"{}\"}}",
        "x".repeat(70 * 1024)
    );
    let too_large = request(
        &h.client,
        addr,
        Method::POST,
        path,
        &[("authorization", &auth)],
        Some(huge),
    )
    .await;
    assert_eq!(too_large.status, StatusCode::PAYLOAD_TOO_LARGE);
    let (status, _) = h
        .create_break("live/%2e%2e", json!({"duration_ms": 1000}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = h
        .create_break("live/other", json!({"duration_ms": 1000}))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = h
        .create_break(
            "live/demo",
            json!({"duration_ms": 1000, "start": "2025-12-31T23:00:00Z"}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a start before the live edge is refused: {body}"
    );

    // Idempotency and the one-break rule.
    let (status, first) = h
        .create_break(
            "live/demo",
            json!({"duration_ms": 5000, "request_id": "r-1"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (status, again) = h
        .create_break(
            "live/demo",
            json!({"duration_ms": 9000, "request_id": "r-1"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["planned_duration_ms"], 5000);
    let (status, conflict) = h
        .create_break(
            "live/demo",
            json!({"duration_ms": 1000, "request_id": "r-2"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{conflict}");
    assert_eq!(conflict["break"]["id"], first["id"]);
    h.advance_ms(2000);
    h.playlist(VIDEO).await;
    let (status, conflict) = h
        .create_break("live/demo", json!({"duration_ms": 1000}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "OUT while active: {conflict}");
    assert_eq!(conflict["break"]["state"], "active");
    let breaks = h.breaks("live/demo").await;
    assert_eq!(breaks.len(), 1, "no second break was created: {breaks:?}");
    let (status, again) = h
        .create_break(
            "live/demo",
            json!({"duration_ms": 1000, "request_id": "r-1"}),
        )
        .await;
    assert_eq!(
        (status, again["id"].clone()),
        (StatusCode::OK, first["id"].clone())
    );

    let one = format!("/api/v1/streams/live/demo/breaks/{}", first["id"]);
    let (status, single) = h.api(Method::GET, &one, None).await;
    assert_eq!(
        (status, single["id"].clone()),
        (StatusCode::OK, first["id"].clone())
    );
    let head = request(&h.client, addr, Method::HEAD, VIDEO, &[], None).await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());
    let length: usize = head.headers["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(length, h.playlist(VIDEO).await.len());
    let (status, streams) = h.api(Method::GET, "/api/v1/streams", None).await;
    assert_eq!(status, StatusCode::OK);
    let demo = streams["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["stream"] == "live/demo")
        .cloned()
        .unwrap();
    assert_eq!(demo["live_edge"], "2026-01-01T00:00:02.000Z");
    assert_eq!(demo["active_break"]["id"], first["id"]);
    assert!(h.metric("hlsplice_active_breaks").await >= 1.0);
}

fn ome_path(stream: &str, suffix: &str) -> String {
    format!("/v1/vhosts/default/apps/live/streams/{stream}:{suffix}")
}

async fn ome(h: &Harness, path: &str, body: &str) -> (StatusCode, Value, Response) {
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(TOKEN)
    );
    let response = request(
        &h.client,
        h.proxy_addr(),
        Method::POST,
        path,
        &[("authorization", &auth)],
        Some(body.to_owned()),
    )
    .await;
    let value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
    (response.status, value, response)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ovenmediaengine_send_event_cue_and_scte35() {
    let h = Harness::start("ome", classic()).await;
    let send = ome_path("demo", "sendEvent");
    let cue_out = r#"{"eventFormat":"cue","events":[{"cueType":"out","duration":2000}]}"#;

    let unauth = request(
        &h.client,
        h.proxy_addr(),
        Method::POST,
        &send,
        &[],
        Some(cue_out.into()),
    )
    .await;
    assert_eq!(unauth.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        unauth.headers["www-authenticate"],
        "Basic realm=\"OvenMediaEngine\""
    );
    let body: Value = serde_json::from_slice(&unauth.body).unwrap();
    assert_eq!(body["statusCode"], 401);
    assert_eq!(
        body["message"],
        "[HTTP] Authorization header is required to call API (401)"
    );

    let (status, body, _) = ome(&h, &send, cue_out).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["statusCode"], 404);

    let before = h.playlist(VIDEO).await;
    let newest = msn_of(&last_segment(&before));
    let (status, body, response) = ome(&h, &send, cue_out).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, json!({"message": "OK", "statusCode": 200}));
    assert_eq!(response.headers["content-type"], "application/json");
    let (status, body, _) = ome(&h, &send, cue_out).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "an OUT while one is scheduled: {body}"
    );
    assert_eq!(body["statusCode"], 409);

    h.advance_ms(1000);
    let out = h.playlist(VIDEO).await;
    assert_eq!(
        first_segment_with(&out, "#EXT-X-CUE-OUT:").map(|u| msn_of(&u)),
        Some(newest + 1),
        "{out}"
    );
    let (status, body, _) = ome(
        &h,
        &send,
        r#"{"eventFormat":"cue","events":[{"cueType":"in"}]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    h.advance_ms(1000);
    let back = h.playlist(VIDEO).await;
    assert_eq!(
        first_segment_with(&back, "#EXT-X-CUE-IN").map(|u| msn_of(&u)),
        Some(newest + 2),
        "{back}"
    );
    let (status, body, _) = ome(
        &h,
        &send,
        r#"{"eventFormat":"cue","events":[{"cueType":"in"}]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "IN with none active: {body}");

    // scte35 format through :sendEvents, with an explicit splice_event_id.
    let events = ome_path("demo", "sendEvents");
    let scte_out = r#"[{"eventFormat":"scte35","events":[{"spliceCommand":"spliceInsert","id":2025,"type":"out","duration":4000,"autoReturn":true}]}]"#;
    let (status, body, _) = ome(&h, &events, scte_out).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let breaks = h.breaks("live/demo").await;
    assert_eq!(breaks.first().unwrap()["event_id"], 2025);
    h.advance_ms(1000);
    h.playlist(VIDEO).await;
    let (status, body, _) = ome(
        &h,
        &events,
        r#"[{"eventFormat":"scte35","events":[{"id":7,"type":"in"}]}]"#,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "IN for another event id: {body}"
    );
    let (status, body, _) = ome(
        &h,
        &events,
        r#"[{"eventFormat":"scte35","events":[{"id":2025,"type":"in"}]}]"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    for (bad, needle) in [
        (
            r#"{"eventFormat":"id3v2","events":[{"frameType":"TXXX","info":"a","data":"b"}]}"#,
            "not supported",
        ),
        (r#"[1, 2"#, "JSON"),
        (
            r#"{"eventFormat":"cue","events":[{"cueType":"out"}]}"#,
            "duration",
        ),
        (r#"{"events":[{"cueType":"in"}]}"#, "eventFormat"),
    ] {
        let (status, body, _) = ome(&h, &send, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad} -> {body}");
        assert_eq!(body["statusCode"], 400);
        assert!(
            body["message"].as_str().unwrap().contains(needle),
            "{bad} -> {body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_mid_break_serves_same_tags_and_ends_on_time() {
    let mut h = Harness::start("restart", classic()).await;
    let (mut video_tags, mut audio_tags) = (Published::default(), Published::default());
    let before = refresh(&h, &mut video_tags, &mut audio_tags).await;
    let newest = msn_of(&last_segment(&before));
    let (status, created) = h
        .create_break(
            "live/demo",
            json!({"duration_ms": 4000, "request_id": "once"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    h.advance_ms(2000);
    let during = refresh(&h, &mut video_tags, &mut audio_tags).await;
    assert!(during.contains("#EXT-X-CUE-OUT-CONT"), "{during}");

    h.kill_and_restart_proxy().await;

    // Same tags on the same segments, before and after the clock moves on.
    let after = refresh(&h, &mut video_tags, &mut audio_tags).await;
    assert_eq!(markers(&after), markers(&during));
    let (status, again) = h
        .create_break(
            "live/demo",
            json!({"duration_ms": 4000, "request_id": "once"}),
        )
        .await;
    assert_eq!(
        (status, again["id"].clone()),
        (StatusCode::OK, created["id"].clone()),
        "idempotency keys survive"
    );
    for _ in 0..2 {
        h.advance_ms(1000);
        let playlist = refresh(&h, &mut video_tags, &mut audio_tags).await;
        assert!(!playlist.contains("#EXT-X-CUE-IN"), "{playlist}");
    }
    h.advance_ms(1000);
    let back = refresh(&h, &mut video_tags, &mut audio_tags).await;
    let in_uri = first_segment_with(&back, "#EXT-X-CUE-IN")
        .unwrap_or_else(|| panic!("IN after the restart:\n{back}\n{:#?}", markers(&after)));
    assert_eq!(
        msn_of(&in_uri),
        newest + 5,
        "ends when it would have:\n{back}"
    );
    let breaks = h.breaks("live/demo").await;
    assert_eq!(breaks.len(), 1);
    assert_eq!(breaks[0]["state"], "ended");
}

const LL_VIDEO: &str = "/ll/demo/video.m3u8";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ll_hls_blocking_reload_delta_updates_and_breaks() {
    let h = Harness::start("ll", PackagerConfig::default()).await;
    let response = h.get(LL_VIDEO).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(
        response.headers["content-type"],
        "application/vnd.apple.mpegurl"
    );
    assert_eq!(
        response.headers["cache-control"], "max-age=0",
        "half of a 250 ms part target, whole seconds"
    );
    let first = response.text();
    assert!(first.contains("#EXT-X-PART:"), "{first}");
    assert!(
        !first.contains("CAN-SKIP-DATERANGES"),
        "withdrawn by the rewriter: {first}"
    );
    let newest = msn_of(&last_segment(&first));

    let (status, body) = h
        .create_break("ll/demo", json!({"duration_ms": 2000}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // A blocking request for the next segment waits until the clock publishes it.
    let path = format!("{LL_VIDEO}?_HLS_msn={}&_HLS_part=0", newest + 1);
    let client = h.client.clone();
    let addr = h.proxy_addr();
    let waiting = tokio::spawn(async move { get(&client, addr, &path, &[]).await });
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(
        !waiting.is_finished(),
        "blocking reload answered before the part existed"
    );
    h.advance_ms(250);
    let answered = tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answered.status, StatusCode::OK, "{}", answered.text());
    assert_eq!(answered.headers["cache-control"], "max-age=60");
    let text = answered.text();
    // The break's tags go before the first part of the new segment.
    let lines: Vec<&str> = text.lines().collect();
    let out_line = lines
        .iter()
        .position(|l| l.starts_with("#EXT-X-CUE-OUT:"))
        .unwrap_or_else(|| panic!("{text}"));
    let next = lines[out_line + 1..]
        .iter()
        .find(|l| !l.starts_with("#EXT-X-PROGRAM-DATE-TIME") && !l.starts_with("#EXT-X-DATERANGE"))
        .unwrap();
    assert!(
        next.starts_with("#EXT-X-PART:") && next.contains(&format!("video_{}.0.m4s", newest + 1)),
        "{text}"
    );

    // Delta updates: v2 is asked upstream as YES, so the date ranges stay in the playlist.
    h.advance_ms(750);
    let delta = h.playlist(&format!("{LL_VIDEO}?_HLS_skip=v2")).await;
    assert!(delta.contains("#EXT-X-SKIP:SKIPPED-SEGMENTS="), "{delta}");
    assert!(!delta.contains("RECENTLY-REMOVED-DATERANGES"), "{delta}");
    assert!(delta.contains("#EXT-X-DATERANGE"), "{delta}");

    // Part by part through the break and past its IN: published tags never change, and both
    // renditions end up with the same DATERANGE set.
    let (mut video_tags, mut audio_tags) = (Published::default(), Published::default());
    for _ in 0..16 {
        h.advance_ms(250);
        video_tags.check(&h.playlist(LL_VIDEO).await);
        audio_tags.check(&h.playlist("/ll/demo/audio.m3u8").await);
    }
    let audio = h.playlist("/ll/demo/audio.m3u8").await;
    let video = h.playlist(LL_VIDEO).await;
    assert!(video.contains("#EXT-X-CUE-IN"), "{video}");
    assert_eq!(dateranges(&video).len(), 2, "{video}");
    assert_eq!(dateranges(&audio), dateranges(&video));
    let breaks = h.breaks("ll/demo").await;
    assert_eq!(breaks[0]["state"], "ended");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_create_one_break() {
    let h = Arc::new(Harness::start("concurrent", classic()).await);
    h.playlist(VIDEO).await;
    // Twenty retries of one request (same request_id) racing each other...
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let h = h.clone();
        tasks.push(tokio::spawn(async move {
            h.create_break(
                "live/demo",
                json!({"duration_ms": 2000, "request_id": "retry"}),
            )
            .await
        }));
    }
    let mut created = 0;
    let mut ids = std::collections::HashSet::new();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::OK => {}
            other => panic!("{other}: {body}"),
        }
        ids.insert(body["id"].as_u64().unwrap());
    }
    assert_eq!((created, ids.len()), (1, 1));
    // ...and twenty different OUTs racing: one wins, the rest conflict with it.
    h.advance_ms(3000);
    h.playlist(VIDEO).await;
    h.advance_ms(1000);
    h.playlist(VIDEO).await;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let h = h.clone();
        tasks.push(tokio::spawn(async move {
            h.create_break("live/demo", json!({"duration_ms": 2000}))
                .await
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap().0);
    }
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count(),
        19,
        "{statuses:?}"
    );
    assert_eq!(h.breaks("live/demo").await.len(), 2);
}

/// The live edge as the proxy reports it for `stream` (`GET /api/v1/streams/{stream}/breaks`).
async fn reported_live_edge(h: &Harness, stream: &str) -> DateTime<Utc> {
    let (status, value) = h
        .api(
            Method::GET,
            &format!("/api/v1/streams/{stream}/breaks"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{value}");
    date(&value["live_edge"])
}

/// "Now" is the live edge upstream has reached, not the one the last player left behind: with
/// no player polling while the stream advances, the API refreshes the edge from upstream first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn now_is_refreshed_from_upstream_when_no_player_polled() {
    let h = Harness::start("stale-now", classic()).await;
    let (mut video_tags, mut audio_tags) = (Published::default(), Published::default());
    let first = refresh(&h, &mut video_tags, &mut audio_tags).await;
    let newest = msn_of(&last_segment(&first));
    assert_eq!(reported_live_edge(&h, "live/demo").await, t0());

    // Five segments are published; nobody fetches a playlist.
    h.advance_ms(5000);
    let requests = h.packager.upstream_requests();
    let (status, created) = h
        .create_break("live/demo", json!({"duration_ms": 30000, "start": "now"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let refreshed_edge = t0() + chrono::Duration::seconds(5);
    assert_eq!(
        date(&created["requested_start"]),
        refreshed_edge,
        "now = the live edge upstream has reached: {created}"
    );
    assert!(
        h.packager.upstream_requests() > requests,
        "the API call fetched the playlist from upstream"
    );
    assert_eq!(reported_live_edge(&h, "live/demo").await, refreshed_edge);

    // Already published segments are never marked; the OUT goes on the next new one.
    let same = refresh(&h, &mut video_tags, &mut audio_tags).await;
    assert!(!same.contains("#EXT-X-CUE-OUT"), "{same}");
    assert_eq!(msn_of(&last_segment(&same)), newest + 5);
    h.advance_ms(1000);
    let out = refresh(&h, &mut video_tags, &mut audio_tags).await;
    let first_out = first_segment_with(&out, "#EXT-X-CUE-OUT:").expect("CUE-OUT");
    assert_eq!(
        msn_of(&first_out),
        newest + 6,
        "CUE-OUT on the first segment published after the request:\n{out}"
    );
    let out_daterange = segments(&out)
        .into_iter()
        .find(|(_, tags)| {
            tags.iter()
                .any(|t| t.starts_with("#EXT-X-DATERANGE") && t.contains("SCTE35-OUT="))
        })
        .map(|(uri, _)| msn_of(&uri));
    assert_eq!(out_daterange, Some(newest + 6), "{out}");
    let breaks = h.breaks("live/demo").await;
    assert_eq!(date(&breaks[0]["decided_start"]), refreshed_edge);

    // Early IN ("end now") after more unobserved segments: at the refreshed edge too.
    h.advance_ms(3000);
    let (status, ended) = h
        .api(Method::POST, "/api/v1/streams/live/demo/breaks/1/end", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{ended}");
    assert_eq!(
        date(&ended["requested_end"]),
        t0() + chrono::Duration::seconds(9),
        "end now = the refreshed live edge: {ended}"
    );
    lands_on_next_segment(
        &h,
        &mut video_tags,
        &mut audio_tags,
        "#EXT-X-CUE-IN",
        newest + 10,
    )
    .await;
}

/// The OvenMediaEngine API takes "now" from the refreshed live edge as well, for OUT and IN,
/// and the "start before the live edge" check of the native API uses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ovenmediaengine_out_and_in_use_the_refreshed_live_edge() {
    let h = Harness::start("stale-now-ome", classic()).await;
    let (mut video_tags, mut audio_tags) = (Published::default(), Published::default());
    let first = refresh(&h, &mut video_tags, &mut audio_tags).await;
    let newest = msn_of(&last_segment(&first));

    // A start that was ahead of the last edge a player saw is in the past by now.
    h.advance_ms(4000);
    let (status, refused) = h
        .create_break(
            "live/demo",
            json!({"duration_ms": 2000, "start": "2026-01-01T00:00:02Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(h.breaks("live/demo").await.is_empty());

    h.advance_ms(3000);
    let send = ome_path("demo", "sendEvent");
    let (status, body, _) = ome(
        &h,
        &send,
        r#"{"eventFormat":"cue","events":[{"cueType":"out","duration":30000}]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let breaks = h.breaks("live/demo").await;
    assert_eq!(breaks.len(), 1, "{breaks:?}");
    assert_eq!(
        date(&breaks[0]["requested_start"]),
        t0() + chrono::Duration::seconds(7),
        "{breaks:?}"
    );
    lands_on_next_segment(
        &h,
        &mut video_tags,
        &mut audio_tags,
        "#EXT-X-CUE-OUT:",
        newest + 8,
    )
    .await;

    // IN after four unobserved segments: at the refreshed edge, on the next new segment.
    h.advance_ms(4000);
    let (status, body, _) = ome(
        &h,
        &ome_path("demo", "sendEvents"),
        r#"[{"eventFormat":"scte35","events":[{"spliceCommand":"spliceInsert","type":"in"}]}]"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let breaks = h.breaks("live/demo").await;
    assert_eq!(
        date(&breaks[0]["requested_end"]),
        t0() + chrono::Duration::seconds(12),
        "{breaks:?}"
    );
    lands_on_next_segment(
        &h,
        &mut video_tags,
        &mut audio_tags,
        "#EXT-X-CUE-IN",
        newest + 13,
    )
    .await;
}

/// Upstream down when the API needs "now": 503 saying so, and nothing is created or changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn now_without_a_reachable_upstream_is_503_and_creates_nothing() {
    let mut h = Harness::start("stale-now-down", classic()).await;
    h.playlist(VIDEO).await;
    let later =
        json!({"duration_ms": 2000, "start": "2026-01-01T01:00:00Z", "request_id": "later"});
    let (status, scheduled) = h.create_break("live/demo", later.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{scheduled}");
    h.advance_ms(3000);
    h.stop_packager().await;

    let (status, body) = h
        .create_break("live/demo", json!({"duration_ms": 2000, "start": "now"}))
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let message = body["error"].as_str().unwrap_or("");
    assert!(
        message.contains("live edge") && message.contains("could not be refreshed from upstream"),
        "{body}"
    );
    let (status, body) = h
        .create_break(
            "live/demo",
            json!({"duration_ms": 2000, "start": "2026-01-01T00:00:01Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");

    let (status, body, _) = ome(
        &h,
        &ome_path("demo", "sendEvent"),
        r#"{"eventFormat":"cue","events":[{"cueType":"out","duration":2000}]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["statusCode"], 503);
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("could not be refreshed from upstream")),
        "{body}"
    );
    assert_eq!(h.breaks("live/demo").await, vec![scheduled.clone()]);

    // A repeated request_id needs no "now": the original is answered while upstream is down.
    let (status, repeated) = h.create_break("live/demo", later).await;
    assert_eq!(status, StatusCode::OK, "{repeated}");
    assert_eq!(repeated, scheduled);
}

/// After a restart the proxy knows the stream's media playlists from its store, so "now" is
/// refreshed from upstream before any player has asked for a playlist again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn now_right_after_a_restart_is_refreshed_from_the_stored_playlist_paths() {
    let mut h = Harness::start("restart-now", classic()).await;
    let (mut video_tags, mut audio_tags) = (Published::default(), Published::default());
    let first = refresh(&h, &mut video_tags, &mut audio_tags).await;
    let newest = msn_of(&last_segment(&first));
    // A stored timeline (one cancelled break), so the stream is known from the store after
    // the restart, as any stream with breaks is.
    let (status, later) = h
        .create_break(
            "live/demo",
            json!({"duration_ms": 2000, "start": "2026-01-01T01:00:00Z"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{later}");
    let (status, cancelled) = h
        .api(Method::DELETE, "/api/v1/streams/live/demo/breaks/1", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");

    h.restart_proxy().await;
    // Four segments are published; no player fetches anything from the new proxy.
    h.advance_ms(4000);
    let requests = h.packager.upstream_requests();
    let (status, created) = h
        .create_break("live/demo", json!({"duration_ms": 30000, "start": "now"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let refreshed_edge = t0() + chrono::Duration::seconds(4);
    assert_eq!(
        date(&created["requested_start"]),
        refreshed_edge,
        "now = the live edge upstream has reached: {created}"
    );
    assert!(
        h.packager.upstream_requests() >= requests + 2,
        "both renditions were fetched from upstream ({} -> {})",
        requests,
        h.packager.upstream_requests()
    );
    assert_eq!(reported_live_edge(&h, "live/demo").await, refreshed_edge);

    let same = refresh(&h, &mut video_tags, &mut audio_tags).await;
    assert!(!same.contains("#EXT-X-CUE-OUT"), "{same}");
    assert_eq!(msn_of(&last_segment(&same)), newest + 4);
    h.advance_ms(1000);
    let out = refresh(&h, &mut video_tags, &mut audio_tags).await;
    assert_eq!(
        first_segment_with(&out, "#EXT-X-CUE-OUT:").map(|u| msn_of(&u)),
        Some(newest + 5),
        "video: CUE-OUT on the first segment published after the request:\n{out}"
    );
    // Audio boundaries trail the video's by a few ms: its first segment after the request is
    // listed one refresh later, and carries the OUT.
    h.advance_ms(1000);
    let video = refresh(&h, &mut video_tags, &mut audio_tags).await;
    let audio = h.playlist(AUDIO).await;
    assert_eq!(
        first_segment_with(&audio, "#EXT-X-CUE-OUT:").map(|u| msn_of(&u)),
        Some(newest + 5),
        "audio: CUE-OUT on the first segment published after the request:\n{audio}"
    );
    assert!(!dateranges(&video).is_empty(), "{video}");
    assert_eq!(dateranges(&video), dateranges(&audio));
}

/// The attributes of every EXT-X-DATERANGE line, by ID.
fn daterange_attributes(playlist: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out = Vec::new();
    for line in playlist.lines() {
        let Some(list) = line.strip_prefix("#EXT-X-DATERANGE:") else {
            continue;
        };
        let mut attributes = Vec::new();
        let (mut start, mut quoted) = (0, false);
        for (i, c) in list.char_indices().chain([(list.len(), ',')]) {
            match c {
                '"' => quoted = !quoted,
                ',' if !quoted => {
                    let pair = &list[start..i];
                    let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                    attributes.push((name.to_owned(), value.to_owned()));
                    start = i + 1;
                }
                _ => {}
            }
        }
        let id = attributes
            .iter()
            .find(|(name, _)| name == "ID")
            .map(|(_, value)| value.clone())
            .unwrap_or_else(|| panic!("DATERANGE without ID: {line}"));
        out.push((id, attributes));
    }
    out
}

/// Remembers every attribute published under each DATERANGE ID and asserts none ever takes
/// another value (RFC 8216bis §4.4.5.1), within a playlist and across refreshes.
#[derive(Default)]
struct DaterangeIds {
    seen: std::collections::HashMap<(String, String), String>,
}

impl DaterangeIds {
    fn check(&mut self, playlist: &str) {
        for (id, attributes) in daterange_attributes(playlist) {
            for (name, value) in attributes {
                let before = self
                    .seen
                    .entry((id.clone(), name.clone()))
                    .or_insert_with(|| value.clone());
                assert_eq!(*before, value, "DATERANGE {id} changed {name}:\n{playlist}");
            }
        }
    }
}

/// How an OUT or IN reaches the proxy in [`early_in_right_after_the_out`].
#[derive(Clone, Copy, Debug)]
enum EventApi {
    Native,
    OmeCue,
    OmeScte35,
}

/// The OUT and IN request bodies of an OvenMediaEngine-style `api` (`None` for the native API).
fn ome_bodies(api: EventApi) -> (Option<&'static str>, Option<&'static str>) {
    match api {
        EventApi::Native => (None, None),
        EventApi::OmeCue => (
            Some(r#"{"eventFormat":"cue","events":[{"cueType":"out","duration":30000}]}"#),
            Some(r#"{"eventFormat":"cue","events":[{"cueType":"in"}]}"#),
        ),
        EventApi::OmeScte35 => (
            Some(
                r#"{"eventFormat":"scte35","events":[{"spliceCommand":"spliceInsert","id":77,"type":"out","duration":30000,"autoReturn":true}]}"#,
            ),
            Some(
                r#"{"eventFormat":"scte35","events":[{"spliceCommand":"spliceInsert","id":77,"type":"in"}]}"#,
            ),
        ),
    }
}

/// An OUT at "now" through `api` on stream `app/demo`; the new break's id.
async fn send_out(h: &Harness, app: &str, api: EventApi) -> u64 {
    let stream = format!("{app}/demo");
    let send = format!("/v1/vhosts/default/apps/{app}/streams/demo:sendEvent");
    match ome_bodies(api).0 {
        None => {
            let (status, created) = h
                .create_break(&stream, json!({"duration_ms": 30000, "start": "now"}))
                .await;
            assert_eq!(status, StatusCode::CREATED, "{api:?} OUT: {created}");
            created["id"].as_u64().unwrap()
        }
        Some(body) => {
            let (status, answer, _) = ome(h, &send, body).await;
            assert_eq!(status, StatusCode::OK, "{api:?} OUT: {answer}");
            h.breaks(&stream).await.first().unwrap()["id"]
                .as_u64()
                .unwrap()
        }
    }
}

/// An IN through `api` for break `id` of stream `app/demo`; the break as listed afterwards.
async fn send_in(h: &Harness, app: &str, api: EventApi, id: u64) -> Value {
    let stream = format!("{app}/demo");
    let send = format!("/v1/vhosts/default/apps/{app}/streams/demo:sendEvent");
    match ome_bodies(api).1 {
        None => {
            let (status, ended) = h
                .api(
                    Method::POST,
                    &format!("/api/v1/streams/{stream}/breaks/{id}/end"),
                    None,
                )
                .await;
            assert!(status.is_success(), "{api:?}: IN: {status} {ended}");
        }
        Some(body) => {
            let (status, answer, _) = ome(h, &send, body).await;
            assert_eq!(status, StatusCode::OK, "{api:?}: IN: {answer}");
        }
    }
    let listed = h.breaks(&stream).await;
    listed.iter().find(|b| b["id"] == id).unwrap().clone()
}

/// OUT, then IN at once (the clock does not move in between), through `api` on stream
/// `app/demo`. Returns the break as listed afterwards.
async fn out_then_in(h: &Harness, app: &str, api: EventApi) -> Value {
    let id = send_out(h, app, api).await;
    send_in(h, app, api, id).await
}

/// LL-HLS (RFC 8216bis §4.4.4.9): a break never starts on a segment whose parts were already
/// published. An OUT sent while a segment is being built waits for the next segment; an IN at
/// once cancels it (nothing was published). Once the OUT is decided on the next segment, an IN
/// at that same clock has no later "now" to go to: it goes on the next boundary (the first after
/// the OUT's segment) instead of being refused with 409.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn early_in_right_after_the_out_ll_hls() {
    let h = Harness::start("asap-in-ll", PackagerConfig::default()).await;
    let mut ids = DaterangeIds::default();
    for api in [EventApi::Native, EventApi::OmeCue, EventApi::OmeScte35] {
        // One part of the next segment is out: that segment is published in part.
        h.advance_ms(250);
        let building = h.playlist(LL_VIDEO).await;
        ids.check(&building);
        let b = out_then_in(&h, "ll", api).await;
        assert_eq!(b["state"], "cancelled", "{api:?}: {b}");

        // Again, and this time the OUT is decided before the IN comes.
        let before = h.playlist(LL_VIDEO).await;
        ids.check(&before);
        let newest = msn_of(&last_segment(&before));
        let id = send_out(&h, "ll", api).await;
        let mut decided = None;
        for _ in 0..8 {
            let listed = h.breaks("ll/demo").await;
            let b = listed.iter().find(|b| b["id"] == id).unwrap().clone();
            if b["state"] == "active" {
                decided = Some(b);
                break;
            }
            assert_eq!(b["state"], "scheduled", "{api:?}: {b}");
            h.advance_ms(250);
            ids.check(&h.playlist(LL_VIDEO).await);
        }
        let decided = decided.unwrap_or_else(|| panic!("{api:?}: the OUT was never decided"));
        let start = date(&decided["decided_start"]);
        assert!(
            start > date(&decided["requested_start"]),
            "{api:?}: not on the segment being built when the OUT came: {decided}"
        );
        let b = send_in(&h, "ll", api, id).await;
        assert_eq!(
            date(&b["requested_end"]),
            start + chrono::Duration::milliseconds(1),
            "{api:?}: IN as soon as possible after the start: {b}"
        );

        for _ in 0..12 {
            h.advance_ms(250);
            let playlist = h.playlist(LL_VIDEO).await;
            ids.check(&playlist);
        }
        let after = h.playlist(LL_VIDEO).await;
        let daterange_id = b["daterange_id"].as_str().unwrap();
        let out_seg = segments(&after)
            .into_iter()
            .find(|(_, tags)| {
                tags.iter()
                    .any(|t| t.contains(daterange_id) && t.contains("SCTE35-OUT="))
            })
            .map(|(uri, _)| msn_of(&uri));
        assert_eq!(
            out_seg,
            Some(newest + 2),
            "{api:?}: the OUT on the first segment none of whose parts was published:\n{after}"
        );
        let in_seg = segments(&after)
            .into_iter()
            .find(|(_, tags)| {
                tags.iter()
                    .any(|t| t.contains(daterange_id) && t.contains("SCTE35-IN="))
            })
            .map(|(uri, _)| msn_of(&uri));
        assert_eq!(
            in_seg,
            Some(newest + 3),
            "{api:?}: SCTE35-IN on the first boundary after the OUT's segment:\n{after}"
        );
        let cue_in = segments(&after)
            .into_iter()
            .filter(|(_, tags)| tags.iter().any(|t| t.starts_with("#EXT-X-CUE-IN")))
            .map(|(uri, _)| msn_of(&uri))
            .next_back();
        assert_eq!(cue_in, Some(newest + 3), "{api:?}:\n{after}");
        let ended = h.breaks("ll/demo").await;
        let ended = ended.iter().find(|e| e["id"] == b["id"]).unwrap();
        assert_eq!(ended["state"], "ended", "{api:?}: {ended}");
        assert_eq!(
            date(&ended["decided_end"]) - date(&ended["decided_start"]),
            chrono::Duration::seconds(1),
            "{api:?}: {ended}"
        );
    }
}

/// Classic HLS: right after the OUT no segment of the break is listed, so an IN sent at once
/// cancels the break (nothing was published). Once the OUT's segment is listed, an IN at that
/// same clock goes on the next boundary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn early_in_right_after_the_out_classic() {
    let h = Harness::start("asap-in-classic", classic()).await;
    let mut ids = DaterangeIds::default();
    for api in [EventApi::Native, EventApi::OmeCue, EventApi::OmeScte35] {
        h.playlist(VIDEO).await;
        let b = out_then_in(&h, "live", api).await;
        assert_eq!(b["state"], "cancelled", "{api:?}: {b}");
        h.advance_ms(1000);
        let playlist = h.playlist(VIDEO).await;
        assert!(
            markers(&playlist).iter().all(|(_, m)| m.is_empty()),
            "{api:?}:\n{playlist}"
        );
    }

    for api in [EventApi::Native, EventApi::OmeCue, EventApi::OmeScte35] {
        let before = h.playlist(VIDEO).await;
        let newest = msn_of(&last_segment(&before));
        let stream_breaks = h.breaks("live/demo").await.len();
        // The OUT's segment gets listed (classic HLS decides the OUT only then), and the IN
        // follows at that same clock.
        let b = {
            let send = ome_path("demo", "sendEvent");
            match api {
                EventApi::Native => {
                    let (status, created) = h
                        .create_break("live/demo", json!({"duration_ms": 30000}))
                        .await;
                    assert_eq!(status, StatusCode::CREATED, "{created}");
                }
                _ => {
                    let (status, answer, _) = ome(
                        &h,
                        &send,
                        r#"{"eventFormat":"cue","events":[{"cueType":"out","duration":30000}]}"#,
                    )
                    .await;
                    assert_eq!(status, StatusCode::OK, "{answer}");
                }
            }
            h.advance_ms(1000);
            let out = h.playlist(VIDEO).await;
            ids.check(&out);
            let listed = h.breaks("live/demo").await;
            assert_eq!(listed.len(), stream_breaks + 1);
            let b = listed.first().unwrap().clone();
            let (status, answer) = match api {
                EventApi::Native => {
                    h.api(
                        Method::POST,
                        &format!("/api/v1/streams/live/demo/breaks/{}/end", b["id"]),
                        None,
                    )
                    .await
                }
                EventApi::OmeCue => {
                    let (s, a, _) = ome(
                        &h,
                        &send,
                        r#"{"eventFormat":"cue","events":[{"cueType":"in"}]}"#,
                    )
                    .await;
                    (s, a)
                }
                EventApi::OmeScte35 => {
                    let (s, a, _) = ome(
                        &h,
                        &send,
                        r#"{"eventFormat":"scte35","events":[{"spliceCommand":"spliceInsert","type":"in"}]}"#,
                    )
                    .await;
                    (s, a)
                }
            };
            assert!(status.is_success(), "{api:?}: {status} {answer}");
            b
        };
        for _ in 0..3 {
            h.advance_ms(1000);
            let playlist = h.playlist(VIDEO).await;
            ids.check(&playlist);
        }
        let after = h.playlist(VIDEO).await;
        let daterange_id = b["daterange_id"].as_str().unwrap();
        let seg_with = |needle: &str| {
            segments(&after)
                .into_iter()
                .find(|(_, tags)| {
                    tags.iter()
                        .any(|t| t.contains(daterange_id) && t.contains(needle))
                })
                .map(|(uri, _)| msn_of(&uri))
        };
        assert_eq!(
            seg_with("SCTE35-OUT="),
            Some(newest + 1),
            "{api:?}:\n{after}"
        );
        assert_eq!(
            seg_with("SCTE35-IN="),
            Some(newest + 2),
            "{api:?}:\n{after}"
        );
        let ended = h.breaks("live/demo").await;
        let ended = ended.iter().find(|e| e["id"] == b["id"]).unwrap();
        assert_eq!(ended["state"], "ended", "{api:?}: {ended}");
    }
}

use super::*;

/// What a player does with the template: resolve the rendered URI against the media playlist's
/// URL (RFC 3986 §5), then request the path.
fn requested_path(key: &str, playlist: &str, break_id: u64) -> String {
    let template = asset_list_template(key).expect("template");
    let base = Url::parse(&format!("http://proxy.example{playlist}")).unwrap();
    let url = base.join(&template.uri(break_id)).unwrap();
    url.path().to_owned()
}

#[test]
fn a_streams_asset_list_uri_leads_back_to_the_stream_and_break() {
    for (key, playlist, expected) in [
        (
            "live/demo",
            "/live/demo/video.m3u8",
            "/hlsplice/assets/live/demo/7.json",
        ),
        ("a", "/a/v.m3u8", "/hlsplice/assets/a/7.json"),
        (
            "x/y/z/w",
            "/x/y/z/w/720p.m3u8",
            "/hlsplice/assets/x/y/z/w/7.json",
        ),
        (ROOT_STREAM, "/index.m3u8", "/hlsplice/assets/%2F/7.json"),
        // Characters a template cannot carry, and the percent sign, are encoded.
        (
            "we{i}rd/a\"b/c%20d",
            "/we{i}rd/a\"b/c%20d/v.m3u8",
            "/hlsplice/assets/we%7Bi%7Drd/a%22b/c%2520d/7.json",
        ),
    ] {
        let path = requested_path(key, playlist, 7);
        assert_eq!(path, expected, "{key}");
        assert_eq!(
            parse_asset_path(&path).unwrap(),
            (key.to_owned(), 7),
            "{key}"
        );
    }
    // Relative to the playlist: behind a CDN path prefix, the prefix is kept.
    let template = asset_list_template("live/demo").unwrap();
    assert_eq!(
        template.as_str(),
        "../../hlsplice/assets/live/demo/{break_id}.json"
    );
    let base = Url::parse("https://cdn.example/edge/live/demo/video.m3u8").unwrap();
    assert_eq!(
        base.join(&template.uri(3)).unwrap().as_str(),
        "https://cdn.example/edge/hlsplice/assets/live/demo/3.json"
    );
}

#[test]
fn asset_list_paths_name_a_valid_stream_and_a_break_id() {
    assert_eq!(
        parse_asset_path("/hlsplice/assets/live/demo/12.json").unwrap(),
        ("live/demo".to_owned(), 12)
    );
    assert_eq!(
        parse_asset_path("/hlsplice/assets/%2f/1.json").unwrap(),
        (ROOT_STREAM.to_owned(), 1)
    );
    for missing in [
        "/hlsplice/assets/live/demo/x.json",
        "/hlsplice/assets/live/demo/12",
        "/hlsplice/assets/live/demo/.json",
        "/hlsplice/assets/live/demo/+1.json",
        "/hlsplice/assets/12.json",
        "/hlsplice/assets/live/demo/99999999999999999999999.json",
    ] {
        assert!(
            matches!(parse_asset_path(missing), Err(Failure::NotFound(_))),
            "{missing}"
        );
    }
    for bad in [
        "/hlsplice/assets/live/../x/1.json",
        "/hlsplice/assets/live//x/1.json",
        "/hlsplice/assets/live/%2e%2e/1.json",
        "/hlsplice/assets//1.json",
    ] {
        assert!(
            matches!(parse_asset_path(bad), Err(Failure::BadPath(_))),
            "{bad}"
        );
    }
}

#[test]
fn the_start_offset_is_a_number_of_seconds() {
    assert_eq!(start_offset(None).unwrap(), 0.0);
    assert_eq!(start_offset(Some("")).unwrap(), 0.0);
    assert_eq!(
        start_offset(Some("_HLS_primary_id=abc&_HLS_start_offset=12.345")).unwrap(),
        12.345
    );
    assert_eq!(start_offset(Some("_HLS_start_offset=0")).unwrap(), 0.0);
    for bad in ["-1", "x", "NaN", "inf", "1e999", ""] {
        let query = format!("_HLS_start_offset={bad}");
        let err = start_offset(Some(&query)).unwrap_err();
        assert!(
            matches!(&err, Failure::BadRequest(m) if m.contains("_HLS_start_offset")),
            "{bad}: {err:?}"
        );
    }
}

#[test]
fn relative_ads_resolve_against_the_request_as_the_player_made_it() {
    let req = |host: Option<&str>, proto: Option<&str>| {
        let mut builder = Request::get("/hlsplice/assets/live/demo/1.json?_HLS_primary_id=x");
        if let Some(host) = host {
            builder = builder.header(header::HOST, host);
        }
        if let Some(proto) = proto {
            builder = builder.header("x-forwarded-proto", proto);
        }
        builder.body(()).unwrap()
    };
    assert_eq!(
        request_url(&req(Some("proxy.example:8080"), None))
            .unwrap()
            .as_str(),
        "http://proxy.example:8080/hlsplice/assets/live/demo/1.json"
    );
    assert_eq!(
        request_url(&req(Some("edge.example"), Some("https")))
            .unwrap()
            .as_str(),
        "https://edge.example/hlsplice/assets/live/demo/1.json"
    );
    assert!(request_url(&req(None, None)).is_none());
    for bad in ["evil.example/x?", "user@evil.example", "a b"] {
        assert!(request_url(&req(Some(bad), None)).is_none(), "{bad}");
    }
}

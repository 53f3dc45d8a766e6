//! Credentials against the emulator: bad tokens, configuration errors,
//! presigned URLs and client tokens used the way a browser would.

mod support;

use std::time::Duration;

use storage_core::{
    BlobKey, BlobStore, BlobStoreExt, ErrorKind, GetOptions, ListOptions, SignMethod, SignOptions,
    SignedRequest,
};
use storage_vercel::{Access, ClientTokenOptions, VercelConfig, VercelStore};

fn key(k: &str) -> BlobKey {
    BlobKey::new(k).expect("key")
}

#[tokio::test]
async fn a_foreign_token_is_unauthorized_with_a_clear_message() {
    let started = support::emulator().await;
    for token in [
        "vercel_blob_rw_emulator_notthesecret",
        "vercel_blob_rw_otherstore_notthesecret",
    ] {
        let config = support::config(&started, Access::Private);
        let foreign = VercelConfig::new(token)
            .expect("well-formed")
            .api_url(config.api_base())
            .expect("url")
            .blob_host_url(&config.blob_host())
            .expect("host");
        let store = VercelStore::new(foreign).expect("store");
        let err = store.list(ListOptions::new()).await.expect_err("refused");
        assert_eq!(err.kind(), &ErrorKind::Unauthorized, "{err}");
        let text = err.to_string();
        assert!(text.contains("BLOB_READ_WRITE_TOKEN"), "{text}");
        assert!(!text.contains("notthesecret"), "{text}");
        let err = store
            .get(&key("a.txt"), GetOptions::new())
            .await
            .expect_err("read refused");
        assert!(
            matches!(err.kind(), ErrorKind::Unauthorized | ErrorKind::NotFound),
            "{err}"
        );
    }
}

#[test]
fn config_errors_name_the_variable_and_never_print_the_token() {
    let cases: [(&[(&str, &str)], &str); 4] = [
        (&[], "BLOB_READ_WRITE_TOKEN"),
        (
            &[("BLOB_READ_WRITE_TOKEN", "sk_live_hunter2hunter2")],
            "BLOB_READ_WRITE_TOKEN",
        ),
        (
            &[
                ("BLOB_READ_WRITE_TOKEN", "vercel_blob_rw_st_hunter2hunter2"),
                ("BLOB_STORAGE_ACCESS", "world-readable"),
            ],
            "BLOB_STORAGE_ACCESS",
        ),
        (
            &[
                ("BLOB_READ_WRITE_TOKEN", "vercel_blob_rw_st_hunter2hunter2"),
                ("VERCEL_BLOB_API_URL", "not a url"),
            ],
            "VERCEL_BLOB_API_URL",
        ),
    ];
    for (vars, expected) in cases {
        let err = VercelConfig::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
        .expect_err(expected);
        assert_eq!(
            err.kind(),
            &ErrorKind::InvalidConfig {
                var: expected.to_string()
            }
        );
        let shown = format!("{err} | {err:?}");
        assert!(shown.contains(expected), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}

#[tokio::test]
async fn debug_output_of_config_and_store_hides_the_token() {
    let (store, started) = support::store(Access::Private).await;
    let secret = started.token.rsplit('_').next().expect("secret part");
    for shown in [format!("{store:?}"), format!("{:?}", store.config())] {
        assert!(!shown.contains(secret), "{shown}");
    }
}

async fn send(
    client: &reqwest::Client,
    signed: &SignedRequest,
    body: &'static str,
) -> reqwest::Response {
    let method = reqwest::Method::from_bytes(signed.method.as_str().as_bytes()).expect("method");
    let mut rb = client.request(method, &signed.url);
    for (name, value) in &signed.headers {
        rb = rb.header(name, value);
    }
    rb.body(body).send().await.expect("send")
}

#[tokio::test]
async fn presigned_urls_work_without_credentials_and_only_as_signed() {
    let (store, _started) = support::store(Access::Private).await;
    let http = reqwest::Client::new();
    let k = key("signed/clip 1.webm");

    let put = store
        .signed_url(
            &k,
            SignOptions::new(SignMethod::Put)
                .content_type("audio/webm")
                .max_size(10),
        )
        .await
        .expect("sign put");
    assert!(format!("{put:?}").contains("[redacted]"), "{put:?}");
    let resp = send(&http, &put, "0123456789").await;
    assert_eq!(resp.status(), 200, "{:?}", resp.text().await);
    let meta = store.head(&k).await.expect("uploaded");
    assert_eq!(meta.content_type, "audio/webm");
    assert_eq!(
        send(&http, &put, "01234567890").await.status(),
        400,
        "over max_size"
    );

    let get = store
        .signed_url(&k, SignOptions::new(SignMethod::Get))
        .await
        .expect("sign get");
    let resp = send(&http, &get, "").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.expect("body"), "0123456789");
    // A signature for one blob does not open another.
    store
        .put_bytes("signed/other.webm", "other")
        .await
        .expect("second blob");
    let other = get.url.replace("clip%201.webm", "other.webm");
    assert_ne!(other, get.url);
    assert_eq!(http.get(&other).send().await.expect("send").status(), 403);
    // Nor does a tampered signature.
    let tampered = format!("{}A", get.url);
    assert_eq!(
        http.get(&tampered).send().await.expect("send").status(),
        403
    );

    let delete = store
        .signed_url(&k, SignOptions::new(SignMethod::Delete))
        .await
        .expect("sign delete");
    assert_eq!(send(&http, &delete, "").await.status(), 200);
    assert!(!store.exists(k.as_str()).await.expect("exists"));

    let too_long = SignOptions::new(SignMethod::Get).expires_in(Duration::from_secs(8 * 24 * 3600));
    let err = store.signed_url(&k, too_long).await.expect_err("8 days");
    assert_eq!(err.kind(), &ErrorKind::InvalidInput);
}

#[tokio::test]
async fn client_tokens_upload_within_their_bounds_only() {
    let (store, started) = support::store(Access::Public).await;
    let http = reqwest::Client::new();
    let token = store
        .client_token(
            "avatars/42.png",
            ClientTokenOptions::new()
                .allowed_content_types(["image/*"])
                .maximum_size(8)
                .valid_for(Duration::from_secs(60)),
        )
        .expect("token");
    let upload = |pathname: &str, content_type: &str, body: &'static str| {
        http.put(format!(
            "{}/?pathname={}",
            started.emulator.api_url(),
            pathname.replace('/', "%2F")
        ))
        .bearer_auth(token.expose())
        .header("x-api-version", "12")
        .header("x-vercel-blob-access", "public")
        .header("x-content-type", content_type.to_string())
        .body(body)
        .send()
    };
    let ok = upload("avatars/42.png", "image/png", "PNGDATA")
        .await
        .expect("send");
    assert_eq!(ok.status(), 200, "{:?}", ok.text().await);
    assert_eq!(
        store.get_bytes("avatars/42.png").await.expect("read"),
        "PNGDATA"
    );

    for (pathname, content_type, body) in [
        ("avatars/43.png", "image/png", "PNG"),
        ("avatars/42.png", "text/html", "<p>"),
        ("avatars/42.png", "image/png", "far too large"),
    ] {
        let resp = upload(pathname, content_type, body).await.expect("send");
        assert!(
            resp.status().is_client_error(),
            "{pathname} {content_type}: {}",
            resp.status()
        );
    }
    assert_eq!(
        store.get_bytes("avatars/42.png").await.expect("read"),
        "PNGDATA"
    );

    let expired = store
        .client_token(
            "avatars/44.png",
            ClientTokenOptions::new().valid_for(Duration::from_millis(1)),
        )
        .expect("token");
    tokio::time::sleep(Duration::from_millis(20)).await;
    let resp = http
        .put(format!(
            "{}/?pathname=avatars%2F44.png",
            started.emulator.api_url()
        ))
        .bearer_auth(expired.expose())
        .body("x")
        .send()
        .await
        .expect("send");
    assert!(resp.status().is_client_error());
    let err = store
        .head(&key("avatars/44.png"))
        .await
        .expect_err("absent");
    assert_eq!(err.kind(), &ErrorKind::NotFound);
}

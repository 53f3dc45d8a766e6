//! plan → apply → plan → apply against moto, with buckets, CORS rules and
//! public access blocks read back over plain, unsigned requests (moto
//! checks no signature), so the client under test does not grade itself.

#![allow(clippy::unwrap_used)]

use storage_infra::manifest::{Access, Manifest};
use storage_infra::plan::PublicAccessBlock;
use storage_infra::s3::S3Backend;
use storage_infra::{apply, Backend, Change};
use storage_s3::S3Config;
use storage_testkit::fault_proxy::{Fault, FaultPlan, Rule};
use storage_testkit::moto::{self, Moto};

fn moto() -> &'static Moto {
    Moto::shared().unwrap_or_else(|e| panic!("{e}"))
}

fn config(endpoint: &str, region: &str) -> S3Config {
    let (endpoint, region) = (endpoint.to_string(), region.to_string());
    S3Config::from_lookup(move |var| match var {
        "S3_BUCKET" => Some("unused".into()),
        "AWS_ENDPOINT_URL_S3" => Some(endpoint.clone()),
        "AWS_REGION" => Some(region.clone()),
        "AWS_ACCESS_KEY_ID" => Some(moto::ACCESS_KEY_ID.into()),
        "AWS_SECRET_ACCESS_KEY" => Some(moto::SECRET_ACCESS_KEY.into()),
        _ => None,
    })
    .unwrap()
}

fn backend_at(endpoint: &str) -> S3Backend {
    S3Backend::new(&config(endpoint, moto::REGION)).unwrap()
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}-{:08x}", std::process::id(), fastrand::u32(..))
}

/// A plain GET of `<bucket>?<sub>`: status and body.
async fn raw(method: &str, bucket: &str, query: &str) -> (u16, String) {
    let url = format!("{}/{bucket}?{query}", moto().endpoint());
    let response = reqwest::Client::new()
        .request(method.parse().unwrap(), url)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

fn manifest(private: &str, public: &str, origin: &str) -> Manifest {
    let text = format!(
        r#"
[[container]]
name = "{private}"
metadata = {{ owner = "recordings" }}

[[container]]
name = "{public}"
access = "blob"

[[cors]]
origins = ["{origin}"]
methods = ["PUT", "GET", "HEAD", "OPTIONS"]
allowed_headers = ["Content-Type", "x-amz-meta-*"]
exposed_headers = ["etag"]
max_age_secs = 600
"#
    );
    Manifest::parse(&text, "storage.toml").unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_apply_plan_apply_is_idempotent_and_reads_back() {
    let moto = moto();
    let backend = backend_at(moto.endpoint());
    let (private, public) = (unique("rec"), unique("pub"));
    let wanted = manifest(&private, &public, "http://127.0.0.1:3000");

    let plan = backend.plan(&wanted).await.unwrap();
    let kinds: Vec<String> = plan
        .changes
        .iter()
        .map(|c| {
            serde_json::to_value(c).unwrap()["action"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "create_container",
            "set_bucket_cors",
            "set_public_access_block",
            "create_container",
            "set_bucket_cors",
            "set_public_access_block"
        ],
        "{plan:#?}"
    );
    assert!(
        plan.notes.iter().any(|n| n.contains("OPTIONS")),
        "{plan:#?}"
    );
    assert!(
        plan.notes
            .iter()
            .any(|n| n.contains(&public) && n.contains("bucket policy")),
        "a public container's note says what is not done: {plan:#?}"
    );
    assert!(
        plan.notes.iter().any(|n| n.contains("no metadata")),
        "{plan:#?}"
    );

    let report = apply(&backend, &wanted).await.unwrap();
    assert!(report.succeeded(), "{report:#?}");
    assert_eq!(report.done.len(), 6);

    // Read back with plain requests.
    for bucket in [&private, &public] {
        let (status, cors) = raw("GET", bucket, "cors").await;
        assert_eq!(status, 200, "{cors}");
        for needle in [
            "<AllowedOrigin>http://127.0.0.1:3000</AllowedOrigin>",
            "<AllowedMethod>PUT</AllowedMethod>",
            "<AllowedMethod>GET</AllowedMethod>",
            "<AllowedMethod>HEAD</AllowedMethod>",
            "<AllowedHeader>content-type</AllowedHeader>",
            "<AllowedHeader>x-amz-meta-*</AllowedHeader>",
            "<ExposeHeader>etag</ExposeHeader>",
            "<MaxAgeSeconds>600</MaxAgeSeconds>",
        ] {
            assert!(cors.contains(needle), "{needle} in {cors}");
        }
        assert!(!cors.contains("OPTIONS"), "{cors}");
    }
    let (_, block) = raw("GET", &private, "publicAccessBlock").await;
    for switch in [
        "BlockPublicAcls",
        "IgnorePublicAcls",
        "BlockPublicPolicy",
        "RestrictPublicBuckets",
    ] {
        assert!(
            block.contains(&format!("<{switch}>true</{switch}>")),
            "{block}"
        );
    }
    let (_, block) = raw("GET", &public, "publicAccessBlock").await;
    assert!(
        block.contains("<BlockPublicAcls>true</BlockPublicAcls>"),
        "{block}"
    );
    assert!(
        block.contains("<BlockPublicPolicy>false</BlockPublicPolicy>"),
        "{block}"
    );
    assert!(
        block.contains("<RestrictPublicBuckets>false</RestrictPublicBuckets>"),
        "{block}"
    );

    assert!(backend.plan(&wanted).await.unwrap().is_empty());

    // Again, through a recording proxy: only reads go out.
    let proxy = moto.behind_proxy(FaultPlan::none()).await.unwrap();
    let proxied = backend_at(&proxy.url());
    let report = apply(&proxied, &wanted).await.unwrap();
    assert!(report.succeeded() && report.done.is_empty(), "{report:#?}");
    let changing = proxy.count(|r| !matches!(r.head.method.as_str(), "GET" | "HEAD"));
    assert_eq!(changing, 0, "no changing request: {:#?}", proxy.requests());
    assert!(
        proxy.count(|_| true) >= 6,
        "it did read: {:#?}",
        proxy.requests()
    );

    // Drift is corrected: another origin, and a block removed by hand.
    let (status, _) = raw("DELETE", &private, "publicAccessBlock").await;
    assert_eq!(status, 204);
    let moved = manifest(&private, &public, "https://app.example.com");
    let plan = backend.plan(&moved).await.unwrap();
    assert_eq!(plan.changes.len(), 3, "{plan:#?}");
    assert!(plan.changes.iter().any(|c| matches!(
        c,
        Change::SetPublicAccessBlock { name, from: None, to } if *name == private && *to == PublicAccessBlock::ALL
    )));
    assert_eq!(
        plan.changes
            .iter()
            .filter(|c| matches!(c, Change::SetBucketCors { from, .. } if from.len() == 1))
            .count(),
        2
    );
    assert!(apply(&backend, &moved).await.unwrap().succeeded());
    assert!(raw("GET", &public, "cors")
        .await
        .1
        .contains("https://app.example.com"));
    assert!(backend.plan(&moved).await.unwrap().is_empty());

    // `cors = []` removes the rules.
    let text = format!("cors = []\n[[container]]\nname = \"{private}\"\n");
    let no_cors = Manifest::parse(&text, "m").unwrap();
    assert!(apply(&backend, &no_cors).await.unwrap().succeeded());
    let (status, body) = raw("GET", &private, "cors").await;
    assert_eq!(status, 404, "{body}");

    // A bucket missing from the manifest is never deleted; destroy deletes
    // exactly the manifest's, with what is in them.
    let only_one = Manifest::parse(&format!("[[container]]\nname = \"{private}\"\n"), "m").unwrap();
    assert!(backend.plan(&only_one).await.unwrap().is_empty());
    let put = reqwest::Client::new()
        .put(format!("{}/{private}/a/b.txt", moto.endpoint()))
        .body("x")
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success());
    let deleted = backend.destroy(&only_one).await.unwrap();
    assert_eq!(deleted, vec![private.clone()]);
    assert_eq!(raw("HEAD", &private, "").await.0, 404);
    assert_eq!(raw("HEAD", &public, "").await.0, 200);
    assert!(
        backend.destroy(&only_one).await.unwrap().is_empty(),
        "already gone"
    );
    let plan = backend.plan(&only_one).await.unwrap();
    assert!(matches!(
        &plan.changes[0],
        Change::CreateContainer {
            access: Access::Private,
            ..
        }
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn outside_us_east_1_the_bucket_is_created_in_the_region() {
    let moto = moto();
    let backend = S3Backend::new(&config(moto.endpoint(), "eu-west-3")).unwrap();
    let bucket = unique("eu");
    let wanted = Manifest::parse(&format!("[[container]]\nname = \"{bucket}\"\n"), "m").unwrap();
    let report = apply(&backend, &wanted).await.unwrap();
    assert!(report.succeeded(), "{report:#?}");
    let (status, location) = raw("GET", &bucket, "location").await;
    assert_eq!(status, 200);
    assert!(
        location.contains(">eu-west-3</LocationConstraint>"),
        "{location}"
    );
    assert!(backend.plan(&wanted).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_request_reports_what_was_done_and_leaks_no_secret() {
    let moto = moto();
    let plan = FaultPlan::none().with_rule(
        Rule::new(Fault::status(403))
            .method("PUT")
            .target_contains("?cors"),
    );
    let proxy = moto.behind_proxy(plan).await.unwrap();
    let backend = backend_at(&proxy.url());
    let (private, public) = (unique("den"), unique("den"));
    let report = apply(
        &backend,
        &manifest(&private, &public, "http://127.0.0.1:3000"),
    )
    .await
    .unwrap();
    assert!(!report.succeeded());
    assert!(matches!(&report.done[..], [Change::CreateContainer { name, .. }] if *name == private));
    let failed = report.failed.as_ref().unwrap();
    assert!(matches!(&failed.change, Change::SetBucketCors { name, .. } if *name == private));
    assert!(failed.error.contains("HTTP 403"), "{}", failed.error);
    assert!(
        failed.error.contains("AWS_SECRET_ACCESS_KEY"),
        "says what to check: {}",
        failed.error
    );
    assert_eq!(report.not_attempted.len(), 4, "{report:#?}");
    let text = format!("{report:?} {}", storage_infra::report::apply_text(&report));
    assert!(
        !text.contains(moto::SECRET_ACCESS_KEY),
        "secret leaked: {text}"
    );
    assert!(text.contains("not attempted"), "{text}");
    assert_eq!(
        raw("HEAD", &private, "").await.0,
        200,
        "the create did happen"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_container_s3_cannot_allow_is_refused_before_any_request() {
    let backend = backend_at("http://127.0.0.1:9");
    let text =
        "[[container]]\nname = \"x-bucket\"\n[[cors]]\norigins = [\"*\"]\nmethods = [\"PATCH\"]\n";
    let err = backend
        .plan(&Manifest::parse(text, "m").unwrap())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("PATCH"), "{err}");
    assert_eq!(err.exit_code(), 2);
}

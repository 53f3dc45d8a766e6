//! Local directories, the Vercel probe (against the emulator), and the CLI
//! entry point with its exit codes.

#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;

use storage_infra::cli::{execute, InfraCommand};
use storage_infra::local::LocalBackend;
use storage_infra::vercel::VercelBackend;
use storage_infra::{apply, Backend, Manifest};

const MANIFEST: &str = "[[container]]\nname = \"recordings\"\n\n[[container]]\nname = \"avatars\"\naccess = \"blob\"\n";

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn local_creates_restricted_directories_idempotently() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("blobs");
    let backend = LocalBackend::new(&root);
    let manifest = Manifest::parse(MANIFEST, "m").unwrap();
    assert_eq!(backend.plan(&manifest).await.unwrap().changes.len(), 3);
    let report = apply(&backend, &manifest).await.unwrap();
    assert!(report.succeeded(), "{report:#?}");
    for path in [root.clone(), root.join("recordings"), root.join("avatars")] {
        assert_eq!(mode(&path), 0o700, "{}", path.display());
    }
    assert!(backend.plan(&manifest).await.unwrap().is_empty());
    // Loosened permissions are planned back to 0700.
    std::fs::set_permissions(root.join("avatars"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let plan = backend.plan(&manifest).await.unwrap();
    assert_eq!(plan.changes.len(), 1, "{plan:#?}");
    apply(&backend, &manifest).await.unwrap();
    assert_eq!(mode(&root.join("avatars")), 0o700);
    assert!(apply(&backend, &manifest).await.unwrap().done.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn vercel_verifies_token_and_store_and_says_stores_come_from_the_dashboard() {
    let token = "vercel_blob_rw_infrastore_secret0123456789";
    let emulator = vercel_blob_emulator::Emulator::builder()
        .token(token)
        .start()
        .await
        .unwrap();
    let api = emulator.api_url();
    let config = storage_vercel::VercelConfig::new(token)
        .unwrap()
        .api_url(&api)
        .unwrap();
    let plan = VercelBackend::new(config)
        .unwrap()
        .plan(&Manifest::parse(MANIFEST, "m").unwrap())
        .await
        .unwrap();
    assert!(plan.is_empty());
    assert!(
        plan.notes[0].contains("created in the Vercel dashboard"),
        "{plan:#?}"
    );
    let text = format!("{plan:?}");
    assert!(!text.contains("secret0123456789"), "token leaked: {text}");

    // A wrong token is an operational failure.
    let bad = storage_vercel::VercelConfig::new("vercel_blob_rw_infrastore_wrongwrongwrong")
        .unwrap()
        .api_url(&api)
        .unwrap();
    let err = VercelBackend::new(bad).unwrap().verify().await.unwrap_err();
    assert_eq!(err.exit_code(), 1, "{err}");
}

async fn cli(args: &[&str], env: &[(&str, String)], answer: &str) -> storage_infra::cli::Outcome {
    let cmd = <InfraCommand as clap::Parser>::try_parse_from(
        std::iter::once("storage-infra").chain(args.iter().copied()),
    )
    .unwrap();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    let answer = answer.to_string();
    execute(
        cmd,
        &move |var| env.iter().find(|(k, _)| k == var).map(|(_, v)| v.clone()),
        &mut |_prompt| Some(answer.clone()),
    )
    .await
}

#[tokio::test]
async fn cli_exit_codes_json_and_destroy_confirmation() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("storage.toml");
    std::fs::write(&manifest, MANIFEST).unwrap();
    let m = manifest.to_str().unwrap();
    let env = [
        ("BLOB_STORAGE_PROVIDER", "local".to_string()),
        (
            "LOCAL_STORAGE_PATH",
            dir.path().join("root").display().to_string(),
        ),
    ];
    let out = cli(&["plan", "--manifest", m], &env, "").await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("create container `recordings`"),
        "{}",
        out.stdout
    );
    let out = cli(&["apply", "--manifest", m, "--json"], &env, "").await;
    assert_eq!(out.code, 0, "{out:?}");
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["done"].as_array().unwrap().len(), 3);
    let out = cli(&["apply", "--manifest", m], &env, "").await;
    assert!(out.stdout.contains("no changes"), "{}", out.stdout);

    let out = cli(&["destroy", "--manifest", m], &env, "destroy").await;
    assert_eq!(out.code, 2, "{out:?}");
    let out = cli(&["destroy", "--yes-really", "--manifest", m], &env, "no").await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(dir.path().join("root/recordings").exists());
    let out = cli(
        &["destroy", "--yes-really", "--manifest", m],
        &env,
        "destroy\n",
    )
    .await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!dir.path().join("root/recordings").exists());

    std::fs::write(&manifest, "[[container]]\nname = \"x\"\n").unwrap();
    let out = cli(&["plan", "--manifest", m], &env, "").await;
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("storage.toml:2:"), "{}", out.stderr);
    let out = cli(
        &[
            "export",
            "--format",
            "terraform",
            "--manifest",
            "/nonexistent/storage.toml",
            "--json",
        ],
        &env,
        "",
    )
    .await;
    assert_eq!(out.code, 2);
    assert!(out.stdout.contains("\"exit_code\": 2"), "{}", out.stdout);
}

//! `blobctl infra` runs storage-infra's verbs: plan, apply, plan again with
//! nothing to do, and a bad manifest refused with exit code 2.

use std::process::Command;

fn blobctl(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_blobctl"))
        .args(args)
        .current_dir(dir)
        .env("LOCAL_STORAGE_PATH", dir.join("blobs"))
        .env_remove("BLOB_STORAGE_PROVIDER")
        .output()
        .expect("run blobctl")
}

fn json(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "blobctl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

#[test]
fn plan_apply_plan_on_local() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("storage.toml"),
        "[[container]]\nname = \"recordings\"\naccess = \"private\"\n",
    )
    .expect("manifest");
    let plan = json(&blobctl(
        dir.path(),
        &["--json", "infra", "--provider", "local", "plan"],
    ));
    assert!(
        !plan["changes"].as_array().expect("changes").is_empty(),
        "{plan}"
    );
    json(&blobctl(
        dir.path(),
        &["infra", "--provider", "local", "--json", "apply"],
    ));
    let again = json(&blobctl(
        dir.path(),
        &["infra", "--provider", "local", "--json", "plan"],
    ));
    assert_eq!(again["changes"], serde_json::json!([]), "{again}");
    assert!(dir.path().join("blobs").join("recordings").is_dir());
}

#[test]
fn bad_manifest_exits_2_with_the_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("storage.toml"),
        "[[container]]\nname = \"Bad_Name\"\n",
    )
    .expect("manifest");
    let out = blobctl(dir.path(), &["infra", "--provider", "local", "plan"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("storage.toml") && err.contains("Bad_Name"),
        "{err}"
    );
}

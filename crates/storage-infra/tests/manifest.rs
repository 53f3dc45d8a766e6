//! Bad manifests give one clear error each, with the line at fault.

#![allow(clippy::unwrap_used)]

use storage_infra::manifest::{Access, Manifest};

fn error(text: &str) -> String {
    match Manifest::parse(text, "storage.toml") {
        Ok(m) => panic!("accepted a bad manifest: {m:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_complete_manifest_parses() {
    let m = Manifest::parse(include_str!("golden/storage.toml"), "storage.toml").unwrap();
    assert_eq!(m.containers.len(), 2);
    assert_eq!(m.containers[0].name(), "recordings");
    assert_eq!(m.containers[1].access, Access::Blob);
    assert_eq!(m.cors.as_ref().unwrap().len(), 1);
    assert_eq!(m.account.as_ref().unwrap().lifecycle.len(), 1);
}

#[test]
fn unknown_keys_are_refused_with_their_line() {
    let e = error("[[container]]\nname = \"recordings\"\nacess = \"blob\"\n");
    assert!(e.starts_with("storage.toml:3: "), "{e}");
    assert!(e.contains("unknown field `acess`"), "{e}");
    let e = error("bucket = 1\n");
    assert!(e.contains("unknown field `bucket`"), "{e}");
}

#[test]
fn invalid_container_names_are_refused() {
    let e = error("[[container]]\nname = \"recordings\"\n\n[[container]]\nname = \"Bad_Name\"\n");
    assert!(e.starts_with("storage.toml:5: "), "{e}");
    assert!(
        e.contains("`Bad_Name` is not a valid container name"),
        "{e}"
    );
    let e = error("[[container]]\nname = \"ab\"\n");
    assert!(e.contains("3 to 63 characters"), "{e}");
}

#[test]
fn duplicate_containers_are_refused() {
    let e = error(
        "[[container]]\nname = \"logs\"\n[[container]]\nname = \"logs\"\naccess = \"blob\"\n",
    );
    assert!(e.starts_with("storage.toml:4: "), "{e}");
    assert!(e.contains("`logs` is listed twice"), "{e}");
}

#[test]
fn bad_cors_origins_are_refused() {
    for (origin, why) in [
        ("https://app.example.com/", "trailing slash"),
        ("ftp://app.example.com", "scheme"),
        ("app.example.com", "not a URL"),
        ("https://app.example.com/path", "no path"),
    ] {
        let text = format!(
            "[[cors]]\nmethods = [\"GET\"]\norigins = [\n  \"https://ok.example\",\n  \"{origin}\",\n]\n"
        );
        let e = error(&text);
        assert!(e.starts_with("storage.toml:5: "), "{e}");
        assert!(
            e.contains("CORS origin") && e.contains(why),
            "{origin}: {e}"
        );
    }
}

#[test]
fn other_mistakes_are_named() {
    let e = error("[[container]]\nname = \"logs\"\naccess = \"public\"\n");
    assert!(
        e.starts_with("storage.toml:3: ") && e.contains("unknown variant `public`"),
        "{e}"
    );
    let e = error("[[cors]]\norigins = [\"*\"]\nmethods = [\"FETCH\"]\n");
    assert!(e.contains("unknown variant `FETCH`"), "{e}");
    let e = error("[[container]]\nname = \"logs\"\nmetadata = { Team = \"x\" }\n");
    assert!(
        e.starts_with("storage.toml:3: ") && e.contains("metadata name `Team`"),
        "{e}"
    );
    let e = error("[[container]]\nname = \"logs\"\n[[container]\n");
    assert!(e.starts_with("storage.toml:3: "), "{e}");
    let e = error(
        "[account]\n[[account.lifecycle]]\nname = \"old\"\ncool_after_days = 30\ndelete_after_days = 10\n",
    );
    assert!(e.contains("must increase"), "{e}");
    let e = error("[[cors]]\norigins = [\"*\"]\nmethods = []\n");
    assert!(e.contains("no methods"), "{e}");
}

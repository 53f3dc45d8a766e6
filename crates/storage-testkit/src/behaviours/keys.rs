//! Keys that are valid but awkward: Unicode, emoji, `%`, spaces, `\`,
//! dots, the longest allowed key. Each must round-trip byte for byte
//! through `put`, `head`, `get` and `list`.

use storage_core::{ListOptions, MAX_KEY_BYTES};

use crate::failure::{expect_eq, Outcome};
use crate::support::{get, head, key, list_keys, put_plain, Store};

/// Writes each key (its own name as the content) and checks every way of
/// reading it gives back exactly that key.
async fn roundtrip(store: &Store, keys: &[&str]) -> Outcome {
    for name in keys {
        let k = key(name)?;
        let written = put_plain(store, &k, name.to_string()).await?;
        expect_eq(
            format!("key reported by put for {name:?}"),
            *name,
            written.key.as_str(),
        )?;
        expect_eq(
            format!("key reported by head for {name:?}"),
            *name,
            head(store, &k).await?.key.as_str(),
        )?;
        let (meta, bytes) = get(store, &k).await?;
        expect_eq(
            format!("key reported by get for {name:?}"),
            *name,
            meta.key.as_str(),
        )?;
        expect_eq(
            format!("bytes stored under {name:?}"),
            name.as_bytes(),
            &bytes[..],
        )?;
    }
    let mut expected: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    expected.sort();
    expect_eq(
        "keys listed",
        expected,
        list_keys(store, ListOptions::new()).await?,
    )
}

/// Non-ASCII letters in several scripts.
pub async fn keys_unicode(store: Store) -> Outcome {
    roundtrip(
        &store,
        &[
            "música/日本語/файл.txt",
            "Ελληνικά/δοκιμή",
            "עברית/קובץ",
            "ä/ö/ü/ß",
        ],
    )
    .await
}

/// Emoji, including multi-code-point sequences.
pub async fn keys_emoji(store: Store) -> Outcome {
    roundtrip(&store, &["🎵/🎸.mp3", "family/👨‍👩‍👧", "flags/🇯🇵"]).await
}

/// `%` sequences are kept literally, never decoded.
pub async fn keys_percent_sequences(store: Store) -> Outcome {
    roundtrip(&store, &["100%/a%2Fb%20c", "%25", "a%2F", "%ZZ/%"]).await
}

/// Spaces and URL-special characters are kept literally.
pub async fn keys_spaces_and_specials(store: Store) -> Outcome {
    roundtrip(
        &store,
        &[
            "a b/c+d&e=f?#[x].txt",
            " lead and trail ",
            "q?x=1&y=2",
            "semi;colon,comma'quote\"",
            "tilde~!$()*@:",
        ],
    )
    .await
}

/// Segments made of dots (but not `.` or `..`) are ordinary names.
pub async fn keys_dot_names(store: Store) -> Outcome {
    roundtrip(
        &store,
        &[".hidden/file", "...", "..dots../x", "a./.b", "trailing."],
    )
    .await
}

/// Keys of exactly the maximum length, in ASCII and in two-byte characters.
pub async fn keys_max_length(store: Store) -> Outcome {
    let ascii = format!("long/{}", "k".repeat(MAX_KEY_BYTES - 5));
    let wide = "é".repeat(MAX_KEY_BYTES / 2);
    expect_eq("length of the ASCII key", MAX_KEY_BYTES, ascii.len())?;
    expect_eq("length of the two-byte key", MAX_KEY_BYTES, wide.len())?;
    roundtrip(&store, &[&ascii, &wide]).await
}

/// Keys differing only in case are different blobs.
pub async fn keys_case_sensitive(store: Store) -> Outcome {
    roundtrip(
        &store,
        &["Case", "case", "CASE", "dir/File.TXT", "dir/file.txt"],
    )
    .await
}

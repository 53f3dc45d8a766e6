//! Connection strings, environment variables, and what their errors say.

use std::collections::HashMap;

use storage_azure::{AzureConfig, AzureCredentials, AzureStore, ConnectionString};
use storage_core::ErrorKind;

const KEY: &str = "c2VjcmV0LWFjY291bnQta2V5LXZhbHVl";

fn config(vars: &[(&str, &str)]) -> storage_core::Result<AzureConfig> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    AzureConfig::from_lookup(|var| map.get(var).cloned())
}

fn var_of(err: &storage_core::Error) -> String {
    match err.kind() {
        ErrorKind::InvalidConfig { var } => var.clone(),
        other => panic!("expected InvalidConfig, saw {other:?}: {err}"),
    }
}

#[test]
fn connection_string_with_every_field() {
    let cs = ConnectionString::parse(&format!(
        "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey={KEY};EndpointSuffix=core.chinacloudapi.cn;QueueEndpoint=https://q"
    ))
    .expect("parse");
    assert_eq!(cs.account_name(), "acme");
    assert_eq!(
        cs.blob_endpoint(),
        "https://acme.blob.core.chinacloudapi.cn"
    );
    assert_eq!(cs.account_key().map(|k| k.expose().as_str()), Some(KEY));

    let with_endpoint = ConnectionString::parse(&format!(
        "accountname=acme;accountkey={KEY};BlobEndpoint=https://cdn.example.com/;"
    ))
    .expect("parse, names case-insensitive, trailing ;");
    assert_eq!(with_endpoint.blob_endpoint(), "https://cdn.example.com");

    let sas = ConnectionString::parse(
        "BlobEndpoint=https://acme.blob.core.windows.net;SharedAccessSignature=sv=2022-11-02&sp=r&sig=abc%3D",
    )
    .expect("parse");
    assert_eq!(sas.account_name(), "acme");
    assert_eq!(
        sas.shared_access_signature().map(|s| s.expose().as_str()),
        Some("sv=2022-11-02&sp=r&sig=abc%3D")
    );

    let http = ConnectionString::parse(&format!(
        "DefaultEndpointsProtocol=http;AccountName=acme;AccountKey={KEY}"
    ))
    .expect("parse");
    assert_eq!(http.blob_endpoint(), "http://acme.blob.core.windows.net");
}

#[test]
fn use_development_storage_is_azurite() {
    let cs = ConnectionString::parse("UseDevelopmentStorage=true").expect("parse");
    assert!(cs.is_development_storage());
    assert_eq!(cs.account_name(), "devstoreaccount1");
    assert_eq!(
        cs.blob_endpoint(),
        "http://127.0.0.1:10000/devstoreaccount1"
    );
    assert_eq!(
        cs.account_key().map(|k| k.expose().as_str()),
        Some(storage_azure::EMULATOR_ACCOUNT_KEY)
    );
    let config = config(&[(
        "AZURE_STORAGE_CONNECTION_STRING",
        "UseDevelopmentStorage=true",
    )])
    .expect("config");
    assert!(config.is_emulator());
    assert_eq!(config.container(), "recordings");
}

#[test]
fn malformed_connection_strings_are_refused_without_echoing_secrets() {
    for bad in [
        "AccountName=acme",                                   // no secret
        "AccountKey=c2VjcmV0",                                // no account
        "AccountName=acme;AccountKey=c2VjcmV0;AccountName=b", // duplicate
        "AccountName=acme;AccountKey=c2VjcmV0;Bogus=1",       // unknown field
        "justsomegarbage/with+secret==",                      // not Name=value
        "AccountName=acme;AccountKey=c2VjcmV0;DefaultEndpointsProtocol=ftp",
        "BlobEndpoint=not a url;SharedAccessSignature=sig=zzz",
        "UseDevelopmentStorage=maybe",
    ] {
        let err = config(&[("AZURE_STORAGE_CONNECTION_STRING", bad)]).expect_err(bad);
        assert_eq!(var_of(&err), "AZURE_STORAGE_CONNECTION_STRING", "{bad}");
        let text = format!("{err} {err:?}");
        for secret in ["c2VjcmV0", "with+secret", "zzz"] {
            assert!(!text.contains(secret), "{bad}: {text}");
        }
    }
    let err = config(&[(
        "AZURE_STORAGE_CONNECTION_STRING",
        "AccountName=acme;AccountKey=not*base64!",
    )])
    .expect_err("bad key");
    assert!(!err.to_string().contains("not*base64"), "{err}");
}

#[test]
fn errors_name_the_variable() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[], "AZURE_STORAGE_ACCOUNT_NAME"),
        (
            &[("AZURE_STORAGE_ACCOUNT_KEY", KEY)],
            "AZURE_STORAGE_ACCOUNT_NAME",
        ),
        (
            &[("AZURE_STORAGE_ACCOUNT_NAME", "Bad_Name")],
            "AZURE_STORAGE_ACCOUNT_NAME",
        ),
        (
            &[
                ("AZURE_STORAGE_ACCOUNT_NAME", "acme"),
                ("AZURE_STORAGE_ACCOUNT_KEY", "%%%"),
            ],
            "AZURE_STORAGE_ACCOUNT_KEY",
        ),
        (
            &[
                ("AZURE_STORAGE_ACCOUNT_NAME", "acme"),
                ("AZURE_STORAGE_CONTAINER_NAME", "Bad--Name"),
            ],
            "AZURE_STORAGE_CONTAINER_NAME",
        ),
        (
            &[("AZURE_STORAGE_USE_EMULATOR", "perhaps")],
            "AZURE_STORAGE_USE_EMULATOR",
        ),
        (
            &[("AZURITE_BLOB_STORAGE_URL", "not a url")],
            "AZURITE_BLOB_STORAGE_URL",
        ),
    ];
    for (vars, expected) in cases {
        let err = config(vars).expect_err(expected);
        assert_eq!(var_of(&err), *expected, "{vars:?}");
        assert!(err.to_string().contains(expected), "{err}");
    }
}

#[test]
fn account_key_token_chain_and_emulator_variables() {
    let keyed = config(&[
        ("AZURE_STORAGE_ACCOUNT_NAME", "acme"),
        ("AZURE_STORAGE_ACCOUNT_KEY", KEY),
        ("AZURE_STORAGE_CONTAINER_NAME", "invoices-2024"),
    ])
    .expect("config");
    assert_eq!(keyed.endpoint(), "https://acme.blob.core.windows.net");
    assert!(matches!(
        keyed.credentials(),
        AzureCredentials::AccountKey(_)
    ));
    assert!(!keyed.is_emulator());

    let chain = config(&[
        ("AZURE_STORAGE_ACCOUNT_NAME", "acme"),
        ("AZURE_CLIENT_ID", "cid"),
        ("AZURE_TENANT_ID", "tid"),
        ("AZURE_FEDERATED_TOKEN_FILE", "/var/run/token"),
    ])
    .expect("config");
    let AzureCredentials::TokenChain(identity) = chain.credentials() else {
        panic!("expected the token chain: {chain:?}");
    };
    assert_eq!(
        identity.federated_token_file.as_deref(),
        Some("/var/run/token")
    );
    AzureStore::new(chain).expect("a token-chain store builds without a request");

    let emulator =
        config(&[("AZURITE_BLOB_STORAGE_URL", "http://127.0.0.1:10999")]).expect("config");
    assert!(emulator.is_emulator());
    assert_eq!(
        emulator.endpoint(),
        "http://127.0.0.1:10999/devstoreaccount1"
    );
    let flag = config(&[("AZURE_STORAGE_USE_EMULATOR", "true")]).expect("config");
    assert_eq!(flag.endpoint(), "http://127.0.0.1:10000/devstoreaccount1");
}

#[test]
fn tuning_is_bounded() {
    let base = config(&[("AZURE_STORAGE_USE_EMULATOR", "1")]).expect("config");
    assert!(base.clone().with_part_size(1024).is_err());
    assert!(base.clone().with_max_concurrency(0).is_err());
    let tuned = base
        .with_part_size(1 << 20)
        .and_then(|c| c.with_max_concurrency(2))
        .expect("tuning");
    assert_eq!((tuned.part_size(), tuned.max_concurrency()), (1 << 20, 2));
}

#[test]
fn debug_of_config_and_store_hides_secrets() {
    let cs = format!("AccountName=acme;AccountKey={KEY}");
    let keyed = config(&[("AZURE_STORAGE_CONNECTION_STRING", &cs)]).expect("config");
    let store = AzureStore::new(keyed.clone()).expect("store");
    let sas = config(&[(
        "AZURE_STORAGE_CONNECTION_STRING",
        "BlobEndpoint=https://acme.blob.core.windows.net;SharedAccessSignature=sv=1&sig=TOPSECRETSIG",
    )])
    .expect("config");
    let secret_client = config(&[
        ("AZURE_STORAGE_ACCOUNT_NAME", "acme"),
        ("AZURE_CLIENT_SECRET", "CLIENTSECRETVALUE"),
    ])
    .expect("config");
    let text = format!(
        "{keyed:?} {store:?} {sas:?} {secret_client:?} {:?}",
        ConnectionString::parse(&cs)
    );
    for secret in [KEY, "TOPSECRETSIG", "CLIENTSECRETVALUE"] {
        assert!(!text.contains(secret), "{text}");
    }
    assert!(text.contains("[redacted]"));
}

#[test]
fn a_named_account_takes_an_endpoint_override() {
    let sovereign = config(&[
        ("AZURE_STORAGE_ACCOUNT_NAME", "acme"),
        (
            "AZURE_STORAGE_ENDPOINT",
            "https://acme.blob.core.chinacloudapi.cn/",
        ),
    ])
    .expect("config");
    assert_eq!(
        sovereign.endpoint(),
        "https://acme.blob.core.chinacloudapi.cn"
    );
    let default = config(&[("AZURE_STORAGE_ACCOUNT_NAME", "acme")]).expect("config");
    assert_eq!(default.endpoint(), "https://acme.blob.core.windows.net");
    for bad in [
        "acme.blob.core.windows.net",
        "ftp://acme.example",
        "https://",
    ] {
        let err = config(&[
            ("AZURE_STORAGE_ACCOUNT_NAME", "acme"),
            ("AZURE_STORAGE_ENDPOINT", bad),
        ])
        .expect_err(bad);
        assert_eq!(var_of(&err), "AZURE_STORAGE_ENDPOINT", "{bad}: {err}");
    }
}

//! Google Cloud Storage through the JSON API: one bucket per manifest
//! container.
//!
//! Settings come from the same variables as `storage-gcs`
//! ([`GcsConfig::from_lookup`]: `GOOGLE_SERVICE_ACCOUNT_KEY` or
//! `GOOGLE_APPLICATION_CREDENTIALS`, `STORAGE_EMULATOR_HOST`,
//! `GCS_ENDPOINT_URL`), and requests carry the adapter's own bearer token
//! (none on an emulator, as with Google's SDKs). Two more:
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `GOOGLE_CLOUD_PROJECT` | the project new buckets belong to | the service-account key's `project_id` |
//! | `GCS_LOCATION` | where new buckets are created (`EU`, `europe-west1`, …) | Google's default (`US`) |
//!
//! What each container becomes: a bucket (created with its name and
//! location only, so the create, which is never replayed, stays small),
//! then, by idempotent `PATCH`es: the manifest's CORS rules (`cors`; GCS
//! has one `responseHeader` list for the headers a browser may send and
//! read, so it is the union of `allowed_headers` and `exposed_headers`),
//! container metadata as `labels` (label rules: lowercase letters, digits,
//! `_` and `-`), and `iamConfiguration`: uniform bucket-level access on
//! for every bucket, public access prevention `enforced` for private
//! containers and `inherited` for public ones. A public container's
//! anonymous read is an IAM binding for `allUsers`, which `apply` does not
//! write (`setIamPolicy` replaces the bucket's whole policy); the plan
//! says so and the Terraform export declares it. `destroy` deletes each
//! bucket's objects, then the bucket.

use std::collections::BTreeMap;

use async_trait::async_trait;
use reqwest::header::HeaderValue;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};
use storage_core::retry::{Idempotency, RetryPolicy};
use storage_core::Provider;
use storage_gcs::{GcsConfig, GcsStore};

use crate::apply::Backend;
use crate::error::{InfraError, Result};
use crate::export::terraform_gcs::gcs_cors_rule;
use crate::manifest::{Access, Manifest};
use crate::plan::{BucketProtection, Change, CorsRule, Plan};
use crate::wire::{self, Reply};

/// `GOOGLE_CLOUD_PROJECT`.
pub const PROJECT: &str = "GOOGLE_CLOUD_PROJECT";
/// `GCS_LOCATION`.
pub const LOCATION: &str = "GCS_LOCATION";

/// Provisions GCS buckets.
pub struct GcsBackend {
    http: reqwest::Client,
    store: GcsStore,
    project: String,
    location: Option<String>,
    policy: RetryPolicy,
}

impl std::fmt::Debug for GcsBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GcsBackend")
            .field("endpoint", &self.endpoint())
            .field("project", &self.project)
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

/// A bucket as the JSON API describes it (the fields provisioning reads).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketResource {
    /// CORS rules.
    #[serde(default)]
    pub cors: Vec<CorsJson>,
    /// Labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Access settings.
    #[serde(default)]
    pub iam_configuration: Option<IamConfiguration>,
}

/// One CORS rule of a bucket.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CorsJson {
    /// Origins.
    #[serde(default)]
    pub origin: Vec<String>,
    /// Methods.
    #[serde(default)]
    pub method: Vec<String>,
    /// Headers allowed and exposed.
    #[serde(default)]
    pub response_header: Vec<String>,
    /// Preflight cache lifetime.
    #[serde(default)]
    pub max_age_seconds: Option<u32>,
}

/// A bucket's `iamConfiguration`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IamConfiguration {
    /// Uniform bucket-level access.
    #[serde(default)]
    pub uniform_bucket_level_access: Option<Enabled>,
    /// `enforced`, `inherited` (or the older `unspecified`).
    #[serde(default)]
    pub public_access_prevention: Option<String>,
}

/// `{ "enabled": bool }`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Enabled {
    /// Whether it is on.
    #[serde(default)]
    pub enabled: bool,
}

impl BucketResource {
    /// The CORS rules, canonicalised in GCS's terms.
    pub fn cors_rules(&self) -> Vec<CorsRule> {
        self.cors
            .iter()
            .map(|r| {
                CorsRule::new(
                    r.origin.clone(),
                    r.method.clone(),
                    Vec::new(),
                    r.response_header.clone(),
                    r.max_age_seconds.unwrap_or(0),
                )
            })
            .collect()
    }

    /// Uniform access and public access prevention.
    pub fn protection(&self) -> BucketProtection {
        let iam = self.iam_configuration.clone().unwrap_or_default();
        let prevention = match iam.public_access_prevention.as_deref() {
            Some("enforced") => "enforced",
            _ => "inherited",
        };
        BucketProtection {
            uniform_access: iam.uniform_bucket_level_access.is_some_and(|u| u.enabled),
            public_access_prevention: prevention.to_string(),
        }
    }
}

/// The protection a container's access level asks for.
pub fn protection_for(access: Access) -> BucketProtection {
    BucketProtection {
        uniform_access: true,
        public_access_prevention: if access == Access::Private {
            "enforced"
        } else {
            "inherited"
        }
        .to_string(),
    }
}

/// Whether `text` may be a GCS label key or value.
fn label_ok(text: &str) -> bool {
    text.len() <= 63
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

impl GcsBackend {
    /// A backend for `config`'s endpoint and credentials (its bucket is not
    /// used), creating buckets in `project` at `location`.
    pub fn new(
        config: &GcsConfig,
        project: Option<String>,
        location: Option<String>,
    ) -> Result<GcsBackend> {
        let project = project
            .or_else(|| {
                config
                    .service_account()
                    .and_then(|k| k.project_id().map(str::to_string))
            })
            .ok_or_else(|| {
                InfraError::Usage(format!(
                    "{PROJECT} is not set and the credentials name no project: set {PROJECT} to \
                     the project new buckets belong to"
                ))
            })?;
        let policy = config.retry_policy().clone();
        let http = reqwest::Client::builder()
            .connect_timeout(policy.connect_timeout)
            .build()
            .map_err(|e| InfraError::Usage(format!("cannot build the HTTP client: {e}")))?;
        Ok(GcsBackend {
            http,
            store: GcsStore::new(config.clone())?,
            project,
            location,
            policy,
        })
    }

    fn endpoint(&self) -> &str {
        self.store.config().endpoint()
    }

    async fn send(
        &self,
        op: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
        idempotency: Idempotency,
    ) -> Result<Reply> {
        let endpoint = storage_core::redact::redact_url(self.endpoint());
        wire::send(
            &self.policy,
            Provider::Gcs,
            &endpoint,
            op,
            idempotency,
            || self.send_once(method.clone(), path, body.clone()),
        )
        .await
    }

    async fn send_once(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> std::result::Result<Reply, String> {
        let url = format!("{}{path}", self.endpoint().trim_end_matches('/'));
        let mut request = self.http.request(method, url);
        // A token per attempt: the chain refreshes it when it expires.
        if let Some(auth) = self
            .store
            .authorization()
            .await
            .map_err(|e| e.to_string())?
        {
            request = request.header(reqwest::header::AUTHORIZATION, auth);
        }
        request = match body {
            Some(body) => request
                .header("content-type", HeaderValue::from_static("application/json"))
                .body(body.to_string()),
            None => request.header("content-length", "0"),
        };
        let response = request
            .send()
            .await
            .map_err(|e| e.without_url().to_string())?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .text()
            .await
            .map_err(|e| e.without_url().to_string())?;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    /// The bucket, or `None` when it does not exist.
    pub async fn get_bucket(&self, name: &str) -> Result<Option<BucketResource>> {
        let op = format!("reading bucket `{name}`");
        let path = format!("/storage/v1/b/{}", enc(name));
        let reply = self
            .send(&op, Method::GET, &path, None, Idempotency::Idempotent)
            .await?;
        if reply.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        check(&op, &reply)?;
        serde_json::from_str(&reply.body)
            .map(Some)
            .map_err(|e| InfraError::backend(&op, format!("unreadable bucket resource: {e}")))
    }

    async fn create_bucket(&self, name: &str) -> Result<()> {
        let op = format!("creating bucket `{name}` in project `{}`", self.project);
        let mut body = json!({ "name": name });
        if let Some(location) = &self.location {
            body["location"] = json!(location);
        }
        let path = format!("/storage/v1/b?project={}", enc(&self.project));
        // Never replayed: a replay of a create that succeeded answers 409.
        let reply = self
            .send(
                &op,
                Method::POST,
                &path,
                Some(body),
                Idempotency::NotIdempotent,
            )
            .await?;
        check(&op, &reply)
    }

    async fn patch(&self, op: &str, name: &str, body: Value) -> Result<()> {
        let path = format!("/storage/v1/b/{}", enc(name));
        let reply = self
            .send(
                op,
                Method::PATCH,
                &path,
                Some(body),
                Idempotency::Idempotent,
            )
            .await?;
        check(op, &reply)
    }

    async fn delete_bucket(&self, name: &str) -> Result<bool> {
        let op = format!("emptying bucket `{name}`");
        let mut token: Option<String> = None;
        loop {
            let mut path = format!(
                "/storage/v1/b/{}/o?fields=items(name),nextPageToken",
                enc(name)
            );
            if let Some(t) = &token {
                path.push_str("&pageToken=");
                path.push_str(&enc(t));
            }
            let reply = self
                .send(&op, Method::GET, &path, None, Idempotency::Idempotent)
                .await?;
            if reply.status == StatusCode::NOT_FOUND {
                return Ok(false);
            }
            check(&op, &reply)?;
            let page: Value = serde_json::from_str(&reply.body)
                .map_err(|e| InfraError::backend(&op, format!("unreadable listing: {e}")))?;
            for item in page["items"].as_array().into_iter().flatten() {
                let Some(object) = item["name"].as_str() else {
                    continue;
                };
                let path = format!("/storage/v1/b/{}/o/{}", enc(name), enc(object));
                let reply = self
                    .send(&op, Method::DELETE, &path, None, Idempotency::Idempotent)
                    .await?;
                if reply.status != StatusCode::NOT_FOUND {
                    check(&op, &reply)?;
                }
            }
            token = page["nextPageToken"].as_str().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        let op = format!("deleting bucket `{name}`");
        let path = format!("/storage/v1/b/{}", enc(name));
        let reply = self
            .send(&op, Method::DELETE, &path, None, Idempotency::Idempotent)
            .await?;
        if reply.status == StatusCode::NOT_FOUND {
            return Ok(false);
        }
        check(&op, &reply).map(|()| true)
    }
}

#[async_trait]
impl Backend for GcsBackend {
    async fn plan(&self, manifest: &Manifest) -> Result<Plan> {
        let cors: Option<Vec<CorsRule>> = manifest
            .cors_rules()
            .map(|rules| rules.iter().map(gcs_cors_rule).collect());
        let mut changes = Vec::new();
        let mut notes = Vec::new();
        for spec in &manifest.containers {
            let name = spec.name().to_string();
            if let Some(metadata) = spec.metadata() {
                if let Some((k, v)) = metadata.iter().find(|(k, v)| !label_ok(k) || !label_ok(v)) {
                    return Err(InfraError::Usage(format!(
                        "container `{name}`: metadata `{k} = \"{v}\"` cannot be a GCS label \
                         (at most 63 lowercase letters, digits, `_` and `-`); change it in \
                         storage.toml for the gcs provider"
                    )));
                }
            }
            let live = self.get_bucket(&name).await?;
            if live.is_none() {
                changes.push(Change::CreateContainer {
                    name: name.clone(),
                    access: spec.access,
                    metadata: Default::default(),
                });
            }
            let live = live.unwrap_or_default();
            if let Some(want) = &cors {
                let have = live.cors_rules();
                if have != *want {
                    changes.push(Change::SetBucketCors {
                        name: name.clone(),
                        from: have,
                        to: want.clone(),
                    });
                }
            }
            if let Some(want) = spec.metadata() {
                if *want != live.labels {
                    changes.push(Change::SetMetadata {
                        name: name.clone(),
                        from: live.labels.clone(),
                        to: want.clone(),
                    });
                }
            }
            let want = protection_for(spec.access);
            let have = live.protection();
            if have != want {
                changes.push(Change::SetBucketProtection {
                    name: name.clone(),
                    from: have,
                    to: want,
                });
            }
            if spec.access != Access::Private {
                notes.push(format!(
                    "bucket `{name}` is public ({}): apply allows public access but grants none, \
                     since setIamPolicy replaces the bucket's whole policy; bind allUsers to {} \
                     (`export --format terraform --provider gcs` declares it)",
                    spec.access,
                    if spec.access == Access::Container {
                        "roles/storage.objectViewer"
                    } else {
                        "roles/storage.legacyObjectReader"
                    }
                ));
            }
        }
        if manifest.cors.is_none() {
            notes.push("the manifest has no `cors` entry: live CORS rules are left alone".into());
        }
        if manifest.account.is_some() {
            notes.push(
                "[account] settings (versioning, soft delete, lifecycle) are not applied: use \
                 `export --format terraform --provider gcs`"
                    .into(),
            );
        }
        Ok(Plan {
            provider: "gcs".into(),
            target: format!(
                "{} (project {})",
                storage_core::redact::redact_url(self.endpoint()),
                self.project
            ),
            changes,
            notes,
        })
    }

    async fn apply_change(&self, change: &Change) -> Result<()> {
        match change {
            Change::CreateContainer { name, .. } => self.create_bucket(name).await,
            Change::SetBucketCors { name, to, .. } => {
                let rules: Vec<Value> = to
                    .iter()
                    .map(|r| {
                        json!({
                            "origin": r.origins,
                            "method": r.methods,
                            "responseHeader": r.exposed_headers,
                            "maxAgeSeconds": r.max_age_secs,
                        })
                    })
                    .collect();
                let op = format!("setting the CORS rules of bucket `{name}`");
                self.patch(&op, name, json!({ "cors": rules })).await
            }
            Change::SetMetadata { name, from, to } => {
                // PATCH merges labels: a label to drop is sent as null.
                let mut labels = serde_json::Map::new();
                for key in from.keys().filter(|k| !to.contains_key(*k)) {
                    labels.insert(key.clone(), Value::Null);
                }
                for (key, value) in to {
                    labels.insert(key.clone(), json!(value));
                }
                let op = format!("setting the labels of bucket `{name}`");
                self.patch(&op, name, json!({ "labels": labels })).await
            }
            Change::SetBucketProtection { name, to, .. } => {
                let op = format!("setting the access protection of bucket `{name}`");
                let body = json!({ "iamConfiguration": {
                    "uniformBucketLevelAccess": { "enabled": to.uniform_access },
                    "publicAccessPrevention": to.public_access_prevention,
                }});
                self.patch(&op, name, body).await
            }
            // Planned by other backends only.
            Change::CreateRoot { .. }
            | Change::RestrictPermissions { .. }
            | Change::SetAccess { .. }
            | Change::SetCors { .. }
            | Change::SetPublicAccessBlock { .. } => Ok(()),
        }
    }

    async fn destroy(&self, manifest: &Manifest) -> Result<Vec<String>> {
        let mut deleted = Vec::new();
        for spec in &manifest.containers {
            if self.delete_bucket(spec.name()).await? {
                deleted.push(spec.name().to_string());
            }
        }
        Ok(deleted)
    }
}

/// A path segment or query value, percent-encoded.
fn enc(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

fn check(op: &str, reply: &Reply) -> Result<()> {
    if reply.status.is_success() {
        return Ok(());
    }
    let detail = serde_json::from_str::<Value>(&reply.body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
        .unwrap_or_default();
    let hint = match reply.status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            " (check GOOGLE_SERVICE_ACCOUNT_KEY or GOOGLE_APPLICATION_CREDENTIALS, and that the \
             identity may manage buckets in the project)"
        }
        _ => "",
    };
    Err(InfraError::backend(
        op,
        format!("HTTP {} {detail}{hint}", reply.status),
    ))
}

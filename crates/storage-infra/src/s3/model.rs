//! The XML bodies of the S3 bucket sub-resources provisioning uses:
//! `?cors`, `?publicAccessBlock`, `CreateBucketConfiguration`, and the
//! listing and batch delete that empty a bucket for `destroy`.

use serde::Deserialize;

use crate::plan::{CorsRule, PublicAccessBlock};

#[derive(Debug, Default, Deserialize)]
struct CorsConfiguration {
    #[serde(rename = "CORSRule", default)]
    rules: Vec<CorsRuleXml>,
}

#[derive(Debug, Default, Deserialize)]
struct CorsRuleXml {
    #[serde(rename = "AllowedOrigin", default)]
    origins: Vec<String>,
    #[serde(rename = "AllowedMethod", default)]
    methods: Vec<String>,
    #[serde(rename = "AllowedHeader", default)]
    allowed_headers: Vec<String>,
    #[serde(rename = "ExposeHeader", default)]
    exposed_headers: Vec<String>,
    #[serde(rename = "MaxAgeSeconds", default)]
    max_age: Option<u32>,
}

/// The rules of a `GetBucketCors` answer, canonicalised.
pub fn parse_cors(xml: &str) -> Result<Vec<CorsRule>, String> {
    let config: CorsConfiguration =
        quick_xml::de::from_str(xml).map_err(|e| format!("unreadable CORS configuration: {e}"))?;
    Ok(config
        .rules
        .into_iter()
        .map(|r| {
            CorsRule::new(
                r.origins,
                r.methods,
                r.allowed_headers,
                r.exposed_headers,
                r.max_age.unwrap_or(0),
            )
        })
        .collect())
}

/// A `PutBucketCors` body.
pub fn cors_body(rules: &[CorsRule]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <CORSConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">",
    );
    let element = |out: &mut String, name: &str, items: &[String]| {
        for item in items {
            out.push_str(&format!("<{name}>{}</{name}>", escape(item)));
        }
    };
    for rule in rules {
        out.push_str("<CORSRule>");
        element(&mut out, "AllowedOrigin", &rule.origins);
        element(&mut out, "AllowedMethod", &rule.methods);
        element(&mut out, "AllowedHeader", &rule.allowed_headers);
        element(&mut out, "ExposeHeader", &rule.exposed_headers);
        out.push_str(&format!(
            "<MaxAgeSeconds>{}</MaxAgeSeconds></CORSRule>",
            rule.max_age_secs
        ));
    }
    out.push_str("</CORSConfiguration>");
    out
}

#[derive(Debug, Deserialize)]
struct PublicAccessBlockXml {
    #[serde(rename = "BlockPublicAcls", default)]
    block_public_acls: bool,
    #[serde(rename = "IgnorePublicAcls", default)]
    ignore_public_acls: bool,
    #[serde(rename = "BlockPublicPolicy", default)]
    block_public_policy: bool,
    #[serde(rename = "RestrictPublicBuckets", default)]
    restrict_public_buckets: bool,
}

/// The switches of a `GetPublicAccessBlock` answer (a switch left out is off).
pub fn parse_public_access_block(xml: &str) -> Result<PublicAccessBlock, String> {
    let b: PublicAccessBlockXml =
        quick_xml::de::from_str(xml).map_err(|e| format!("unreadable public access block: {e}"))?;
    Ok(PublicAccessBlock {
        block_public_acls: b.block_public_acls,
        ignore_public_acls: b.ignore_public_acls,
        block_public_policy: b.block_public_policy,
        restrict_public_buckets: b.restrict_public_buckets,
    })
}

/// A `PutPublicAccessBlock` body.
pub fn public_access_block_body(b: &PublicAccessBlock) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <PublicAccessBlockConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
         <BlockPublicAcls>{}</BlockPublicAcls><IgnorePublicAcls>{}</IgnorePublicAcls>\
         <BlockPublicPolicy>{}</BlockPublicPolicy><RestrictPublicBuckets>{}</RestrictPublicBuckets>\
         </PublicAccessBlockConfiguration>",
        b.block_public_acls, b.ignore_public_acls, b.block_public_policy, b.restrict_public_buckets
    )
}

/// A `CreateBucket` body for `region`; `None` in us-east-1, where S3
/// refuses a `LocationConstraint` naming it.
pub fn create_bucket_body(region: &str) -> Option<String> {
    (region != "us-east-1").then(|| {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
             <CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
             <LocationConstraint>{}</LocationConstraint></CreateBucketConfiguration>",
            escape(region)
        )
    })
}

#[derive(Debug, Default, Deserialize)]
struct ListBucketResult {
    #[serde(rename = "Contents", default)]
    contents: Vec<Object>,
    #[serde(rename = "NextContinuationToken", default)]
    next: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct Object {
    #[serde(rename = "Key")]
    key: String,
}

/// The keys of one `ListObjectsV2` page and the token of the next.
pub fn parse_listing(xml: &str) -> Result<(Vec<String>, Option<String>), String> {
    let page: ListBucketResult =
        quick_xml::de::from_str(xml).map_err(|e| format!("unreadable listing: {e}"))?;
    Ok((
        page.contents.into_iter().map(|o| o.key).collect(),
        page.next.filter(|t| !t.is_empty()),
    ))
}

/// A quiet `DeleteObjects` body (only failures are answered).
pub fn delete_objects_body(keys: &[String]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
         <Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>",
    );
    for key in keys {
        out.push_str(&format!("<Object><Key>{}</Key></Object>", escape(key)));
    }
    out.push_str("</Delete>");
    out
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cors_reads_back_what_it_writes() {
        let rule = CorsRule::new(
            ["http://a.example".into(), "https://b.example:8443".into()],
            ["PUT".into(), "GET".into()],
            ["Content-Type".into(), "x-amz-meta-*".into()],
            ["ETag".into()],
            600,
        );
        let body = cors_body(std::slice::from_ref(&rule));
        assert_eq!(parse_cors(&body).unwrap(), vec![rule]);
    }

    #[test]
    fn public_access_block_round_trips() {
        for b in [PublicAccessBlock::ALL, PublicAccessBlock::POLICY_ONLY] {
            let body = public_access_block_body(&b);
            assert_eq!(parse_public_access_block(&body).unwrap(), b);
        }
    }

    #[test]
    fn location_constraint_only_outside_us_east_1() {
        assert!(create_bucket_body("us-east-1").is_none());
        assert!(create_bucket_body("eu-west-3")
            .unwrap()
            .contains("<LocationConstraint>eu-west-3</LocationConstraint>"));
    }

    #[test]
    fn listing_pages() {
        let xml = "<ListBucketResult><Contents><Key>a&amp;b</Key></Contents>\
                   <NextContinuationToken>t1</NextContinuationToken></ListBucketResult>";
        assert_eq!(
            parse_listing(xml).unwrap(),
            (vec!["a&b".to_string()], Some("t1".to_string()))
        );
    }
}

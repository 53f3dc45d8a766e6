//! The XML bodies of the blob service REST API that provisioning uses:
//! service properties (CORS) and error responses.

use serde::Deserialize;

use crate::plan::CorsRule;

#[derive(Debug, Default, Deserialize)]
struct ServiceProperties {
    #[serde(rename = "Cors", default)]
    cors: Option<Cors>,
}

#[derive(Debug, Default, Deserialize)]
struct Cors {
    #[serde(rename = "CorsRule", default)]
    rules: Vec<CorsRuleXml>,
}

#[derive(Debug, Default, Deserialize)]
struct CorsRuleXml {
    #[serde(rename = "AllowedOrigins", default)]
    origins: String,
    #[serde(rename = "AllowedMethods", default)]
    methods: String,
    #[serde(rename = "AllowedHeaders", default)]
    allowed_headers: String,
    #[serde(rename = "ExposedHeaders", default)]
    exposed_headers: String,
    #[serde(rename = "MaxAgeInSeconds", default)]
    max_age: u32,
}

fn split(list: &str) -> impl Iterator<Item = String> + '_ {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
}

/// The CORS rules in a `Get Blob Service Properties` answer.
pub fn parse_cors(xml: &str) -> Result<Vec<CorsRule>, String> {
    // Azure prefixes its XML with a byte-order mark.
    let xml = xml.trim_start_matches('\u{feff}');
    let props: ServiceProperties =
        quick_xml::de::from_str(xml).map_err(|e| format!("unreadable service properties: {e}"))?;
    Ok(props
        .cors
        .unwrap_or_default()
        .rules
        .iter()
        .map(|r| {
            CorsRule::new(
                split(&r.origins),
                split(&r.methods),
                split(&r.allowed_headers),
                split(&r.exposed_headers),
                r.max_age,
            )
        })
        .collect())
}

/// A `Set Blob Service Properties` body that sets only CORS: elements left
/// out (logging, metrics, soft delete, static website) keep their values.
pub fn cors_body(rules: &[CorsRule]) -> String {
    let mut out =
        String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?><StorageServiceProperties><Cors>");
    for rule in rules {
        out.push_str(&format!(
            "<CorsRule><AllowedOrigins>{}</AllowedOrigins><AllowedMethods>{}</AllowedMethods>\
             <MaxAgeInSeconds>{}</MaxAgeInSeconds><ExposedHeaders>{}</ExposedHeaders>\
             <AllowedHeaders>{}</AllowedHeaders></CorsRule>",
            escape(&rule.origins.join(",")),
            escape(&rule.methods.join(",")),
            rule.max_age_secs,
            escape(&rule.exposed_headers.join(",")),
            escape(&rule.allowed_headers.join(",")),
        ));
    }
    out.push_str("</Cors></StorageServiceProperties>");
    out
}

/// The `<Code>` and `<Message>` of an error body, first line only (the
/// rest is a request id and time, noise for a user).
pub fn error_summary(xml: &str) -> Option<String> {
    let tag = |name: &str| {
        let open = format!("<{name}>");
        let start = xml.find(&open)? + open.len();
        let end = xml[start..].find(&format!("</{name}>"))? + start;
        Some(xml[start..end].trim().to_string())
    };
    let code = tag("Code")?;
    let message = tag("Message")
        .and_then(|m| m.lines().next().map(str::to_string))
        .unwrap_or_default();
    Some(format!("{code}: {message}"))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_what_it_writes() {
        let rule = CorsRule::new(
            ["http://a.example".into(), "https://b.example:8443".into()],
            ["PUT".into(), "GET".into()],
            ["x-ms-blob-type".into(), "content-type".into()],
            ["etag".into()],
            600,
        );
        let body = cors_body(std::slice::from_ref(&rule));
        assert_eq!(parse_cors(&body).unwrap(), vec![rule]);
        assert_eq!(parse_cors(&cors_body(&[])).unwrap(), vec![]);
    }

    #[test]
    fn ignores_other_properties_and_empty_elements() {
        let xml = "\u{feff}<?xml version=\"1.0\"?><StorageServiceProperties><Logging><Version>1.0</Version></Logging>\
            <Cors><CorsRule><AllowedOrigins>*</AllowedOrigins><AllowedMethods>GET</AllowedMethods>\
            <AllowedHeaders /><ExposedHeaders></ExposedHeaders><MaxAgeInSeconds>5</MaxAgeInSeconds>\
            </CorsRule></Cors><DefaultServiceVersion>2021-08-06</DefaultServiceVersion></StorageServiceProperties>";
        let rules = parse_cors(xml).unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].origins, vec!["*"]);
        assert!(rules[0].allowed_headers.is_empty());
    }

    #[test]
    fn summarises_errors() {
        let xml = "<?xml version=\"1.0\"?><Error><Code>AuthenticationFailed</Code><Message>Server failed.\nRequestId:1</Message></Error>";
        assert_eq!(
            error_summary(xml).unwrap(),
            "AuthenticationFailed: Server failed."
        );
    }
}

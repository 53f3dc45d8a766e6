//! The `Range` request header, single ranges only.

use storage_core::ByteRange;

/// Parses `bytes=a-b`, `bytes=a-` or `bytes=-n`. Anything else (several
/// ranges, other units, nonsense) yields `None`, and RFC 9110 lets a server
/// then answer with the whole blob.
pub(crate) fn parse(value: &str) -> Option<ByteRange> {
    let spec = value.trim().strip_prefix("bytes=")?.trim();
    if spec.contains(',') {
        return None;
    }
    let (start, end) = spec.split_once('-')?;
    let number = |s: &str| -> Option<u64> {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (start.trim().is_empty(), end.trim().is_empty()) {
        (true, false) => Some(ByteRange::Suffix(number(end)?)),
        (false, true) => Some(ByteRange::From(number(start)?)),
        (false, false) => {
            let (start, last) = (number(start)?, number(end)?);
            (last >= start).then_some(ByteRange::Bounded {
                start,
                end: last.checked_add(1)?,
            })
        }
        (true, true) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(
            parse("bytes=0-0"),
            Some(ByteRange::Bounded { start: 0, end: 1 })
        );
        assert_eq!(parse("bytes=5-"), Some(ByteRange::From(5)));
        assert_eq!(parse("bytes=-3"), Some(ByteRange::Suffix(3)));
        for bad in [
            "bytes=3-1",
            "bytes=0-1,4-5",
            "items=0-1",
            "bytes=-",
            "bytes=a-1",
            "bytes=1-2-3",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}

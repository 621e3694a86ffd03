//! Keyset pagination: page sizes and opaque page tokens.
//!
//! A token encodes the (created_at, id) of the last row returned; the next page starts
//! strictly after it. Unlike offsets this stays correct while rows are inserted or deleted.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use time::OffsetDateTime;
use uuid::Uuid;

use super::ValidationError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize(u32);

impl Default for PageSize {
    fn default() -> Self {
        PageSize(20)
    }
}

impl PageSize {
    pub const MAX: u32 = 100;

    pub fn new(n: u32) -> Result<PageSize, ValidationError> {
        if (1..=Self::MAX).contains(&n) {
            Ok(PageSize(n))
        } else {
            Err(ValidationError::new("page_size must be between 1 and 100"))
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageToken {
    pub created_at: OffsetDateTime,
    pub id: Uuid,
}

impl PageToken {
    pub fn encode(&self) -> String {
        // Microseconds: Postgres timestamptz precision, so the value round-trips exactly.
        let micros = self.created_at.unix_timestamp_nanos() / 1000;
        URL_SAFE_NO_PAD.encode(format!("{micros}:{}", self.id.simple()))
    }

    pub fn decode(raw: &str) -> Result<PageToken, ValidationError> {
        let bad = || {
            ValidationError::new("page_token is invalid; pass the next_page_token value unchanged")
        };
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?;
        let text = std::str::from_utf8(&bytes).map_err(|_| bad())?;
        let (micros, id) = text.split_once(':').ok_or_else(bad)?;
        let micros: i128 = micros.parse().map_err(|_| bad())?;
        let created_at =
            OffsetDateTime::from_unix_timestamp_nanos(micros * 1000).map_err(|_| bad())?;
        let id = Uuid::parse_str(id).map_err(|_| bad())?;
        Ok(PageToken { created_at, id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_round_trips() {
        let t = PageToken {
            created_at: OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_000)
                .unwrap(),
            id: Uuid::now_v7(),
        };
        assert_eq!(PageToken::decode(&t.encode()), Ok(t));
    }

    #[test]
    fn bad_tokens() {
        for raw in ["", "!!!", "bm9jb2xvbg", &URL_SAFE_NO_PAD.encode("12:not-a-uuid")] {
            assert!(PageToken::decode(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn sizes() {
        for (n, ok) in [(0, false), (1, true), (20, true), (100, true), (101, false)] {
            assert_eq!(PageSize::new(n).is_ok(), ok, "{n}");
        }
    }
}

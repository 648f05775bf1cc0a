//! Conversions of stored column values, shared by every module that reads
//! rows (a leaf: it imports nothing of the crate). They would be methods of
//! the row types in `store::models`, which another change is reorganising.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Map, Value};

/// A stored timestamp (UTC without an offset) as a `DateTime<Utc>`.
pub fn to_utc(at: NaiveDateTime) -> DateTime<Utc> {
    DateTime::from_naive_utc_and_offset(at, Utc)
}

/// A stored JSON object; anything else (or garbage) is an empty one.
pub(crate) fn parse_json_object(text: &str) -> Map<String, Value> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

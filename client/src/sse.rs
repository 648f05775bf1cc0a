//! [`EventStream`]: the server-sent events of `GET /v1/events/stream`, or
//! the messages of gRPC's `WatchEvents`.

use std::collections::VecDeque;

use crate::client::Event;
use crate::error::{Error, Result};

/// The longest frame accepted (an event is a few hundred bytes; this is a
/// server that never ends one).
const MAX_FRAME: usize = 16 << 20;

/// One item of the stream.
#[derive(Debug, Clone)]
pub enum StreamItem {
    /// An event.
    Event(Event),
    /// Events after the cursor were pruned (retention): some were missed.
    Truncated,
}

/// An open event stream; [`EventStream::next`] reads it as it arrives.
#[derive(Debug)]
pub struct EventStream {
    source: Source,
    parser: Parser,
    /// The id of the last event [`EventStream::next`] returned (events
    /// received but not yet read do not count: resuming skips none).
    returned: Option<i64>,
}

/// Where the items come from.
#[derive(Debug)]
enum Source {
    /// `GET /v1/events/stream`.
    Sse(reqwest::Response),
    /// gRPC `WatchEvents`.
    Grpc(crate::grpc::Watch),
}

/// The event-stream framing: bytes in, items out.
#[derive(Debug, Default)]
struct Parser {
    buffer: Vec<u8>,
    pending: VecDeque<StreamItem>,
}

impl EventStream {
    pub(crate) fn new(response: reqwest::Response) -> Self {
        Self {
            source: Source::Sse(response),
            parser: Parser::default(),
            returned: None,
        }
    }

    pub(crate) fn grpc(watch: crate::grpc::Watch) -> Self {
        Self {
            source: Source::Grpc(watch),
            parser: Parser::default(),
            returned: None,
        }
    }

    /// Whether the server sends keep-alives while idle (HTTP): a silent
    /// stream is then a dead one. A gRPC stream is silent while nothing
    /// happens; HTTP/2 pings watch its connection.
    pub(crate) fn keeps_alive(&self) -> bool {
        matches!(self.source, Source::Sse(_))
    }

    /// The id of the last event read (send it as `Last-Event-ID` to
    /// resume).
    pub fn last_event_id(&self) -> Option<i64> {
        self.returned
    }

    /// Whether items already received wait to be read ([`next`] returns
    /// one without waiting).
    ///
    /// [`next`]: EventStream::next
    pub fn has_buffered(&self) -> bool {
        !self.parser.pending.is_empty()
    }

    /// The next item; `Ok(None)` when the server ended the stream, an error
    /// when the connection broke.
    pub async fn next(&mut self) -> Result<Option<StreamItem>> {
        loop {
            if let Some(item) = self.parser.pending.pop_front() {
                if let StreamItem::Event(event) = &item {
                    self.returned = Some(event.id);
                }
                return Ok(Some(item));
            }
            match &mut self.source {
                Source::Sse(response) => match response.chunk().await? {
                    None => return Ok(None),
                    Some(chunk) => self.parser.feed(&chunk)?,
                },
                Source::Grpc(watch) => {
                    let parser = &mut self.parser;
                    if !watch.fill(&mut parser.pending).await? {
                        return Ok(None);
                    }
                }
            }
        }
    }
}

impl Parser {
    /// Appends `chunk` and parses the frames it completes.
    fn feed(&mut self, chunk: &[u8]) -> Result<()> {
        self.buffer.extend_from_slice(chunk);
        self.parse()
    }

    /// Moves every complete frame of the buffer to `pending`.
    fn parse(&mut self) -> Result<()> {
        while let Some((end, skip)) = frame_end(&self.buffer) {
            let frame: Vec<u8> = self.buffer.drain(..end + skip).take(end).collect();
            let text = String::from_utf8_lossy(&frame);
            if let Some(item) = self.item(&text)? {
                self.pending.push_back(item);
            }
        }
        if self.buffer.len() > MAX_FRAME {
            return Err(Error::Unexpected(format!(
                "an event stream frame over {MAX_FRAME} bytes"
            )));
        }
        Ok(())
    }

    fn item(&mut self, frame: &str) -> Result<Option<StreamItem>> {
        let mut id = None;
        let mut event = String::from("message");
        let mut data = String::new();
        for line in frame.lines() {
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "id" => id = Some(value.to_owned()),
                "event" => event = value.to_owned(),
                "data" => {
                    if !data.is_empty() {
                        data.push('\n');
                    }
                    data.push_str(value);
                }
                _ => {}
            }
        }
        if event == "truncated" {
            return Ok(Some(StreamItem::Truncated));
        }
        if data.is_empty() {
            // A comment-only frame (keep-alive).
            return Ok(None);
        }
        let parsed: Event = serde_json::from_str(&data)
            .map_err(|e| Error::Unexpected(format!("event {id:?}: {e}")))?;
        Ok(Some(StreamItem::Event(parsed)))
    }
}

/// The end of the first frame (a blank line) and the separator's length.
fn frame_end(buffer: &[u8]) -> Option<(usize, usize)> {
    let lf = find(buffer, b"\n\n").map(|i| (i, 2));
    let crlf = find(buffer, b"\r\n\r\n").map(|i| (i, 4));
    match (lf, crlf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(parser: &mut Parser) -> Vec<String> {
        parser
            .pending
            .drain(..)
            .map(|item| match item {
                StreamItem::Event(e) => format!("{}:{}", e.id, e.kind),
                StreamItem::Truncated => "truncated".into(),
            })
            .collect()
    }

    #[test]
    fn frames_split_across_chunks_parse_once_complete() {
        let mut parser = Parser::default();
        let event = r#"{"id":7,"kind":"namespace.promoted","namespace":"shop","created_at":"x","payload":{}}"#;
        let text = format!(": keep-alive\n\nid: 7\nevent: namespace.promoted\ndata: {event}\n\n");
        let (a, b) = text.as_bytes().split_at(30);
        parser.feed(a).unwrap();
        assert!(ids(&mut parser).is_empty());
        parser.feed(b).unwrap();
        assert_eq!(ids(&mut parser), ["7:namespace.promoted"]);
    }

    #[test]
    fn truncated_crlf_and_bad_data() {
        let mut parser = Parser::default();
        parser
            .feed(b"event: truncated\r\ndata: {\"truncated\": true, \"after\": 3}\r\n\r\n")
            .unwrap();
        assert_eq!(ids(&mut parser), ["truncated"]);
        let err = parser
            .feed(b"id: 1\nevent: x\ndata: not json\n\n")
            .unwrap_err();
        assert!(matches!(err, Error::Unexpected(_)), "{err}");
    }
}

//! What a connection test does once connected: connect only, a send/expect
//! exchange, an HTTP request, or a named protocol's dialogue. Each
//! protocol's `build` returns one; the port probe runs it.

use regex::bytes::Regex;
use warden_config::model::Connection;

use super::error::BuildError;
use super::http::HttpTest;
use super::wire::Dialogue;
use crate::peer::Peer;

/// One step of a send/expect exchange: bytes to send, or a pattern the
/// answer must match.
#[derive(Debug, Clone)]
pub enum Step {
    Send(Vec<u8>),
    Expect(Regex),
}

/// What to do once connected (or instead of connecting, for HTTP, where
/// reqwest owns the connection).
#[derive(Debug)]
pub enum Conversation {
    /// Connecting is the whole test.
    Connect,
    /// `send`/`expect` steps in order.
    Exchange(Vec<Step>),
    Http(Box<HttpTest>),
    /// A named protocol's own conversation (smtp, redis, ...).
    Speak(Box<dyn Dialogue>),
}

/// How a protocol turns a rule into a conversation.
pub type Build = fn(&Connection, &Peer) -> Result<Conversation, BuildError>;

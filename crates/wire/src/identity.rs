//! The platform's identity on the wire (issue #13): the token endpoint's answer and the header
//! a service relays a person's token in.

use serde::{Deserialize, Serialize};

/// The header a relaying service puts the person's access token in (its own goes in
/// `Authorization`).
pub const ON_BEHALF_OF: &str = "x-dcp-on-behalf-of";

/// What `POST /oauth/token` answers (RFC 6749 §5.1).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenReply {
    pub access_token: String,
    pub token_type: String,
    /// Seconds the access token lives.
    pub expires_in: u64,
    /// Present for the password grant: exchanged at the token endpoint for a new pair.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

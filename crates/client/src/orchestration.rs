//! What the task-engine and orchestrator clients share: both speak the orchestration seed's
//! envelope `{"code":0,"msg":"success","data":...}` (lists add page, page_size, query_count).

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use wire::task_engine::{ListReply, Listed, Reply};

use crate::transport::{decode, ClientError, Encoding, Transport};

fn url(transport: &Transport, path: &str) -> String {
    format!("{}{path}", transport.base_url())
}

fn failed(transport: &Transport, path: &str, status: u16, body: &Value) -> ClientError {
    ClientError::Api {
        url: url(transport, path),
        status,
        code: body["code"].as_i64().unwrap_or(-1),
        message: body["msg"].as_str().unwrap_or_default().to_string(),
    }
}

/// POSTs `params` as JSON and decodes `data` of a successful answer.
pub(crate) async fn post<T: DeserializeOwned, P: Serialize>(
    transport: &Transport,
    path: &str,
    params: &P,
) -> Result<T, ClientError> {
    let body = serde_json::to_value(params).map_err(|e| ClientError::Decode {
        url: url(transport, path),
        reason: e.to_string(),
    })?;
    let reply = transport
        .send_value(Method::POST, path, Encoding::Json, &body)
        .await?;
    let envelope: Reply<Value> = decode(&url(transport, path), reply.body.clone())?;
    if envelope.code != 0 {
        return Err(failed(transport, path, reply.status.as_u16(), &reply.body));
    }
    decode(&url(transport, path), envelope.data.unwrap_or(Value::Null))
}

/// GETs a page of a list (page and page_size in the query string).
pub(crate) async fn list<T: DeserializeOwned>(
    transport: &Transport,
    path: &str,
    page: u64,
    page_size: u64,
) -> Result<Listed<T>, ClientError> {
    let params = json!({"page": page, "page_size": page_size});
    let reply = transport
        .send_value(Method::GET, path, Encoding::Query, &params)
        .await?;
    if reply.body["code"].as_i64() != Some(0) {
        return Err(failed(transport, path, reply.status.as_u16(), &reply.body));
    }
    let list: ListReply<T> = decode(&url(transport, path), reply.body)?;
    Ok(Listed {
        data: list.data,
        page: list.page,
        page_size: list.page_size,
        query_count: list.query_count,
    })
}

/// A client of a service of the orchestration seed: the struct over one [`Transport`], its
/// constructor, request id, raw calls for tests of bad input, and the envelope helpers `post`
/// and `list` its route methods use.
macro_rules! seed_client {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone)]
        pub struct $name {
            transport: $crate::transport::Transport,
        }

        impl $name {
            pub fn new(
                config: $crate::transport::ClientConfig,
            ) -> Result<Self, $crate::transport::ClientError> {
                Ok($name {
                    transport: $crate::transport::Transport::new(config)?,
                })
            }

            pub fn with_request_id(&self, id: &str) -> Self {
                $name {
                    transport: self.transport.with_request_id(id),
                }
            }

            /// The same client, acting for the person whose access token is `token`.
            pub fn on_behalf_of(&self, token: secrecy::SecretString) -> Self {
                $name {
                    transport: self.transport.on_behalf_of(token),
                }
            }

            pub fn transport(&self) -> &$crate::transport::Transport {
                &self.transport
            }

            /// Sends anything to `path` and returns the answer as it came (for tests of bad
            /// input). GETs are retried on connection errors; POSTs are not.
            pub async fn call_raw(
                &self,
                method: reqwest::Method,
                path: &str,
                encoding: $crate::transport::Encoding,
                params: &serde_json::Value,
            ) -> Result<$crate::transport::RawReply, $crate::transport::ClientError> {
                self.transport
                    .send_value(method, path, encoding, params)
                    .await
            }

            /// POSTs `body` as it is with this content type (for tests of unreadable bodies).
            pub async fn post_bytes(
                &self,
                path: &str,
                content_type: &str,
                body: Vec<u8>,
            ) -> Result<$crate::transport::RawReply, $crate::transport::ClientError> {
                self.transport.post_bytes(path, content_type, body).await
            }

            async fn post<T: serde::de::DeserializeOwned, P: serde::Serialize>(
                &self,
                path: &str,
                params: &P,
            ) -> Result<T, $crate::transport::ClientError> {
                $crate::orchestration::post(&self.transport, path, params).await
            }

            async fn list<T: serde::de::DeserializeOwned>(
                &self,
                path: &str,
                page: u64,
                page_size: u64,
            ) -> Result<wire::task_engine::Listed<T>, $crate::transport::ClientError> {
                $crate::orchestration::list(&self.transport, path, page, page_size).await
            }
        }
    };
}

pub(crate) use seed_client;

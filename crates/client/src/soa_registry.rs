//! The client of soa-registry: one method per seed route, plus `call_raw` for any parameters.

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;
use wire::soa_registry as w;

use crate::transport::{
    decode, ClientConfig, ClientError, Encoding, Idempotence, RawReply, Transport,
};

/// Calls every route of one zkidc with one key.
#[derive(Clone)]
pub struct SoaRegistryClient {
    transport: Transport,
    key: String,
    zkidc: String,
}

crate::transport::transport_accessors!(SoaRegistryClient);

impl SoaRegistryClient {
    pub fn new(config: ClientConfig, key: &str, zkidc: &str) -> Result<Self, ClientError> {
        Ok(SoaRegistryClient {
            transport: Transport::new(config)?,
            key: key.to_string(),
            zkidc: zkidc.to_string(),
        })
    }

    /// The same client on another zkidc.
    pub fn with_zkidc(&self, zkidc: &str) -> Self {
        SoaRegistryClient {
            zkidc: zkidc.to_string(),
            ..self.clone()
        }
    }

    /// The same client with another key.
    pub fn with_key(&self, key: &str) -> Self {
        SoaRegistryClient {
            key: key.to_string(),
            ..self.clone()
        }
    }

    /// Calls `path` (e.g. `/addserver/`) with exactly `params` (string values), and returns the
    /// answer as it came, for callers that need the raw envelope.
    pub async fn call_raw(
        &self,
        path: &str,
        method: Method,
        encoding: Encoding,
        params: &[(&str, &str)],
    ) -> Result<RawReply, ClientError> {
        let idempotence = if is_read(path) {
            Idempotence::Idempotent
        } else {
            Idempotence::NotIdempotent
        };
        match encoding {
            Encoding::Query | Encoding::Form => {
                self.transport
                    .send(method, path, encoding, params, idempotence)
                    .await
            }
            // A JSON body is an object of the same names and text values.
            Encoding::Json => {
                let object: serde_json::Map<String, Value> = params
                    .iter()
                    .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
                    .collect();
                self.transport
                    .send(method, path, encoding, &object, idempotence)
                    .await
            }
        }
    }

    /// Reads with GET and the query string, writes with POST and a form, as the seed says.
    async fn call<T: DeserializeOwned>(
        &self,
        route: &str,
        params: &[(&str, &str)],
    ) -> Result<T, ClientError> {
        let path = format!("/{route}/");
        let (method, encoding) = if is_read(&path) {
            (Method::GET, Encoding::Query)
        } else {
            (Method::POST, Encoding::Form)
        };
        let mut all = vec![("key", self.key.as_str()), ("zkidc", self.zkidc.as_str())];
        all.extend_from_slice(params);
        let url = format!("{}{path}", self.transport.base_url());
        let reply = self.call_raw(&path, method, encoding, &all).await?;
        let code = reply.body.get("code").and_then(Value::as_i64);
        if code != Some(i64::from(w::CODE_SUCCESS)) {
            let failure: w::Failure = decode(&url, reply.body)?;
            return Err(ClientError::Api {
                url,
                status: reply.status.as_u16(),
                code: i64::from(failure.code),
                message: failure.reason,
            });
        }
        decode(&url, reply.body)
    }

    pub async fn service_list(&self) -> Result<Vec<String>, ClientError> {
        let list: w::ServiceList = self.call("servicelist", &[]).await?;
        Ok(list.services.into_iter().map(|s| s.service).collect())
    }

    pub async fn add_service(&self, service: &str) -> Result<(), ClientError> {
        let _: w::Done = self.call("addservice", &[("destName", service)]).await?;
        Ok(())
    }

    /// Deletes a service; with `force` also its servers (refused otherwise while it has any).
    pub async fn del_service(&self, service: &str, force: bool) -> Result<(), ClientError> {
        let force = if force { "1" } else { "0" };
        let _: w::Done = self
            .call("delservice", &[("destName", service), ("force", force)])
            .await?;
        Ok(())
    }

    pub async fn server_list(&self, service: &str) -> Result<Vec<w::ServerEntry>, ClientError> {
        let list: w::ServerList = self.call("serverlist", &[("destName", service)]).await?;
        Ok(list.servers)
    }

    /// Registers host:port; answers the member's key and whether it was already registered.
    pub async fn add_server(
        &self,
        service: &str,
        host: &str,
        port: u16,
    ) -> Result<(String, bool), ClientError> {
        let port = port.to_string();
        let done: w::Done = self
            .call(
                "addserver",
                &[
                    ("destName", service),
                    ("serverHost", host),
                    ("serverPort", &port),
                ],
            )
            .await?;
        let url = format!("{}/addserver/", self.transport.base_url());
        let key = done.key.ok_or_else(|| ClientError::Decode {
            url,
            reason: "addserver answered no key".into(),
        })?;
        Ok((key, done.existed.unwrap_or(false)))
    }

    pub async fn del_server(&self, service: &str, key: &str) -> Result<(), ClientError> {
        let _: w::Done = self
            .call("delserver", &[("destName", service), ("serverKey", key)])
            .await?;
        Ok(())
    }
}

fn is_read(path: &str) -> bool {
    let route = path.trim_matches('/');
    route == "servicelist" || route == "serverlist"
}

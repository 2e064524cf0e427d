//! The client of cloud-portal: the seed's routes, the instance lifecycle, the service API the
//! orchestrator's steps use, and administration. Parameters go as a form, as the seed's
//! clients send them; a session key, once set with [`CloudPortalClient::with_session`], goes
//! with every call.

use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;
use wire::cloud_portal as w;

use crate::transport::{
    as_pairs, decode, ClientConfig, ClientError, Encoding, Idempotence, RawReply, Transport,
};

#[derive(Clone)]
pub struct CloudPortalClient {
    transport: Transport,
    session_key: Option<String>,
}

crate::transport::transport_accessors!(CloudPortalClient);

impl CloudPortalClient {
    pub fn new(config: ClientConfig) -> Result<Self, ClientError> {
        Ok(CloudPortalClient {
            transport: Transport::new(config)?,
            session_key: None,
        })
    }

    /// The same client, sending `session_key` on every call.
    pub fn with_session(&self, session_key: &str) -> Self {
        CloudPortalClient {
            session_key: Some(session_key.to_string()),
            ..self.clone()
        }
    }

    pub fn session_key(&self) -> Option<&str> {
        self.session_key.as_deref()
    }

    /// POSTs any parameters to `path` as a form (or JSON) and returns the answer as it came,
    /// for callers that need the raw envelope (tests of bad input). Sends no session key
    /// unless `params` holds one.
    pub async fn call_raw(
        &self,
        path: &str,
        encoding: Encoding,
        params: &Value,
    ) -> Result<RawReply, ClientError> {
        match encoding {
            Encoding::Query | Encoding::Form => {
                let pairs = as_pairs(params);
                let method = if encoding == Encoding::Query {
                    Method::GET
                } else {
                    Method::POST
                };
                self.transport
                    .send(method, path, encoding, &pairs, Idempotence::NotIdempotent)
                    .await
            }
            Encoding::Json => {
                self.transport
                    .send(
                        Method::POST,
                        path,
                        encoding,
                        params,
                        Idempotence::NotIdempotent,
                    )
                    .await
            }
        }
    }

    /// Calls `path` with `params` (plus the session key) and decodes the whole envelope;
    /// a non-zero `code` is `ClientError::Api` with the service's `desc`.
    pub async fn call<T: DeserializeOwned>(
        &self,
        path: &str,
        params: &[(&str, String)],
        idempotence: Idempotence,
    ) -> Result<w::Envelope<T>, ClientError> {
        let mut pairs: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        if let Some(key) = &self.session_key {
            pairs.push(("session_key".into(), key.clone()));
        }
        let reply = self
            .transport
            .send(Method::POST, path, Encoding::Form, &pairs, idempotence)
            .await?;
        let url = format!("{}{}", self.transport.base_url(), path);
        let code = reply.body["code"].as_i64();
        match code {
            Some(0) => decode(&url, reply.body),
            Some(code) => Err(ClientError::Api {
                url,
                status: reply.status.as_u16(),
                code,
                message: reply.body["desc"].as_str().unwrap_or_default().to_string(),
            }),
            None => Err(ClientError::Decode {
                url,
                reason: format!("HTTP {}, no `code` in {}", reply.status, reply.body),
            }),
        }
    }

    async fn read<T: DeserializeOwned>(
        &self,
        path: &str,
        params: &[(&str, String)],
    ) -> Result<T, ClientError> {
        Ok(self.call(path, params, Idempotence::Idempotent).await?.body)
    }

    async fn write<T: DeserializeOwned>(
        &self,
        path: &str,
        params: &[(&str, String)],
    ) -> Result<T, ClientError> {
        Ok(self
            .call(path, params, Idempotence::NotIdempotent)
            .await?
            .body)
    }

    // ---- the seed's routes ----

    /// Logs in and returns the session key (use [`Self::with_session`] to send it).
    pub async fn login(&self, username: &str, password: &str) -> Result<String, ClientError> {
        let login: w::Login = self
            .write(
                "/api/login",
                &[("username", username.into()), ("password", password.into())],
            )
            .await?;
        Ok(login.session_key)
    }

    pub async fn logout(&self) -> Result<(), ClientError> {
        let _: w::Empty = self.write("/api/logout", &[]).await?;
        Ok(())
    }

    pub async fn baseinfo(&self, instance_id: i64) -> Result<w::BaseInfo, ClientError> {
        self.read(
            "/api/instance/baseinfo",
            &[("instance_id", instance_id.to_string())],
        )
        .await
    }

    /// One page (`p` from 1) of `sepa` of the caller's instances.
    pub async fn my_instances(
        &self,
        sepa: u32,
        p: u64,
    ) -> Result<Vec<w::ListedInstance>, ClientError> {
        let list: w::InstanceList = self
            .read(
                "/api/myun/instance",
                &[("sepa", sepa.to_string()), ("p", p.to_string())],
            )
            .await?;
        Ok(list.list)
    }

    // ---- the lifecycle ----

    pub async fn create_instance(
        &self,
        image_id: i64,
        name: &str,
        summary: Option<&str>,
    ) -> Result<w::Instance, ClientError> {
        let mut params = vec![("image_id", image_id.to_string()), ("name", name.into())];
        if let Some(summary) = summary {
            params.push(("summary", summary.into()));
        }
        let reply: w::InstanceReply = self.write("/api/instance/create", &params).await?;
        Ok(reply.instance)
    }

    pub async fn query_instance(&self, instance_id: i64) -> Result<w::Instance, ClientError> {
        let reply: w::InstanceReply = self
            .read(
                "/api/instance/query",
                &[("instance_id", instance_id.to_string())],
            )
            .await?;
        Ok(reply.instance)
    }

    async fn act(&self, verb: &str, instance_id: i64) -> Result<w::Instance, ClientError> {
        let reply: w::InstanceReply = self
            .write(
                &format!("/api/instance/{verb}"),
                &[("instance_id", instance_id.to_string())],
            )
            .await?;
        Ok(reply.instance)
    }

    pub async fn run_instance(&self, instance_id: i64) -> Result<w::Instance, ClientError> {
        self.act("run", instance_id).await
    }

    pub async fn stop_instance(&self, instance_id: i64) -> Result<w::Instance, ClientError> {
        self.act("stop", instance_id).await
    }

    pub async fn reboot_instance(&self, instance_id: i64) -> Result<w::Instance, ClientError> {
        self.act("reboot", instance_id).await
    }

    pub async fn delete_instance(&self, instance_id: i64) -> Result<w::Instance, ClientError> {
        self.act("delete", instance_id).await
    }

    // ---- the service API ----

    /// Creates `count` running instances of the image named `image` (the pool's `vm_type`)
    /// and returns them with their addresses; all or none.
    pub async fn create_vms(
        &self,
        image: &str,
        count: u32,
        name: Option<&str>,
    ) -> Result<Vec<w::Instance>, ClientError> {
        let mut params = vec![("image", image.to_string()), ("count", count.to_string())];
        if let Some(name) = name {
            params.push(("name", name.into()));
        }
        let reply: w::InstancesReply = self.write("/api/service/instance/create", &params).await?;
        Ok(reply.instances)
    }

    /// Creates `count` running instances of the image with id `image_id` (the pool's
    /// `vm_type` as the platform flow names it) and returns them with their addresses; all or
    /// none.
    pub async fn create_vms_of_image(
        &self,
        image_id: i64,
        count: u32,
        name: Option<&str>,
    ) -> Result<Vec<w::Instance>, ClientError> {
        let mut params = vec![
            ("image_id", image_id.to_string()),
            ("count", count.to_string()),
        ];
        if let Some(name) = name {
            params.push(("name", name.into()));
        }
        let reply: w::InstancesReply = self.write("/api/service/instance/create", &params).await?;
        Ok(reply.instances)
    }

    /// Gives instances back (deleted, hosts released); already given back ones count as done.
    pub async fn return_vms(&self, instance_ids: &[i64]) -> Result<Vec<i64>, ClientError> {
        let ids: Vec<String> = instance_ids.iter().map(i64::to_string).collect();
        let reply: w::Returned = self
            .write(
                "/api/service/instance/return",
                &[("instance_ids", ids.join(","))],
            )
            .await?;
        Ok(reply.returned)
    }

    // ---- administration ----

    pub async fn add_user(
        &self,
        username: &str,
        password: &str,
        role: &str,
    ) -> Result<w::User, ClientError> {
        let reply: w::UserReply = self
            .write(
                "/api/admin/user/add",
                &[
                    ("username", username.into()),
                    ("password", password.into()),
                    ("role", role.into()),
                ],
            )
            .await?;
        Ok(reply.user)
    }

    pub async fn users(&self) -> Result<Vec<w::User>, ClientError> {
        let list: w::UserList = self.read("/api/admin/user/list", &[]).await?;
        Ok(list.users)
    }

    pub async fn add_image(
        &self,
        name: &str,
        summary: Option<&str>,
    ) -> Result<w::Image, ClientError> {
        let mut params = vec![("name", name.to_string())];
        if let Some(summary) = summary {
            params.push(("summary", summary.into()));
        }
        let reply: w::ImageReply = self.write("/api/admin/image/add", &params).await?;
        Ok(reply.image)
    }

    pub async fn images(&self) -> Result<Vec<w::Image>, ClientError> {
        let list: w::ImageList = self.read("/api/admin/image/list", &[]).await?;
        Ok(list.images)
    }

    pub async fn add_host(
        &self,
        address: &str,
        ssh_port: u16,
        capacity: u32,
    ) -> Result<w::Host, ClientError> {
        let reply: w::HostReply = self
            .write(
                "/api/admin/host/add",
                &[
                    ("address", address.into()),
                    ("ssh_port", ssh_port.to_string()),
                    ("capacity", capacity.to_string()),
                ],
            )
            .await?;
        Ok(reply.host)
    }

    pub async fn hosts(&self) -> Result<Vec<w::Host>, ClientError> {
        let list: w::HostList = self.read("/api/admin/host/list", &[]).await?;
        Ok(list.hosts)
    }
}

//! The built-in steps: `create_vm` / `return_vm` (cloud-portal), `register` / `unregister`
//! (soa-registry), `record_ci` / `remove_ci` (cmdb), called through `crates/client`.
//!
//! The peers are called with this service's own identity (`[identity]`: a bearer token of the
//! role `service` whose subject is the client id) when it is configured, otherwise with the
//! legacy seed credentials of `[peers]` (a cloud-portal session, a soa-registry key, a signed
//! cmdb api key). Either way the steps never change cmdb's model: they read the CI types they
//! write and fail, naming what is missing, when one is not there.
//!
//! Each step reads its parameters like a remote step's placeholders (the step's
//! `param_values`, then the task's `params`, then the node's variables) and answers what it
//! learnt about the node ([`Facts`]); the engine writes those in the same transaction as the
//! step's progress. Every step is safe to run again after a crash: it checks what already
//! exists before it creates anything, and treats "already gone" as done.

use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

use client::credentials::{Credentials, IdentityConfig};
use client::{ClientConfig, ClientError, CloudPortalClient, CmdbClient, SoaRegistryClient};
use kit::secret::Secret;
use serde_json::{json, Map, Value};
use tokio::sync::Mutex;
use wire::cloud_portal as cp;
use wire::host::HostAddress;
use wire::task_engine::BuiltinStep;

use crate::config::PeersConfig;
use crate::exec::Vars;

/// cloud-portal's code for "no session, an unknown or expired one".
const CP_NEEDS_LOGIN: i64 = 2;
/// cloud-portal's code for "no such instance / image".
const CP_NOT_FOUND: i64 = 4;

/// What a built-in step learnt about its node.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    /// The node's new address (its `ip` column and variable).
    pub ip: Option<String>,
    /// The node's new instance id (its `vm_id` column and variable).
    pub vm_id: Option<String>,
    /// Variables to set.
    pub vars: Map<String, Value>,
    /// Variables to remove.
    pub removed: Vec<String>,
}

impl Facts {
    pub fn is_empty(&self) -> bool {
        self.ip.is_none() && self.vm_id.is_none() && self.vars.is_empty() && self.removed.is_empty()
    }
}

/// Why a built-in step failed; its text goes to the node's log.
#[derive(Debug, thiserror::Error)]
pub enum BuiltinError {
    #[error("built-in step `{step}` needs {service}, which is not configured (`{key}`)")]
    NotConfigured {
        step: BuiltinStep,
        service: &'static str,
        key: &'static str,
    },
    #[error("built-in step `{step}` needs the parameter `{name}` (step param_values, task params or node variables)")]
    MissingParam {
        step: BuiltinStep,
        name: &'static str,
    },
    #[error("built-in step `{step}`: {reason}")]
    BadParam { step: BuiltinStep, reason: String },
    #[error("built-in step `{step}`: {what}: {source}")]
    Peer {
        step: BuiltinStep,
        what: String,
        source: ClientError,
    },
    #[error("built-in step `{step}`: {reason}")]
    Unexpected { step: BuiltinStep, reason: String },
    #[error("built-in step `{step}`: cmdb's model lacks {what}; the task-engine never changes the model: cmdb creates the platform's `dcp_*` types at start (`[platform] ensure_types`), an admin creates any other `ci_type`")]
    MissingModel { step: BuiltinStep, what: String },
}

/// The node a built-in step works on.
pub struct NodeRef<'a> {
    pub fid: i64,
    pub nid: i64,
    pub ip: &'a str,
    pub vm_id: &'a str,
    /// False when this step may have run on this node before (a retry, a resumed failure,
    /// a run interrupted by a crash): `create_vm` then looks for the instance it may have
    /// created without recording it.
    pub fresh: bool,
}

/// A successful built-in step: its log text and what it learnt.
pub struct Done {
    pub text: String,
    pub facts: Facts,
}

/// The peers of the built-in steps, each `None` when not configured.
pub struct Peers {
    cloud_portal: Option<CloudPortal>,
    soa_registry: Option<(SoaRegistryClient, String)>,
    cmdb: Option<Cmdb>,
}

/// A peer's client settings: its URL, the timeouts, and who calls (`credentials`: this
/// service's identity, or none when the legacy seed credentials go as parameters).
fn client_config(url: &str, peers: &PeersConfig, credentials: &Credentials) -> ClientConfig {
    let mut config = ClientConfig::new(url).with_credentials(credentials.clone());
    config.timeout = Duration::from_secs(peers.timeout_secs);
    config.connect_timeout = Duration::from_secs(peers.connect_timeout_secs);
    config
}

impl Peers {
    /// Clients for the configured peers (an empty `url` leaves a peer out), calling with
    /// `identity` when it is configured (one token, shared by the three), otherwise with the
    /// legacy seed credentials of `config`.
    pub fn new(config: &PeersConfig, identity: &IdentityConfig) -> Result<Peers, ClientError> {
        let with_identity = identity.is_configured();
        let credentials = identity.credentials();
        if with_identity {
            let unused = config.unused_legacy_keys();
            if !unused.is_empty() {
                tracing::warn!(
                    keys = unused.join(", "),
                    "legacy peer credentials ignored: the peers are called with [identity]"
                );
            }
        }
        let cp = &config.cloud_portal;
        let cloud_portal = if cp.url.is_empty() {
            None
        } else {
            let login = (!with_identity).then(|| Login {
                username: cp.username.clone(),
                password: cp.password.clone(),
                session: Mutex::new(None),
            });
            Some(CloudPortal {
                client: CloudPortalClient::new(client_config(&cp.url, config, &credentials))?,
                login,
            })
        };
        let soa = &config.soa_registry;
        let soa_registry = if soa.url.is_empty() {
            None
        } else {
            // With a bearer token soa-registry ignores `key`: none is sent.
            let key = if with_identity {
                ""
            } else {
                soa.key.expose_secret()
            };
            let client = SoaRegistryClient::new(
                client_config(&soa.url, config, &credentials),
                key,
                &soa.zkidc,
            )?;
            Some((client, soa.zkidc.clone()))
        };
        let cmdb = if config.cmdb.url.is_empty() {
            None
        } else {
            let client = CmdbClient::new(client_config(&config.cmdb.url, config, &credentials))?;
            let client = if with_identity {
                client
            } else {
                client.with_key(&config.cmdb.key, config.cmdb.secret.expose_secret())
            };
            Some(Cmdb {
                client,
                checked: Mutex::new(HashSet::new()),
                setup: Mutex::new(()),
            })
        };
        Ok(Peers {
            cloud_portal,
            soa_registry,
            cmdb,
        })
    }

    /// Runs built-in step `step` on `node`.
    pub async fn run(
        &self,
        step: BuiltinStep,
        node: &NodeRef<'_>,
        vars: &Vars<'_>,
    ) -> Result<Done, BuiltinError> {
        let ctx = Ctx { step, node, vars };
        match step {
            BuiltinStep::CreateVm => self.cloud_portal(step)?.create_vm(&ctx).await,
            BuiltinStep::ReturnVm => self.cloud_portal(step)?.return_vm(&ctx).await,
            BuiltinStep::Register => self.soa_service(&ctx)?.register(&ctx).await,
            BuiltinStep::Unregister => self.soa_service(&ctx)?.unregister(&ctx).await,
            BuiltinStep::RecordCi => self.cmdb(step)?.record_ci(&ctx).await,
            BuiltinStep::RemoveCi => self.cmdb(step)?.remove_ci(&ctx).await,
        }
    }

    fn cloud_portal(&self, step: BuiltinStep) -> Result<&CloudPortal, BuiltinError> {
        self.cloud_portal
            .as_ref()
            .ok_or(BuiltinError::NotConfigured {
                step,
                service: "cloud-portal",
                key: "peers.cloud_portal.url",
            })
    }

    /// The service a soa-registry step names, with the client of its zkidc.
    fn soa_service(&self, ctx: &Ctx<'_>) -> Result<SoaService, BuiltinError> {
        let (client, default_zkidc) =
            self.soa_registry
                .as_ref()
                .ok_or(BuiltinError::NotConfigured {
                    step: ctx.step,
                    service: "soa-registry",
                    key: "peers.soa_registry.url",
                })?;
        let service = ctx.text("service")?;
        let port = ctx.port()?;
        let zkidc = zkidc_of(ctx, default_zkidc)?;
        Ok(SoaService {
            client: client.with_zkidc(&zkidc),
            zkidc,
            service,
            port,
        })
    }

    fn cmdb(&self, step: BuiltinStep) -> Result<&Cmdb, BuiltinError> {
        self.cmdb.as_ref().ok_or(BuiltinError::NotConfigured {
            step,
            service: "cmdb",
            key: "peers.cmdb.url",
        })
    }
}

/// One run of one built-in step.
struct Ctx<'a> {
    step: BuiltinStep,
    node: &'a NodeRef<'a>,
    vars: &'a Vars<'a>,
}

impl Ctx<'_> {
    fn text(&self, name: &'static str) -> Result<String, BuiltinError> {
        self.vars
            .get(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .ok_or(BuiltinError::MissingParam {
                step: self.step,
                name,
            })
    }

    fn optional(&self, name: &str) -> String {
        self.vars
            .get(name)
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    }

    fn bad(&self, reason: String) -> BuiltinError {
        BuiltinError::BadParam {
            step: self.step,
            reason,
        }
    }

    fn peer(&self, what: impl Into<String>) -> impl FnOnce(ClientError) -> BuiltinError + '_ {
        let what = what.into();
        move |source| BuiltinError::Peer {
            step: self.step,
            what,
            source,
        }
    }

    fn unexpected(&self, reason: String) -> BuiltinError {
        BuiltinError::Unexpected {
            step: self.step,
            reason,
        }
    }

    fn port(&self) -> Result<u16, BuiltinError> {
        let text = self.text("port")?;
        text.parse::<u16>()
            .ok()
            .filter(|&p| p > 0)
            .ok_or_else(|| self.bad(format!("`port` must be from 1 to 65535, not `{text}`")))
    }

    /// The node's address; the steps that name the node need one.
    fn ip(&self) -> Result<String, BuiltinError> {
        let ip = self.node.ip.trim();
        if ip.is_empty() {
            return Err(self.bad("the node has no `ip`".into()));
        }
        Ok(ip.to_string())
    }
}

// ---- cloud-portal ----

/// cloud-portal, called with this service's identity (its client sends the token), or, legacy,
/// as a logged-in service account.
struct CloudPortal {
    client: CloudPortalClient,
    /// The legacy seed credentials; `None` with an identity.
    login: Option<Login>,
}

/// A service account's username and password: one session, reused by every call, renewed
/// when it expires.
struct Login {
    username: String,
    password: Secret,
    session: Mutex<Option<String>>,
}

impl Login {
    /// The session key, logging in when there is none yet (one login for all nodes).
    async fn session(&self, client: &CloudPortalClient) -> Result<String, ClientError> {
        let mut session = self.session.lock().await;
        if let Some(key) = session.as_ref() {
            return Ok(key.clone());
        }
        let key = client
            .login(&self.username, self.password.expose_secret())
            .await?;
        *session = Some(key.clone());
        Ok(key)
    }

    /// Forgets `key` unless another call has already replaced it.
    async fn forget(&self, key: &str) {
        let mut session = self.session.lock().await;
        if session.as_deref() == Some(key) {
            *session = None;
        }
    }
}

impl CloudPortal {
    /// Calls `f` with the client: as it is with an identity; legacy, logged in, an expired
    /// session renewed once.
    async fn call<T, F, Fut>(&self, f: F) -> Result<T, ClientError>
    where
        F: Fn(CloudPortalClient) -> Fut,
        Fut: Future<Output = Result<T, ClientError>>,
    {
        let Some(login) = &self.login else {
            return f(self.client.clone()).await;
        };
        let key = login.session(&self.client).await?;
        match f(self.client.with_session(&key)).await {
            Err(e) if e.code() == Some(CP_NEEDS_LOGIN) => {
                login.forget(&key).await;
                let key = login.session(&self.client).await?;
                f(self.client.with_session(&key)).await
            }
            other => other,
        }
    }

    async fn create_vm(&self, ctx: &Ctx<'_>) -> Result<Done, BuiltinError> {
        let image = match ctx
            .vars
            .get("vm_type_id")
            .or_else(|| ctx.vars.get("vm_type"))
        {
            Some(text) => text,
            None => {
                return Err(BuiltinError::MissingParam {
                    step: ctx.step,
                    name: "vm_type_id",
                })
            }
        };
        let image_id = image
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|&id| id > 0)
            .ok_or_else(|| {
                ctx.bad(format!(
                    "`vm_type_id` must be a cloud-portal image id (a positive integer), not `{image}`"
                ))
            })?;
        // A re-run (after a crash, or a retry) reuses the instance the node already has.
        let vm_id = ctx.node.vm_id.trim();
        if !vm_id.is_empty() {
            let id = vm_id.parse::<i64>().map_err(|_| {
                ctx.bad(format!(
                    "the node's `vm_id` `{vm_id}` is not a cloud-portal instance id"
                ))
            })?;
            match self
                .call(|c| async move { c.query_instance(id).await })
                .await
            {
                Ok(instance) if instance.status != cp::STATUS_DELETED => {
                    return instance_facts(ctx, &instance, true);
                }
                Ok(_) => {}
                Err(e) if e.code() == Some(CP_NOT_FOUND) => {}
                Err(e) => return Err(ctx.peer(format!("querying instance {id}"))(e)),
            }
        }
        let name = format!("f{}-n{}", ctx.node.fid, ctx.node.nid);
        if !ctx.node.fresh {
            // An engine killed after cloud-portal answered but before the node's row was
            // written left an instance by this name behind.
            if let Some(id) = self.find_by_name(ctx, &name).await? {
                let instance = self
                    .call(|c| async move { c.query_instance(id).await })
                    .await
                    .map_err(ctx.peer(format!("querying instance {id}")))?;
                return instance_facts(ctx, &instance, true);
            }
        }
        let created = self
            .call(|c| {
                let name = name.clone();
                async move { c.create_vms_of_image(image_id, 1, Some(&name)).await }
            })
            .await
            .map_err(ctx.peer(format!("creating an instance of image {image_id}")))?;
        let instance = created
            .first()
            .ok_or_else(|| ctx.unexpected("cloud-portal created no instance".into()))?;
        instance_facts(ctx, instance, false)
    }

    /// The calling account's live instance named `name`, if any (deleted ones are not listed).
    async fn find_by_name(&self, ctx: &Ctx<'_>, name: &str) -> Result<Option<i64>, BuiltinError> {
        const PAGE: u32 = 1000;
        for p in 1.. {
            let list = self
                .call(|c| async move { c.my_instances(PAGE, p).await })
                .await
                .map_err(ctx.peer("listing this service's instances"))?;
            if let Some(found) = list.iter().find(|i| i.name == name) {
                return Ok(Some(found.id));
            }
            if list.len() < PAGE as usize {
                break;
            }
        }
        Ok(None)
    }

    async fn return_vm(&self, ctx: &Ctx<'_>) -> Result<Done, BuiltinError> {
        let vm_id = ctx.node.vm_id.trim();
        let mut facts = Facts::default();
        facts.vars.insert("returned".into(), Value::Bool(true));
        if vm_id.is_empty() {
            return Ok(Done {
                text: "the node has no `vm_id`: nothing to return".into(),
                facts,
            });
        }
        let id = vm_id.parse::<i64>().map_err(|_| {
            ctx.bad(format!(
                "the node's `vm_id` `{vm_id}` is not a cloud-portal instance id"
            ))
        })?;
        let text = match self
            .call(|c| async move { c.return_vms(&[id]).await })
            .await
        {
            Ok(_) => format!("instance {id} returned to cloud-portal"),
            // Gone already: what the step wants.
            Err(e) if e.code() == Some(CP_NOT_FOUND) => {
                format!("instance {id} does not exist in cloud-portal: nothing to return")
            }
            Err(e) => return Err(ctx.peer(format!("returning instance {id}"))(e)),
        };
        Ok(Done { text, facts })
    }
}

fn instance_facts(
    ctx: &Ctx<'_>,
    instance: &cp::Instance,
    reused: bool,
) -> Result<Done, BuiltinError> {
    let host = instance
        .host
        .as_deref()
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .ok_or_else(|| {
            ctx.unexpected(format!(
                "cloud-portal instance {} has no address",
                instance.id
            ))
        })?;
    // The address becomes the node's `ip`, which `ssh` connects to: an IP or a host name only.
    let ip = HostAddress::parse(host)
        .map_err(|e| {
            ctx.unexpected(format!(
                "cloud-portal instance {} has the address {e}",
                instance.id
            ))
        })?
        .into_string();
    let vm_id = instance.id.to_string();
    let mut facts = Facts {
        ip: Some(ip.clone()),
        vm_id: Some(vm_id.clone()),
        ..Facts::default()
    };
    facts.vars.insert("ip".into(), Value::String(ip.clone()));
    facts.vars.insert("vm_id".into(), Value::String(vm_id));
    facts
        .vars
        .insert("instance_id".into(), Value::from(instance.id));
    let text = if reused {
        format!(
            "instance {} `{}` still exists: reused, ip {ip}",
            instance.id, instance.name
        )
    } else {
        format!(
            "instance {} `{}` created, ip {ip}",
            instance.id, instance.name
        )
    };
    Ok(Done { text, facts })
}

// ---- soa-registry ----

/// soa-registry's answer for a missing service or server.
const SOA_NOT_FOUND: u16 = 404;

fn zkidc_of(ctx: &Ctx<'_>, default: &str) -> Result<String, BuiltinError> {
    let zkidc = ctx.optional("zkidc");
    if !zkidc.is_empty() {
        return Ok(zkidc);
    }
    if !default.is_empty() {
        return Ok(default.to_string());
    }
    Err(ctx.bad(
        "no `zkidc`: give one in the task or step, or configure `peers.soa_registry.zkidc`".into(),
    ))
}

/// What `register` and `unregister` act on: a service of a zkidc, and the port of the node's
/// server in it.
struct SoaService {
    client: SoaRegistryClient,
    zkidc: String,
    service: String,
    port: u16,
}

impl SoaService {
    async fn register(&self, ctx: &Ctx<'_>) -> Result<Done, BuiltinError> {
        let (client, zkidc, service, port) = (&self.client, &self.zkidc, &self.service, self.port);
        let ip = ctx.ip()?;
        // Adding a service that exists is a success: this makes sure it does.
        client
            .add_service(service)
            .await
            .map_err(ctx.peer(format!("adding service `{service}` in zkidc `{zkidc}`")))?;
        let (key, existed) = client
            .add_server(service, &ip, port)
            .await
            .map_err(ctx.peer(format!("adding server {ip}:{port} to `{service}`")))?;
        let mut facts = Facts::default();
        facts
            .vars
            .insert("soa_key".into(), Value::String(key.clone()));
        let how = if existed { "was already" } else { "is now" };
        Ok(Done {
            text: format!(
                "{ip}:{port} {how} registered in `{service}` (zkidc `{zkidc}`) as `{key}`"
            ),
            facts,
        })
    }

    async fn unregister(&self, ctx: &Ctx<'_>) -> Result<Done, BuiltinError> {
        let (client, zkidc, service, port) = (&self.client, &self.zkidc, &self.service, self.port);
        let mut facts = Facts::default();
        facts.removed.push("soa_key".into());
        let key = ctx.optional("soa_key");
        if !key.is_empty() {
            match client.del_server(service, &key).await {
                Ok(()) => {
                    return Ok(Done {
                        text: format!("server `{key}` removed from `{service}` (zkidc `{zkidc}`)"),
                        facts,
                    })
                }
                // Gone: look for the node by address below, in case it was registered again.
                Err(e) if e.status() == Some(SOA_NOT_FOUND) => {}
                Err(e) => {
                    return Err(ctx
                        .peer(format!("removing server `{key}` from `{service}`"))(
                        e
                    ))
                }
            }
        }
        let ip = ctx.ip()?;
        let servers = match client.server_list(service).await {
            Ok(servers) => servers,
            Err(e) if e.status() == Some(SOA_NOT_FOUND) => {
                return Ok(Done {
                    text: format!(
                        "service `{service}` does not exist (zkidc `{zkidc}`): nothing to remove"
                    ),
                    facts,
                })
            }
            Err(e) => return Err(ctx.peer(format!("listing the servers of `{service}`"))(e)),
        };
        let mut removed = Vec::new();
        for server in servers.iter().filter(|s| s.host == ip && s.port == port) {
            match client.del_server(service, &server.key).await {
                Ok(()) => removed.push(server.key.clone()),
                Err(e) if e.status() == Some(SOA_NOT_FOUND) => {}
                Err(e) => {
                    return Err(ctx
                        .peer(format!("removing server `{}` from `{service}`", server.key))(
                        e,
                    ))
                }
            }
        }
        let text = if removed.is_empty() {
            format!(
                "{ip}:{port} is not registered in `{service}` (zkidc `{zkidc}`): nothing to remove"
            )
        } else {
            format!(
                "{ip}:{port} removed from `{service}` (zkidc `{zkidc}`): {}",
                removed.join(", ")
            )
        };
        Ok(Done { text, facts })
    }
}

// ---- cmdb ----

/// cmdb's answer for "not found".
const CMDB_NOT_FOUND: u16 = 404;

/// The CI types the steps keep, each with its unique attribute and the others (cmdb creates
/// them at start: services/cmdb/src/service/platform.rs).
const SERVICE_TYPE: &str = "dcp_service";
const POOL_TYPE: &str = "dcp_pool";
const NODE_TYPE: &str = "dcp_node";
const SERVICE_KEY: &str = "dcp_service_key";
const POOL_KEY: &str = "dcp_pool_key";
const NODE_KEY: &str = "dcp_node_key";
const SERVICE_ATTRS: [&str; 2] = ["service", "cluster"];
const POOL_ATTRS: [&str; 3] = ["pool", "service", "cluster"];
const NODE_ATTRS: [&str; 5] = ["ip", "instance_id", "pool", "service", "cluster"];
const CONTAIN: &str = "contain";

struct Cmdb {
    client: CmdbClient,
    /// Node CI types found with everything the steps write (in this process).
    checked: Mutex<HashSet<String>>,
    /// Serialises the writes shared by every node (service and pool CIs), so that concurrent
    /// nodes do not race to create the same thing.
    setup: Mutex<()>,
}

fn ci_id(ci: &Map<String, Value>) -> Option<i64> {
    ci.get("_id").and_then(Value::as_i64)
}

impl Cmdb {
    fn missing(ctx: &Ctx<'_>, what: String) -> BuiltinError {
        BuiltinError::MissingModel {
            step: ctx.step,
            what,
        }
    }

    /// The id of CI type `name`, which must have the unique attribute `key` and `attrs` bound.
    async fn citype(
        &self,
        ctx: &Ctx<'_>,
        name: &str,
        key: &str,
        attrs: &[&str],
    ) -> Result<i64, BuiltinError> {
        let citype = match self.client.query_citype(name).await {
            Ok(found) => found.citype,
            Err(e) if e.status() == Some(CMDB_NOT_FOUND) => {
                return Err(Self::missing(ctx, format!("the CI type `{name}`")))
            }
            Err(e) => return Err(ctx.peer(format!("reading CI type `{name}`"))(e)),
        };
        if citype.unique != key {
            return Err(Self::missing(
                ctx,
                format!(
                    "the CI type `{name}` with the unique attribute `{key}` (its unique attribute is `{}`)",
                    citype.unique
                ),
            ));
        }
        let bound = self
            .client
            .type_attributes(citype.type_id)
            .await
            .map_err(ctx.peer(format!("reading the attributes of CI type `{name}`")))?;
        let names: HashSet<&str> = bound
            .attributes
            .iter()
            .map(|a| a.attribute.attr_name.as_str())
            .collect();
        let absent: Vec<&str> = attrs
            .iter()
            .copied()
            .filter(|attr| !names.contains(attr))
            .collect();
        if !absent.is_empty() {
            return Err(Self::missing(
                ctx,
                format!(
                    "the attributes `{}` bound to the CI type `{name}`",
                    absent.join("`, `")
                ),
            ));
        }
        Ok(citype.type_id)
    }

    /// The type relation `parent` → `child` must exist.
    async fn type_relation(
        &self,
        ctx: &Ctx<'_>,
        (parent, parent_name): (i64, &str),
        (child, child_name): (i64, &str),
    ) -> Result<(), BuiltinError> {
        let children = self
            .client
            .citype_children(parent)
            .await
            .map_err(ctx.peer(format!("reading the children of CI type `{parent_name}`")))?;
        if children.children.iter().any(|c| c.citype.type_id == child) {
            return Ok(());
        }
        Err(Self::missing(
            ctx,
            format!("the CI type relation `{parent_name}` → `{child_name}`"),
        ))
    }

    /// Checks that the three types, their attributes and relations exist (once per process
    /// and node type, until a write fails).
    async fn check_model(&self, ctx: &Ctx<'_>, node_type: &str) -> Result<(), BuiltinError> {
        let mut checked = self.checked.lock().await;
        if checked.contains(node_type) {
            return Ok(());
        }
        let service = self
            .citype(ctx, SERVICE_TYPE, SERVICE_KEY, &SERVICE_ATTRS)
            .await?;
        let pool = self.citype(ctx, POOL_TYPE, POOL_KEY, &POOL_ATTRS).await?;
        let node = self.citype(ctx, node_type, NODE_KEY, &NODE_ATTRS).await?;
        self.type_relation(ctx, (service, SERVICE_TYPE), (pool, POOL_TYPE))
            .await?;
        self.type_relation(ctx, (pool, POOL_TYPE), (node, node_type))
            .await?;
        checked.insert(node_type.to_string());
        Ok(())
    }

    /// Adds the CI of `ci_type` holding its unique value, or updates it; its id.
    async fn upsert(&self, ctx: &Ctx<'_>, ci_type: &str, row: Value) -> Result<i64, BuiltinError> {
        let result = self
            .client
            .batch_cis(json!({"ci_type": ci_type, "cis": [row]}))
            .await
            .map_err(ctx.peer(format!("writing a `{ci_type}` CI")))?;
        let first = result
            .results
            .first()
            .ok_or_else(|| ctx.unexpected("cmdb answered no row".into()))?;
        first.ci_id.ok_or_else(|| {
            ctx.unexpected(format!(
                "cmdb refused the `{ci_type}` CI (HTTP {}): {}",
                first.status,
                first.message.clone().unwrap_or_default()
            ))
        })
    }

    /// The relation `first` → `second` (`contain`), unless it exists.
    async fn relation(&self, ctx: &Ctx<'_>, first: i64, second: i64) -> Result<(), BuiltinError> {
        let parents = self
            .client
            .first_cis(second)
            .await
            .map_err(ctx.peer(format!("reading the relations of CI {second}")))?;
        if parents.first_cis.iter().any(|ci| ci_id(ci) == Some(first)) {
            return Ok(());
        }
        self.client
            .add_ci_relation(first, second, CONTAIN, None)
            .await
            .map_err(ctx.peer(format!("relating CI {first} to CI {second}")))?;
        Ok(())
    }

    async fn record_ci(&self, ctx: &Ctx<'_>) -> Result<Done, BuiltinError> {
        let recorded = self.record(ctx).await;
        if recorded.is_err() {
            // The model may have changed under us (a type deleted): check it again next time.
            self.checked.lock().await.clear();
        }
        recorded
    }

    async fn record(&self, ctx: &Ctx<'_>) -> Result<Done, BuiltinError> {
        let service = ctx.text("service_name")?;
        let pool = ctx.text("pool")?;
        let cluster = ctx.optional("cluster");
        let node_type = {
            let t = ctx.optional("ci_type");
            if t.is_empty() {
                NODE_TYPE.to_string()
            } else {
                t
            }
        };
        let ip = ctx.ip()?;
        let instance_id = ctx.optional("instance_id");
        let service_key = format!("{cluster}/{service}");
        let pool_key = format!("{cluster}/{service}/{pool}");
        let pool_ci = {
            let _setup = self.setup.lock().await;
            self.check_model(ctx, &node_type).await?;
            let service_ci = self
                .upsert(
                    ctx,
                    SERVICE_TYPE,
                    json!({SERVICE_KEY: service_key, "service": service, "cluster": cluster}),
                )
                .await?;
            let pool_ci = self
                .upsert(
                    ctx,
                    POOL_TYPE,
                    json!({POOL_KEY: pool_key, "pool": pool, "service": service, "cluster": cluster}),
                )
                .await?;
            self.relation(ctx, service_ci, pool_ci).await?;
            pool_ci
        };
        let node_ci = self
            .upsert(
                ctx,
                &node_type,
                json!({
                    NODE_KEY: ip,
                    "ip": ip,
                    "instance_id": instance_id,
                    "pool": pool,
                    "service": service,
                    "cluster": cluster,
                }),
            )
            .await?;
        self.relation(ctx, pool_ci, node_ci).await?;
        let mut facts = Facts::default();
        facts.vars.insert("ci_id".into(), Value::from(node_ci));
        Ok(Done {
            text: format!(
                "CI {node_ci} (`{node_type}` {ip}) recorded in pool CI {pool_ci} `{pool_key}`"
            ),
            facts,
        })
    }

    async fn remove_ci(&self, ctx: &Ctx<'_>) -> Result<Done, BuiltinError> {
        let mut facts = Facts::default();
        facts.removed.push("ci_id".into());
        let known = ctx.optional("ci_id");
        if !known.is_empty() {
            let id = known
                .parse::<i64>()
                .map_err(|_| ctx.bad(format!("`ci_id` `{known}` is not a CI id")))?;
            let text = match self.client.delete_ci(id).await {
                Ok(_) => format!("CI {id} deleted"),
                Err(e) if e.status() == Some(CMDB_NOT_FOUND) => {
                    format!("CI {id} does not exist: nothing to delete")
                }
                Err(e) => return Err(ctx.peer(format!("deleting CI {id}"))(e)),
            };
            return Ok(Done { text, facts });
        }
        let ip = ctx.ip()?;
        let node_type = {
            let t = ctx.optional("ci_type");
            if t.is_empty() {
                NODE_TYPE.to_string()
            } else {
                t
            }
        };
        match self.client.query_citype(&node_type).await {
            Ok(_) => {}
            Err(e) if e.status() == Some(CMDB_NOT_FOUND) => {
                return Ok(Done {
                    text: format!("CI type `{node_type}` does not exist: nothing to delete"),
                    facts,
                })
            }
            Err(e) => return Err(ctx.peer(format!("reading CI type `{node_type}`"))(e)),
        }
        let found = self
            .client
            .search(json!({"q": format!("{NODE_KEY}:{ip}"), "_type": node_type, "count": 100}))
            .await
            .map_err(ctx.peer(format!("searching the CI of {ip}")))?;
        let mut deleted = Vec::new();
        for id in found.result.iter().filter_map(ci_id) {
            match self.client.delete_ci(id).await {
                Ok(_) => deleted.push(id.to_string()),
                Err(e) if e.status() == Some(CMDB_NOT_FOUND) => {}
                Err(e) => return Err(ctx.peer(format!("deleting CI {id}"))(e)),
            }
        }
        let text = if deleted.is_empty() {
            format!("no `{node_type}` CI for {ip}: nothing to delete")
        } else {
            format!("`{node_type}` CI of {ip} deleted: {}", deleted.join(", "))
        };
        Ok(Done { text, facts })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(host: &str) -> cp::Instance {
        cp::Instance {
            id: 7,
            name: "f1-n1".into(),
            summary: None,
            owner_id: 1,
            image_id: 1,
            status: 1,
            status_string: "running".into(),
            host: Some(host.into()),
            host_id: Some(1),
            port: None,
        }
    }

    #[test]
    fn the_address_create_vm_learns_is_a_host_address() {
        let empty = Map::new();
        let vars = Vars::new(&empty, &empty, &empty);
        let node = NodeRef {
            fid: 1,
            nid: 1,
            ip: "",
            vm_id: "",
            fresh: true,
        };
        let ctx = Ctx {
            step: BuiltinStep::CreateVm,
            node: &node,
            vars: &vars,
        };
        let done = instance_facts(&ctx, &instance(" 10.0.0.7 "), false).expect("an address");
        assert_eq!(done.facts.ip.as_deref(), Some("10.0.0.7"));
        for hostile in ["-oProxyCommand=touch /tmp/x", "10.0.0.7 -p 1", "0", "a;b"] {
            let error = instance_facts(&ctx, &instance(hostile), false)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                error.contains("is not an IP address or a host name"),
                "{hostile}: {error}"
            );
        }
    }
}

//! The registry: services and their servers under `/soa/services` of each zkidc's store.
//! Apart from actix: it takes checked values and answers domain results or [`Error`].

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::web::Bytes;
use futures_util::future::join_all;
use serde_json::{Map, Value};
use wire::soa_registry::{
    Endpoint, Member, ServerEntry, ServerList, Status, CODE_SUCCESS, STATUS_UNPARSABLE,
};

use crate::config::{ApiKey, Config, EMBEDDED};
use crate::error::Error;
use crate::health::HealthCounters;
use crate::store::zookeeper::ZkOptions;
use crate::store::{CreateMode, EmbeddedStore, Store, StoreError, ZkStore};
use kit::error::Fault;

/// Where every service lives, in every zkidc (the seed: "所有操作都是在 /soa/services 目录下").
pub const SERVICES_ROOT: &str = "/soa/services";
/// ServerSet members are sequential children with this prefix.
pub const MEMBER_PREFIX: &str = "member_";
/// Longest service name or server key accepted.
pub const MAX_NAME_LEN: usize = 255;

/// What a seed key may do: write registry members and read, as the platform's operator role.
pub const KEY_ROLE: kit::auth::Role = kit::auth::Role::Operator;

/// A request allowed on one zkidc, and who made it (for the logs of writes).
#[derive(Debug, Clone)]
pub struct Access {
    pub zkidc: String,
    /// The verified subject: a bearer token's subject, or the owner of the seed key.
    pub actor: String,
    /// The service that relayed the request for `actor`, if one did.
    pub via: Option<String>,
}

/// Who is asking, established by the handlers from a bearer token or the seed's `key`, and
/// the zkidcs that identity may use.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The subject recorded with every write.
    pub actor: String,
    /// The service that relayed the request for `actor`, if one did.
    pub via: Option<String>,
    /// `None`: every zkidc; otherwise only these.
    pub zkidcs: Option<Vec<String>>,
    /// How it proved itself, for the words of a refusal.
    pub credential: Credential,
}

/// How an [`Identity`] proved itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// The seed's `key` (or `keys`).
    Key,
    /// A bearer token holding the people's role the route needs, platform-wide.
    Token,
    /// A bearer token that reached the route by its `service` role alone: limited to the
    /// zkidcs `service_zkidcs` names for its subject.
    ServiceToken,
}

impl Identity {
    /// A bearer caller holding the people's role the route needs: every zkidc.
    pub fn person(actor: &str, via: Option<&str>) -> Identity {
        Identity {
            actor: actor.to_string(),
            via: via.map(str::to_string),
            zkidcs: None,
            credential: Credential::Token,
        }
    }

    fn may_use(&self, zkidc: &str) -> bool {
        match &self.zkidcs {
            None => true,
            Some(allowed) => allowed.iter().any(|z| z == zkidc),
        }
    }

    fn access(&self, zkidc: &str) -> Access {
        Access {
            zkidc: zkidc.to_string(),
            actor: self.actor.clone(),
            via: self.via.clone(),
        }
    }
}

pub struct Registry {
    zkidcs: BTreeMap<String, Arc<dyn Store>>,
    /// One per zkidc, whether its health check runs or not (then it stays at zero).
    health: BTreeMap<String, HealthCounters>,
    keys: Vec<ApiKey>,
    /// Service subject -> the zkidcs its bearer token may use (`service_zkidcs`).
    service_zkidcs: BTreeMap<String, Vec<String>>,
    /// One lock per zkidc/service, so two concurrent `addserver` of the same host:port in this
    /// process cannot both create a member.
    add_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// The last listing of each `zkidc/service`, kept while its store's generation does not
    /// move: `serverlist` of an unchanged service is then a lookup, not 1,000 parses and an
    /// encoding. While the store cannot be reached, it is the stale view `serverlist` serves.
    listings: Mutex<HashMap<String, Arc<Listing>>>,
    /// The last services of each zkidc read from its store: the stale view `servicelist`
    /// serves while the store cannot be reached.
    services_seen: Mutex<HashMap<String, Arc<Seen>>>,
    /// Longest a request waits on its zkidc's store (`store.op_timeout_ms`), all its store
    /// operations (and waits for the `addserver` lock) together.
    deadline: Duration,
    /// The origin of the confirmation times kept in atomics.
    epoch: Instant,
}

/// The members of a service as listed, and the `serverlist` answer encoded once.
pub struct Listing {
    generation: u64,
    /// When this listing was last known to be current: made, or answered from the cache while
    /// the store's generation had not moved (microseconds since the registry's epoch).
    confirmed: AtomicU64,
    pub servers: Vec<ServerEntry>,
    /// `{"code":1,"servers":[...]}`, exactly as the route answers it.
    pub json: Bytes,
}

/// The services of a zkidc as last read.
struct Seen {
    generation: u64,
    confirmed: AtomicU64,
    names: Vec<String>,
}

/// A read's answer, fresh or from the last view kept while the store cannot be reached.
#[derive(Debug, Clone)]
pub struct Read<T> {
    pub value: T,
    pub stale: Option<Stale>,
}

/// An answer from the last view: how old it is, and why it is not fresh.
#[derive(Debug, Clone, PartialEq)]
pub struct Stale {
    /// Since the view was last known to be current.
    pub age: Duration,
    /// Why the store could not answer (`ZooKeeper unavailable (...): ...`).
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
#[error("zkidc `{zkidc}`: {reason}")]
pub struct OpenError {
    pub zkidc: String,
    pub reason: String,
}

impl Registry {
    /// Opens every configured zkidc: embedded snapshots under `store.data_dir`, ZooKeeper
    /// sessions (kept alive in the background; an ensemble that is down is not fatal).
    pub async fn open(config: &Config) -> Result<Registry, OpenError> {
        let options = ZkOptions {
            session_timeout: Duration::from_millis(config.store.session_timeout_ms),
            op_timeout: Duration::from_millis(config.store.op_timeout_ms),
            reconnect_delay: Duration::from_millis(config.store.reconnect_delay_ms),
        };
        let mut zkidcs: BTreeMap<String, Arc<dyn Store>> = BTreeMap::new();
        for (name, target) in &config.zkidcs {
            let fail = |reason: String| OpenError {
                zkidc: name.clone(),
                reason,
            };
            let store: Arc<dyn Store> = if target == EMBEDDED {
                let file = Path::new(&config.store.data_dir).join(format!("{name}.json"));
                Arc::new(EmbeddedStore::open(&file).map_err(|e| fail(e.to_string()))?)
            } else {
                Arc::new(
                    ZkStore::start(target, options.clone())
                        .await
                        .map_err(fail)?,
                )
            };
            tracing::info!(zkidc = %name, store = %store.describe(), "zkidc configured");
            zkidcs.insert(name.clone(), store);
        }
        let health = zkidcs
            .keys()
            .map(|name| (name.clone(), HealthCounters::default()))
            .collect();
        Ok(Registry {
            zkidcs,
            health,
            keys: config.keys.clone(),
            service_zkidcs: config.service_zkidcs.clone(),
            add_locks: Mutex::new(HashMap::new()),
            listings: Mutex::new(HashMap::new()),
            services_seen: Mutex::new(HashMap::new()),
            deadline: options.op_timeout,
            epoch: Instant::now(),
        })
    }

    /// Runs a request's store work within [`Registry::deadline`]: past it, the answer is
    /// "ZooKeeper unavailable" (a write may still have happened, as for any timeout).
    async fn bounded<T>(
        &self,
        access: &Access,
        work: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        match tokio::time::timeout(self.deadline, work).await {
            Ok(result) => result,
            Err(_) => Err(Error::Unavailable(Fault::new(format!(
                "ZooKeeper unavailable (zkidc `{}`): no answer within {} ms",
                access.zkidc,
                self.deadline.as_millis()
            )))),
        }
    }

    /// Now, as kept in a confirmation atomic.
    fn stamp_now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// How old a view made at `generation` and last confirmed at `confirmed` is: from its last
    /// confirmation, or from the moment the store lost its connection if the store's
    /// generation had not moved since the view was made (then it was current until then).
    fn age(&self, store: &dyn Store, generation: u64, confirmed: u64) -> Duration {
        let confirmed = self.epoch + Duration::from_micros(confirmed);
        let current_until = match store.lost_at() {
            Some((since, at)) if at == generation && since > confirmed => since,
            _ => confirmed,
        };
        current_until.elapsed()
    }

    pub fn zkidc_names(&self) -> Vec<String> {
        self.zkidcs.keys().cloned().collect()
    }

    /// The store of a zkidc (for the health check and the metrics).
    pub fn store_of(&self, zkidc: &str) -> Option<Arc<dyn Store>> {
        self.zkidcs.get(zkidc).cloned()
    }

    pub fn health_counters(&self, zkidc: &str) -> Option<&HealthCounters> {
        self.health.get(zkidc)
    }

    /// The zkidcs `identity` may use, each as an [`Access`], for the listing across zkidcs.
    pub fn authorize_all(&self, identity: &Identity) -> Vec<Access> {
        self.zkidcs
            .keys()
            .filter(|zkidc| identity.may_use(zkidc))
            .map(|zkidc| identity.access(zkidc))
            .collect()
    }

    /// The services of each zkidc, asked concurrently: one zkidc failing (ZooKeeper down)
    /// is its own answer, not the others'.
    pub async fn list_services_everywhere(
        &self,
        accesses: &[Access],
    ) -> Vec<(String, Result<Read<Vec<String>>, Error>)> {
        let lists = accesses
            .iter()
            .map(|access| async move { (access.zkidc.clone(), self.services(access).await) });
        join_all(lists).await
    }

    /// Checks the zkidc and that `identity` may use it. The identity was checked first (by
    /// the kit or [`Registry::key_identity`]), so an unknown caller learns nothing about the
    /// configuration.
    pub fn authorize(&self, identity: &Identity, zkidc: Option<&str>) -> Result<Access, Error> {
        let zkidc = zkidc
            .map(str::trim)
            .filter(|z| !z.is_empty())
            .ok_or_else(|| Error::BadArgument("missing parameter `zkidc`".into()))?;
        if !self.zkidcs.contains_key(zkidc) {
            return Err(Error::BadArgument(format!(
                "unknown zkidc `{zkidc}` (configured: {})",
                self.zkidc_names().join(", ")
            )));
        }
        if !identity.may_use(zkidc) {
            return Err(Error::Forbidden(match identity.credential {
                Credential::Key => format!("invalid key for zkidc `{zkidc}`"),
                Credential::Token | Credential::ServiceToken => format!(
                    "service `{}` may not use zkidc `{zkidc}` (service_zkidcs)",
                    identity.actor
                ),
            }));
        }
        Ok(identity.access(zkidc))
    }

    /// The identity of a seed key: its owner, on the zkidcs it names (all when it names
    /// none). Its role is the operator's ([`KEY_ROLE`]).
    pub fn key_identity(&self, key: Option<&str>) -> Result<Identity, Error> {
        let key = key
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| {
                Error::Forbidden(
                    "missing parameter `key` (the seed's examples also spell it `keys`), \
                     or an `Authorization: Bearer <access token>` header"
                        .into(),
                )
            })?;
        let api_key = self
            .keys
            .iter()
            .find(|k| k.key.expose_secret() == key)
            .ok_or_else(|| Error::Forbidden("invalid key".into()))?;
        Ok(Identity {
            actor: api_key.owner.clone(),
            via: None,
            zkidcs: (!api_key.zkidcs.is_empty()).then(|| api_key.zkidcs.clone()),
            credential: Credential::Key,
        })
    }

    /// The identity of a bearer token that reached the route by its `service` role alone:
    /// least privilege, only the zkidcs `service_zkidcs` names for `subject` (none when it is
    /// not named).
    pub fn service_identity(&self, subject: &str, via: Option<&str>) -> Identity {
        Identity {
            actor: subject.to_string(),
            via: via.map(str::to_string),
            zkidcs: Some(
                self.service_zkidcs
                    .get(subject)
                    .cloned()
                    .unwrap_or_default(),
            ),
            credential: Credential::ServiceToken,
        }
    }

    fn store(&self, access: &Access) -> Result<&Arc<dyn Store>, Error> {
        self.zkidcs
            .get(&access.zkidc)
            .ok_or_else(|| Error::BadArgument(format!("unknown zkidc `{}`", access.zkidc)))
    }

    /// `/readyz`: every zkidc answers.
    pub async fn ready(&self) -> Result<(), String> {
        let checks = self.zkidcs.iter().map(|(name, store)| async move {
            store
                .ready()
                .await
                .map_err(|e| format!("zkidc {name}: {e}"))
        });
        let failures: Vec<String> = join_all(checks)
            .await
            .into_iter()
            .filter_map(Result::err)
            .collect();
        if failures.is_empty() {
            Ok(())
        } else {
            Err(failures.join("; "))
        }
    }

    /// `servicelist`: the services of a zkidc, sorted, within the deadline; while the store
    /// cannot be reached, the last ones read, marked [`Stale`].
    pub async fn services(&self, access: &Access) -> Result<Read<Vec<String>>, Error> {
        let store = self.store(access)?;
        let fresh = self
            .bounded(access, async {
                let generation = store.generation()?;
                let names = self.list_services(access).await?;
                Ok((generation, names))
            })
            .await;
        let mut seen = self
            .services_seen
            .lock()
            .map_err(|_| Error::Internal("services cache poisoned".into()))?;
        match fresh {
            Ok((generation, names)) => {
                seen.insert(
                    access.zkidc.clone(),
                    Arc::new(Seen {
                        generation,
                        confirmed: AtomicU64::new(self.stamp_now()),
                        names: names.clone(),
                    }),
                );
                Ok(Read {
                    value: names,
                    stale: None,
                })
            }
            Err(Error::Unavailable(fault)) => match seen.get(&access.zkidc) {
                Some(last) => Ok(Read {
                    value: last.names.clone(),
                    stale: Some(Stale {
                        age: self.age(
                            store.as_ref(),
                            last.generation,
                            last.confirmed.load(Ordering::Relaxed),
                        ),
                        reason: fault.message().to_string(),
                    }),
                }),
                None => Err(Error::Unavailable(fault)),
            },
            Err(e) => Err(e),
        }
    }

    /// The services of a zkidc, sorted. A tree without `/soa/services` has none.
    pub async fn list_services(&self, access: &Access) -> Result<Vec<String>, Error> {
        let store = self.store(access)?;
        let mut names = match store.children(SERVICES_ROOT).await {
            Ok(names) => names,
            Err(StoreError::NoNode(_)) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        names.sort();
        Ok(names)
    }

    /// Creates the service; true if it was created, false if it was already there (idempotent).
    pub async fn add_service(&self, access: &Access, service: &str) -> Result<bool, Error> {
        self.bounded(access, self.add_service_now(access, service))
            .await
    }

    async fn add_service_now(&self, access: &Access, service: &str) -> Result<bool, Error> {
        validate_name("destName", service)?;
        let store = self.store(access)?;
        store.ensure_path(SERVICES_ROOT).await?;
        let created = match store
            .create(&service_path(service), &[], CreateMode::Persistent)
            .await
        {
            Ok(_) => true,
            Err(StoreError::NodeExists(_)) => false,
            Err(e) => return Err(e.into()),
        };
        self.patch_services(access, |names| {
            if let Err(at) = names.binary_search_by(|n| n.as_str().cmp(service)) {
                names.insert(at, service.to_string());
            }
        })?;
        tracing::info!(zkidc = %access.zkidc, actor = %access.actor, via = access.via.as_deref(), service, created, "addservice");
        Ok(created)
    }

    /// Deletes the service. With servers (or any child) it is refused unless `force`, which
    /// deletes them too. Returns how many child nodes were deleted with it. Not bounded by the
    /// request deadline as a whole (a forced delete of a large service takes one round trip per
    /// node): each store operation is.
    pub async fn del_service(
        &self,
        access: &Access,
        service: &str,
        force: bool,
    ) -> Result<usize, Error> {
        validate_name("destName", service)?;
        let store = self.store(access)?;
        let path = service_path(service);
        let children = match store.children(&path).await {
            Ok(children) => children,
            Err(StoreError::NoNode(_)) => return Err(no_such_service(access, service)),
            Err(e) => return Err(e.into()),
        };
        if !children.is_empty() && !force {
            let servers = children
                .iter()
                .filter(|c| c.starts_with(MEMBER_PREFIX))
                .count();
            return Err(Error::Conflict(format!(
                "service `{service}` still has {servers} server(s) ({} child node(s)); \
                 delete them first or pass force=1",
                children.len()
            )));
        }
        let mut removed = 0;
        for child in &children {
            removed += delete_tree(store.as_ref(), &format!("{path}/{child}")).await?;
        }
        match store.delete(&path).await {
            Ok(()) => {}
            Err(StoreError::NoNode(_)) => return Err(no_such_service(access, service)),
            // Another ZooKeeper client registered a member meanwhile.
            Err(StoreError::NotEmpty(_)) => {
                return Err(Error::Conflict(format!(
                    "service `{service}` gained a child while being deleted; try again"
                )))
            }
            Err(e) => return Err(e.into()),
        }
        self.patch_services(access, |names| names.retain(|n| n != service))?;
        self.lock_listings()?
            .remove(&format!("{}/{service}", access.zkidc));
        tracing::info!(zkidc = %access.zkidc, actor = %access.actor, via = access.via.as_deref(), service, force, removed, "delservice");
        Ok(removed)
    }

    /// The members (`member_*` children) of a service, sorted by key. A member whose data is
    /// not ServerSet JSON is listed with the `UNPARSABLE` marker rather than failing the list.
    pub async fn list_servers(
        &self,
        access: &Access,
        service: &str,
    ) -> Result<Vec<ServerEntry>, Error> {
        Ok(self
            .bounded(access, self.listing(access, service))
            .await?
            .servers
            .clone())
    }

    /// `serverlist`: [`Registry::listing`] within the deadline; while the store cannot be
    /// reached, the service's last listing, marked [`Stale`] (a service never listed, or not
    /// since the service started, is "ZooKeeper unavailable" as before).
    pub async fn servers(
        &self,
        access: &Access,
        service: &str,
    ) -> Result<Read<Arc<Listing>>, Error> {
        let store = self.store(access)?;
        match self.bounded(access, self.listing(access, service)).await {
            Ok(listing) => Ok(Read {
                value: listing,
                stale: None,
            }),
            Err(Error::Unavailable(fault)) => {
                let cache_key = format!("{}/{service}", access.zkidc);
                let last = self.lock_listings()?.get(&cache_key).cloned();
                match last {
                    Some(listing) => {
                        let age = self.age(
                            store.as_ref(),
                            listing.generation,
                            listing.confirmed.load(Ordering::Relaxed),
                        );
                        Ok(Read {
                            value: listing,
                            stale: Some(Stale {
                                age,
                                reason: fault.message().to_string(),
                            }),
                        })
                    }
                    None => Err(Error::Unavailable(fault)),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// [`Registry::list_servers`] with its encoded answer, from the cache when the store's
    /// generation has not moved since it was made (as fresh as the store's own reads: for
    /// ZooKeeper, the watched view). Never stale: "ZooKeeper unavailable" when the store
    /// cannot answer.
    pub async fn listing(&self, access: &Access, service: &str) -> Result<Arc<Listing>, Error> {
        validate_name("destName", service)?;
        let store = self.store(access)?;
        let cache_key = format!("{}/{service}", access.zkidc);
        let generation = store.generation()?;
        if let Some(hit) = self.lock_listings()?.get(&cache_key) {
            if hit.generation == generation {
                hit.confirmed.store(self.stamp_now(), Ordering::Relaxed);
                return Ok(hit.clone());
            }
        }
        let servers = match self.read_servers(store.as_ref(), access, service).await {
            Ok(servers) => servers,
            Err(e) => {
                // A service that is gone leaves no entry behind; one that cannot be read now
                // keeps its last listing, the stale view of `serverlist`.
                if matches!(e, Error::NotFound(_)) {
                    self.lock_listings()?.remove(&cache_key);
                }
                return Err(e);
            }
        };
        let json = serde_json::to_vec(&ServerList {
            code: CODE_SUCCESS,
            servers: servers.clone(),
            stale: None,
        })
        .map_err(|e| {
            Error::Internal(Fault::caused_by(format!("cannot encode the list: {e}"), e))
        })?;
        let listing = Arc::new(Listing {
            generation,
            confirmed: AtomicU64::new(self.stamp_now()),
            servers,
            json: Bytes::from(json),
        });
        // Kept only if nothing moved while it was made; otherwise the next call makes it again.
        if store.generation()? == generation {
            self.lock_listings()?.insert(cache_key, listing.clone());
        }
        Ok(listing)
    }

    /// After one of our writes was acknowledged: the kept listing gets the change too, so that
    /// a stale `serverlist` (should ZooKeeper go away now) still shows the caller's own
    /// acknowledged writes. It keeps its generation and confirmation time (what it knows of
    /// other clients' changes is as old as before), so a fresh read rebuilds it as before.
    fn patch_listing(
        &self,
        access: &Access,
        service: &str,
        change: impl FnOnce(&mut Vec<ServerEntry>),
    ) -> Result<(), Error> {
        let mut listings = self.lock_listings()?;
        let cache_key = format!("{}/{service}", access.zkidc);
        let Some(old) = listings.get(&cache_key) else {
            return Ok(());
        };
        let mut servers = old.servers.clone();
        change(&mut servers);
        let json = serde_json::to_vec(&ServerList {
            code: CODE_SUCCESS,
            servers: servers.clone(),
            stale: None,
        })
        .map_err(|e| {
            Error::Internal(Fault::caused_by(format!("cannot encode the list: {e}"), e))
        })?;
        let patched = Arc::new(Listing {
            generation: old.generation,
            confirmed: AtomicU64::new(old.confirmed.load(Ordering::Relaxed)),
            servers,
            json: Bytes::from(json),
        });
        listings.insert(cache_key, patched);
        Ok(())
    }

    /// [`Registry::patch_listing`] for the kept services of a zkidc.
    fn patch_services(
        &self,
        access: &Access,
        change: impl FnOnce(&mut Vec<String>),
    ) -> Result<(), Error> {
        let mut seen = self
            .services_seen
            .lock()
            .map_err(|_| Error::Internal("services cache poisoned".into()))?;
        let Some(old) = seen.get(&access.zkidc) else {
            return Ok(());
        };
        let mut names = old.names.clone();
        change(&mut names);
        let patched = Arc::new(Seen {
            generation: old.generation,
            confirmed: AtomicU64::new(old.confirmed.load(Ordering::Relaxed)),
            names,
        });
        seen.insert(access.zkidc.clone(), patched);
        Ok(())
    }

    fn lock_listings(
        &self,
    ) -> Result<std::sync::MutexGuard<'_, HashMap<String, Arc<Listing>>>, Error> {
        self.listings
            .lock()
            .map_err(|_| Error::Internal("listing cache poisoned".into()))
    }

    async fn read_servers(
        &self,
        store: &dyn Store,
        access: &Access,
        service: &str,
    ) -> Result<Vec<ServerEntry>, Error> {
        let path = service_path(service);
        let mut keys = match store.children(&path).await {
            Ok(children) => children,
            Err(StoreError::NoNode(_)) => return Err(no_such_service(access, service)),
            Err(e) => return Err(e.into()),
        };
        keys.retain(|k| k.starts_with(MEMBER_PREFIX));
        keys.sort();
        // Fetched concurrently: ZooKeeper pipelines the reads on one session.
        let reads = keys.iter().map(|key| {
            let member_path = format!("{path}/{key}");
            async move { (key, store.get_data(&member_path).await) }
        });
        let mut servers = Vec::with_capacity(keys.len());
        for (key, data) in join_all(reads).await {
            match data {
                Ok(bytes) => servers.push(entry(key, &bytes)),
                // Deleted (or its session ended) between the listing and the read.
                Err(StoreError::NoNode(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(servers)
    }

    /// Registers host:port as a persistent sequential member; if that host:port is already a
    /// member, returns its key instead (`true` = it existed).
    pub async fn add_server(
        &self,
        access: &Access,
        service: &str,
        host: &str,
        port: u16,
    ) -> Result<(String, bool), Error> {
        self.bounded(access, self.add_server_now(access, service, host, port))
            .await
    }

    async fn add_server_now(
        &self,
        access: &Access,
        service: &str,
        host: &str,
        port: u16,
    ) -> Result<(String, bool), Error> {
        validate_name("destName", service)?;
        validate_host(host)?;
        let store = self.store(access)?;
        let lock = self.add_lock(access, service)?;
        let _held = lock.lock().await;
        let existing = self.listing(access, service).await?;
        if let Some(found) = existing
            .servers
            .iter()
            .find(|s| s.port == port && s.host.eq_ignore_ascii_case(host))
        {
            return Ok((found.key.clone(), true));
        }
        let member = Member {
            service_endpoint: Endpoint {
                host: host.to_string(),
                port,
            },
            additional_endpoints: BTreeMap::new(),
            status: Status::Alive,
            shard: None,
        };
        let data = serde_json::to_vec(&member).map_err(|e| {
            Error::Internal(Fault::caused_by(
                format!("cannot encode the member: {e}"),
                e,
            ))
        })?;
        let prefix = format!("{}/{MEMBER_PREFIX}", service_path(service));
        let key = match store
            .create(&prefix, &data, CreateMode::PersistentSequential)
            .await
        {
            Ok(key) => key,
            Err(StoreError::NoNode(_)) => return Err(no_such_service(access, service)),
            Err(e) => return Err(e.into()),
        };
        self.patch_listing(access, service, |servers| {
            if let Err(at) = servers.binary_search_by(|s| s.key.as_str().cmp(&key)) {
                servers.insert(at, entry(&key, &data));
            }
        })?;
        tracing::info!(zkidc = %access.zkidc, actor = %access.actor, via = access.via.as_deref(), service, host, port, key = %key, "addserver");
        Ok((key, false))
    }

    pub async fn del_server(&self, access: &Access, service: &str, key: &str) -> Result<(), Error> {
        self.bounded(access, self.del_server_now(access, service, key))
            .await
    }

    async fn del_server_now(&self, access: &Access, service: &str, key: &str) -> Result<(), Error> {
        validate_name("destName", service)?;
        validate_name("serverKey", key)?;
        let store = self.store(access)?;
        let path = service_path(service);
        if !store.exists(&path).await? {
            return Err(no_such_service(access, service));
        }
        match store.delete(&format!("{path}/{key}")).await {
            Ok(()) => {}
            Err(StoreError::NoNode(_)) => {
                return Err(Error::NotFound(format!(
                    "no such server `{key}` in service `{service}`"
                )))
            }
            Err(StoreError::NotEmpty(_)) => {
                return Err(Error::Conflict(format!(
                    "`{key}` of service `{service}` has child nodes; it is not a server"
                )))
            }
            Err(e) => return Err(e.into()),
        }
        self.patch_listing(access, service, |servers| servers.retain(|s| s.key != key))?;
        tracing::info!(zkidc = %access.zkidc, actor = %access.actor, via = access.via.as_deref(), service, key, "delserver");
        Ok(())
    }

    fn add_lock(
        &self,
        access: &Access,
        service: &str,
    ) -> Result<Arc<tokio::sync::Mutex<()>>, Error> {
        let mut locks = self
            .add_locks
            .lock()
            .map_err(|_| Error::Internal("lock table poisoned".into()))?;
        Ok(locks
            .entry(format!("{}/{service}", access.zkidc))
            .or_default()
            .clone())
    }
}

pub fn service_path(service: &str) -> String {
    format!("{SERVICES_ROOT}/{service}")
}

fn no_such_service(access: &Access, service: &str) -> Error {
    Error::NotFound(format!(
        "no such service `{service}` in zkidc `{}`",
        access.zkidc
    ))
}

/// Deletes a node and everything below it; returns how many nodes went.
async fn delete_tree(store: &dyn Store, path: &str) -> Result<usize, Error> {
    // Iterative, deepest first, so a deep tree cannot overflow the stack.
    let mut pending = vec![(path.to_string(), false)];
    let mut removed = 0;
    while let Some((node, expanded)) = pending.pop() {
        if !expanded {
            let children = match store.children(&node).await {
                Ok(children) => children,
                Err(StoreError::NoNode(_)) => continue,
                Err(e) => return Err(e.into()),
            };
            pending.push((node.clone(), true));
            for child in children {
                pending.push((format!("{node}/{child}"), false));
            }
            continue;
        }
        match store.delete(&node).await {
            // Gone already (an ephemeral member whose session ended) is fine.
            Ok(()) | Err(StoreError::NoNode(_)) => removed += 1,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(removed)
}

/// A service name or a server key: one znode name that cannot leave `/soa/services`.
pub fn validate_name(param: &str, name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(Error::BadArgument(format!(
            "invalid {param} `{}`: 1 to {MAX_NAME_LEN} of letters, digits, `.`, `_`, `-` (not `.` or `..`)",
            name.escape_debug()
        )))
    }
}

/// An IPv4 or IPv6 address, or a host name (RFC 1123 labels; `_` tolerated).
pub fn validate_host(host: &str) -> Result<(), Error> {
    if host.parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    let looks_like_ipv4 = host.chars().all(|c| c.is_ascii_digit() || c == '.');
    if !host.is_empty() && host.len() <= 253 && !looks_like_ipv4 && host.split('.').all(label_ok) {
        Ok(())
    } else {
        Err(Error::BadArgument(format!(
            "invalid serverHost `{}`: an IP address or a host name",
            host.escape_debug()
        )))
    }
}

/// One listed member: its ServerSet data, or the unparsable marker with the reason.
fn entry(key: &str, data: &[u8]) -> ServerEntry {
    match parse_member(data) {
        Ok(member) => ServerEntry {
            host: member.service_endpoint.host,
            port: member.service_endpoint.port,
            key: key.to_string(),
            status: member.status.as_str().to_string(),
            shard: member.shard,
            error: None,
        },
        Err(reason) => ServerEntry {
            host: String::new(),
            port: 0,
            key: key.to_string(),
            status: STATUS_UNPARSABLE.to_string(),
            shard: None,
            error: Some(reason),
        },
    }
}

/// Reads ServerSet JSON with keys in any letter case (the original admin wrote `"Host"`,
/// `"Port"`, `"Status"`), a port as a number or a decimal string.
pub fn parse_member(data: &[u8]) -> Result<Member, String> {
    // Fast path for the standard encoding (what this API and ServerSet clients write): typed,
    // without building a JSON tree; every listing after a change parses every member. Whatever
    // it does not take (other letter cases, a port as text, ...) goes the lenient way.
    if let Ok(member) = serde_json::from_slice::<Member>(data) {
        if !member.service_endpoint.host.is_empty() {
            return Ok(member);
        }
    }
    parse_member_leniently(data)
}

fn parse_member_leniently(data: &[u8]) -> Result<Member, String> {
    let value: Value =
        serde_json::from_slice(data).map_err(|e| format!("member data is not JSON: {e}"))?;
    let object = value
        .as_object()
        .ok_or("member data is not a JSON object")?;
    let endpoint = field(object, "serviceEndpoint")
        .ok_or("member data has no serviceEndpoint")
        .and_then(|v| parse_endpoint(v).map_err(|_| "serviceEndpoint is not {host, port}"))?;
    let status = match field(object, "status") {
        Some(Value::String(text)) => {
            Status::parse(text).ok_or_else(|| format!("unknown status `{text}`"))?
        }
        Some(_) => return Err("status is not text".into()),
        None => return Err("member data has no status".into()),
    };
    let mut additional_endpoints = BTreeMap::new();
    if let Some(Value::Object(extra)) = field(object, "additionalEndpoints") {
        for (name, value) in extra {
            if let Ok(endpoint) = parse_endpoint(value) {
                additional_endpoints.insert(name.clone(), endpoint);
            }
        }
    }
    let shard = match field(object, "shard") {
        None | Some(Value::Null) => None,
        Some(v) => Some(as_integer(v).ok_or("shard is not an integer")?),
    };
    Ok(Member {
        service_endpoint: endpoint,
        additional_endpoints,
        status,
        shard,
    })
}

fn field<'a>(object: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    object.get(name).or_else(|| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    })
}

fn as_integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn parse_endpoint(value: &Value) -> Result<Endpoint, ()> {
    let object = value.as_object().ok_or(())?;
    let host = match field(object, "host") {
        Some(Value::String(host)) if !host.is_empty() => host.clone(),
        _ => return Err(()),
    };
    let port = field(object, "port")
        .and_then(as_integer)
        .and_then(|p| u16::try_from(p).ok())
        .ok_or(())?;
    Ok(Endpoint { host, port })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_escape_the_services_tree() {
        for good in [
            "ip2city.http",
            "idserver.thrift.http",
            "a-b_c",
            "member_0000000013",
        ] {
            assert!(validate_name("destName", good).is_ok(), "{good}");
        }
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "../x",
            "a b",
            "zk\u{0}",
            "中文",
            &"x".repeat(256),
        ] {
            assert!(validate_name("destName", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn hosts_are_addresses_or_names() {
        for good in ["10.0.0.1", "::1", "fe80::1", "db-1.example.com", "host_1"] {
            assert!(validate_host(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "a/b",
            "-a",
            "a..b",
            "999.1.1.1",
            "1.2.3",
            "a b",
            "[::1]",
        ] {
            assert!(validate_host(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn members_are_read_case_insensitively() {
        let original = br#"{"ServiceEndpoint":{"Host":"10.0.0.2","Port":"8080"},"AdditionalEndpoints":{},"Status":"Alive","Shard":3}"#;
        let member = parse_member(original).expect("capitalised keys parse");
        assert_eq!(member.service_endpoint.host, "10.0.0.2");
        assert_eq!(member.service_endpoint.port, 8080);
        assert_eq!(member.status, Status::Alive);
        assert_eq!(member.shard, Some(3));
    }

    #[test]
    fn the_fast_path_reads_as_the_lenient_one() {
        for data in [
            &br#"{"serviceEndpoint":{"host":"10.0.0.1","port":80},"additionalEndpoints":{},"status":"ALIVE"}"#[..],
            br#"{"serviceEndpoint":{"host":"h","port":1},"additionalEndpoints":{"http":{"host":"h","port":2}},"status":"DEAD","shard":4,"extra":true}"#,
            br#"{"serviceEndpoint":{"host":"h","port":1},"status":"STOPPING"}"#,
        ] {
            assert_eq!(parse_member(data), parse_member_leniently(data));
        }
        // An empty host is refused by both ways.
        let empty = br#"{"serviceEndpoint":{"host":"","port":1},"status":"ALIVE"}"#;
        assert!(parse_member(empty).is_err());
    }

    #[test]
    fn unparsable_members_say_why() {
        for (data, why) in [
            (&b"not json"[..], "not JSON"),
            (br#"[1]"#, "not a JSON object"),
            (br#"{"status":"ALIVE"}"#, "no serviceEndpoint"),
            (
                br#"{"serviceEndpoint":{"host":"h","port":70000},"status":"ALIVE"}"#,
                "serviceEndpoint",
            ),
            (
                br#"{"serviceEndpoint":{"host":"h","port":1},"status":"UP"}"#,
                "unknown status",
            ),
        ] {
            let listed = entry("member_0000000001", data);
            assert_eq!(listed.status, STATUS_UNPARSABLE);
            let error = listed.error.unwrap_or_default();
            assert!(error.contains(why), "{error} should say {why}");
        }
    }
}

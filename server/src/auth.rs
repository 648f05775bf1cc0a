//! Authentication and authorization at the edge: every route has one entry
//! in [`requirement`]; a matched route without one is refused.

use std::net::SocketAddr;

use actix_web::HttpMessage;
use actix_web::dev::ServiceRequest;
use actix_web::http::{Method, header};
use protoreg_core::auth::{self, Principal, Role};
use protoreg_core::{BUILTINS, Registry, RegistryError};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// `[auth]` of the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthConfig {
    /// What a request without a token may do: `none`, `read`, `write`,
    /// `admin`, or `auto` (admin when listening on a loopback address with
    /// no admin token configured, none otherwise).
    pub anonymous: String,
    /// A bearer token with admin rights in every namespace; empty for none.
    pub admin_token: String,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            anonymous: "auto".into(),
            admin_token: String::new(),
        }
    }
}

/// The part of the configuration the edge checks, swapped whole on reload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSettings {
    pub anonymous: Option<Role>,
    /// SHA-256 of the admin token; the token itself is not kept.
    pub admin_token_hash: Option<String>,
    /// `metrics.public` resolved: whether [`PUBLIC_BY_SETTING`] routes
    /// answer without a token.
    pub metrics_public: bool,
}

/// The public routes that `metrics.public = false` closes to callers
/// without a token.
pub const PUBLIC_BY_SETTING: &[&str] = &["/metrics", "/openapi.json"];

impl AuthSettings {
    pub fn from_config(config: &AuthConfig, listen: &str) -> anyhow::Result<Self> {
        let admin_token_hash =
            (!config.admin_token.is_empty()).then(|| auth::secret_hash(&config.admin_token));
        let anonymous = match config.anonymous.as_str() {
            "auto" => (is_loopback(listen) && admin_token_hash.is_none()).then_some(Role::Admin),
            "none" => None,
            other => Some(Role::parse(other).ok_or_else(|| {
                anyhow::anyhow!(
                    "auth.anonymous must be auto, none, read, write or admin, not {other:?}"
                )
            })?),
        };
        Ok(Self {
            anonymous,
            admin_token_hash,
            metrics_public: true,
        })
    }
}

pub fn is_loopback(listen: &str) -> bool {
    match listen.parse::<SocketAddr>() {
        Ok(addr) => addr.ip().is_loopback(),
        Err(_) => listen.starts_with("localhost:"),
    }
}

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Public,
    /// Any caller with some role (a token, or anonymous access).
    Caller,
    /// A role in the route's `{ns}`.
    Namespace(Role),
    GlobalAdmin,
}

/// The requirement of each route, by method and route template.
pub fn requirement(method: &Method, template: &str) -> Option<Need> {
    use Need::*;
    use Role::*;
    let need = match (method.as_str(), template) {
        ("GET", "/healthz" | "/readyz" | "/metrics" | "/openapi.json") => Public,
        ("GET", "/v1/namespaces") => Caller,
        ("PUT" | "DELETE", "/v1/namespaces/{ns}") => Namespace(Admin),
        ("PUT", "/v1/namespaces/{ns}/settings") => Namespace(Admin),
        ("POST", "/v1/namespaces/{ns}/promote") => Namespace(Admin),
        ("DELETE", "/v1/namespaces/{ns}/staging") => Namespace(Admin),
        ("POST", "/v1/namespaces/{ns}/schemas/{schema}/rollback") => Namespace(Admin),
        ("POST", "/v1/namespaces/{ns}/schemas/{schema}/versions") => Namespace(Write),
        ("POST", "/v1/namespaces/{ns}/schemas/{schema}/check") => Namespace(Write),
        // Validating and converting a message reads the namespace.
        ("POST", "/v1/namespaces/{ns}/types/{full_name}/validate") => Namespace(Read),
        ("POST", "/v1/namespaces/{ns}/types/{full_name}/transcode") => Namespace(Read),
        ("GET", t) if t.starts_with("/v1/namespaces/{ns}") => Namespace(Read),
        ("POST", "/v1/tokens") => Caller,
        ("GET", "/v1/tokens" | "/v1/tokens/{id}") => GlobalAdmin,
        ("DELETE", "/v1/tokens/{id}") => GlobalAdmin,
        ("GET", "/v1/plugins") => Caller,
        // Any caller here; the handler then needs read in the job's
        // namespace (`require_namespace_role`), which the route cannot name.
        ("GET", "/v1/jobs/{id}") => Caller,
        _ => return None,
    };
    Some(need)
}

/// Who is calling: the admin token, a stored token, or anonymous.
pub async fn principal(
    req: &ServiceRequest,
    registry: &Registry,
    settings: &AuthSettings,
) -> Result<Principal, ApiError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(Principal::anonymous(settings.anonymous));
    };
    let secret = value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| unauthenticated("the Authorization header must be `Bearer <token>`"))?;
    if settings.admin_token_hash.as_deref() == Some(auth::secret_hash(secret).as_str()) {
        return Ok(Principal::global_admin("admin-token"));
    }
    auth::authenticate(registry.store(), secret)
        .await?
        .ok_or_else(|| unauthenticated("invalid, expired or revoked token"))
}

fn unauthenticated(message: &str) -> ApiError {
    ApiError::Registry(RegistryError::Unauthenticated(message.into()))
}

fn denied(principal: &Principal, message: String) -> ApiError {
    if principal.anonymous {
        unauthenticated(&format!("a token is required: {message}"))
    } else {
        ApiError::Registry(RegistryError::PermissionDenied(message))
    }
}

/// Checks the request against its route's requirement and leaves the
/// caller in the request's extensions for handlers that need finer checks.
pub async fn authorize(
    req: &ServiceRequest,
    registry: &Registry,
    settings: &AuthSettings,
) -> Result<(), ApiError> {
    // Unmatched paths fall through to the 404 handler.
    let Some(template) = req.match_pattern() else {
        return Ok(());
    };
    // A route with other methods: 405 with the ones it has (the list is
    // built only then; every request pays one scan of the route table).
    let method = req.method().as_str();
    if !crate::routes::ROUTES
        .iter()
        .any(|(m, path)| *m == method && *path == template)
    {
        return Err(ApiError::MethodNotAllowed {
            method: method.to_owned(),
            allow: crate::routes::ROUTES
                .iter()
                .filter(|(_, path)| *path == template)
                .map(|(m, _)| *m)
                .collect(),
        });
    }
    let Some(need) = requirement(req.method(), &template).map(|need| match need {
        // `metrics.public = false`: any caller with a token.
        Need::Public
            if !settings.metrics_public && PUBLIC_BY_SETTING.contains(&template.as_str()) =>
        {
            Need::Caller
        }
        other => other,
    }) else {
        tracing::error!(method = %req.method(), %template, "route has no authorization requirement; refusing");
        return Err(ApiError::Registry(RegistryError::PermissionDenied(
            "this route is not open to anyone".into(),
        )));
    };
    if need == Need::Public {
        return Ok(());
    }
    let principal = principal(req, registry, settings).await?;
    // App-level middleware runs before routing fills `match_info`; every
    // `{ns}` route starts `/v1/namespaces/{ns}`, and IDs hold no `/`.
    let namespace = if template.starts_with("/v1/namespaces/{ns}") {
        req.path().split('/').nth(3).unwrap_or_default().to_owned()
    } else {
        String::new()
    };
    let need = match need {
        // Every namespace imports `__builtins__`, so every caller may read
        // it; changing it changes every namespace.
        Need::Namespace(Role::Read) if namespace == BUILTINS => Need::Caller,
        Need::Namespace(_) if namespace == BUILTINS => Need::GlobalAdmin,
        other => other,
    };
    let allowed = match need {
        Need::Public => true,
        Need::Caller => !principal.grants.is_empty(),
        Need::Namespace(role) => principal.can(&namespace, role),
        Need::GlobalAdmin => principal.is_global_admin(),
    };
    if !allowed {
        let what = match need {
            Need::Namespace(role) => role_in(role, &namespace),
            Need::GlobalAdmin => "a global admin".into(),
            _ => "a role".into(),
        };
        return Err(denied(&principal, format!("this needs {what}")));
    }
    req.extensions_mut().insert(principal);
    Ok(())
}

/// `read role in namespace SHOP`: the role in lower case, the namespace as
/// it was asked for.
fn role_in(role: Role, namespace: &str) -> String {
    let role = format!("{role:?}").to_lowercase();
    format!("{role} role in namespace {namespace}")
}

/// The middleware: authorizes every request with the settings in force.
pub async fn guard(
    req: ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<
    actix_web::dev::ServiceResponse<actix_web::body::EitherBody<impl actix_web::body::MessageBody>>,
    actix_web::Error,
> {
    let registry = req.app_data::<actix_web::web::Data<Registry>>().cloned();
    let runtime = req
        .app_data::<actix_web::web::Data<crate::reload::RuntimeConfig>>()
        .cloned();
    let (Some(registry), Some(runtime)) = (registry, runtime) else {
        return Ok(req
            .error_response(ApiError::Registry(RegistryError::Internal(
                "auth is not configured".into(),
            )))
            .map_into_right_body());
    };
    let config = runtime.current();
    let checked = match AuthSettings::from_config(&config.auth, &config.listen) {
        Ok(mut settings) => {
            settings.metrics_public = config.metrics.is_public(&config.listen);
            authorize(&req, &registry, &settings).await
        }
        Err(err) => Err(ApiError::Registry(RegistryError::Internal(format!(
            "auth settings: {err:#}"
        )))),
    };
    match checked {
        Ok(()) => next
            .call(req)
            .await
            .map(|response| response.map_into_left_body()),
        Err(err) => Ok(req.error_response(err).map_into_right_body()),
    }
}

/// For handlers: the caller checked by [`authorize`].
pub fn caller(req: &actix_web::HttpRequest) -> Principal {
    req.extensions()
        .get::<Principal>()
        .cloned()
        .unwrap_or_else(|| Principal::anonymous(None))
}

/// For handlers whose namespace is not in the path: `role` in `namespace`
/// (reading `__builtins__` is open to every caller, as on its routes).
pub fn require_namespace_role(
    req: &actix_web::HttpRequest,
    namespace: &str,
    role: Role,
) -> Result<(), ApiError> {
    let principal = caller(req);
    let allowed = if namespace == BUILTINS && role == Role::Read {
        !principal.grants.is_empty()
    } else if namespace == BUILTINS {
        principal.is_global_admin()
    } else {
        principal.can(namespace, role)
    };
    if allowed {
        Ok(())
    } else {
        let what = role_in(role, namespace);
        Err(denied(&principal, format!("this needs {what}")))
    }
}

/// `force` and writing `__builtins__` need a global admin.
pub fn require_global_admin(req: &actix_web::HttpRequest, why: &str) -> Result<(), ApiError> {
    let principal = caller(req);
    if principal.is_global_admin() {
        Ok(())
    } else {
        Err(denied(&principal, format!("{why} needs a global admin")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_anonymous_is_admin_only_on_loopback_without_admin_token() {
        let auto = AuthConfig::default();
        assert_eq!(
            AuthSettings::from_config(&auto, "127.0.0.1:8080")
                .unwrap()
                .anonymous,
            Some(Role::Admin)
        );
        assert_eq!(
            AuthSettings::from_config(&auto, "[::1]:8080")
                .unwrap()
                .anonymous,
            Some(Role::Admin)
        );
        assert_eq!(
            AuthSettings::from_config(&auto, "0.0.0.0:8080")
                .unwrap()
                .anonymous,
            None
        );
        let with_token = AuthConfig {
            admin_token: "s3cret".into(),
            ..auto.clone()
        };
        let settings = AuthSettings::from_config(&with_token, "127.0.0.1:8080").unwrap();
        assert_eq!(settings.anonymous, None);
        assert_eq!(settings.admin_token_hash, Some(auth::secret_hash("s3cret")));
        let read = AuthConfig {
            anonymous: "read".into(),
            ..auto.clone()
        };
        assert_eq!(
            AuthSettings::from_config(&read, "0.0.0.0:1")
                .unwrap()
                .anonymous,
            Some(Role::Read)
        );
        assert!(
            AuthSettings::from_config(
                &AuthConfig {
                    anonymous: "root".into(),
                    ..auto
                },
                "x"
            )
            .is_err()
        );
    }
}

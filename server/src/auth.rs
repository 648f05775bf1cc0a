//! Authentication and authorization at the edge: every route of the route
//! table (`ROUTES` in routes.rs) names its [`Need`], and the table's
//! dispatch (`routes::Dispatch`) enforces it with [`check`] before the
//! handler runs.

use actix_web::HttpMessage;
use actix_web::dev::ServiceRequest;
use actix_web::http::header;
use protoreg_core::auth::{self, Principal, Role};
use protoreg_core::{BUILTINS, Registry, RegistryError};

use crate::config::AuthSettings;
use crate::error::ApiError;

/// What a route needs (each route's, in the route table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Public,
    /// Public unless `metrics.public` resolves to false; then [`Need::Caller`].
    PublicBySetting,
    /// Any caller with some role (a token, or anonymous access).
    Caller,
    /// A role in the route's `{ns}`.
    Namespace(Role),
    GlobalAdmin,
}

impl Need {
    /// Whether the OpenAPI document shows the route without security.
    pub fn is_public(self) -> bool {
        matches!(self, Need::Public | Need::PublicBySetting)
    }
}

/// Who is calling: the admin token, a stored token, or anonymous.
pub async fn principal(
    req: &ServiceRequest,
    registry: &Registry,
    settings: &AuthSettings,
) -> Result<Principal, ApiError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes());
    principal_of(value, registry, settings).await
}

/// Who is calling, from the value of an `Authorization` header (HTTP) or
/// `authorization` metadata (gRPC): `Bearer <token>`, or none.
pub async fn principal_of(
    value: Option<&[u8]>,
    registry: &Registry,
    settings: &AuthSettings,
) -> Result<Principal, ApiError> {
    let Some(value) = value else {
        return Ok(Principal::anonymous(settings.anonymous));
    };
    let secret = std::str::from_utf8(value)
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

/// Checks the request against the requirement of `route`, the route actix
/// matched, and leaves the caller in the request's extensions for handlers
/// that need finer checks.
pub async fn authorize(
    req: &ServiceRequest,
    need: Need,
    namespaced: bool,
    registry: &Registry,
    settings: &AuthSettings,
) -> Result<(), ApiError> {
    let need = match need {
        Need::PublicBySetting if settings.metrics_public => Need::Public,
        // `metrics.public = false`: any caller with a token.
        Need::PublicBySetting => Need::Caller,
        other => other,
    };
    if need == Need::Public {
        return Ok(());
    }
    let principal = principal(req, registry, settings).await?;
    // Every `{ns}` route starts `/v1/namespaces/{ns}` (a test of the route
    // table checks it), and IDs hold no `/`: the namespace as the request
    // spelled it.
    let namespace = if namespaced {
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
        Need::Public | Need::PublicBySetting => true,
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

/// [`authorize`] with the app's registry and the configuration in force:
/// `need` of a route whose path starts `/v1/namespaces/{ns}` when
/// `namespaced`.
pub async fn check(need: Need, namespaced: bool, req: &ServiceRequest) -> Result<(), ApiError> {
    let registry = req.app_data::<actix_web::web::Data<Registry>>();
    let runtime = req.app_data::<actix_web::web::Data<crate::reload::RuntimeConfig>>();
    let (Some(registry), Some(runtime)) = (registry, runtime) else {
        return Err(ApiError::Registry(RegistryError::Internal(
            "auth is not configured".into(),
        )));
    };
    // Resolved once per configuration (`reload::Live`), not per request.
    let live = runtime.live();
    match &live.auth {
        Ok(settings) => authorize(req, need, namespaced, registry, settings).await,
        Err(err) => Err(ApiError::Registry(RegistryError::Internal(format!(
            "auth settings: {err}"
        )))),
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
    check_namespace_role(&caller(req), namespace, role)
}

/// Whether `principal` has `role` in `namespace` (reading `__builtins__`
/// is open to every caller; changing it needs a global admin).
pub fn check_namespace_role(
    principal: &Principal,
    namespace: &str,
    role: Role,
) -> Result<(), ApiError> {
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
        Err(denied(principal, format!("this needs {what}")))
    }
}

/// `force` and writing `__builtins__` need a global admin.
pub fn require_global_admin(req: &actix_web::HttpRequest, why: &str) -> Result<(), ApiError> {
    check_global_admin(&caller(req), why)
}

/// [`require_global_admin`] for a known caller.
pub fn check_global_admin(principal: &Principal, why: &str) -> Result<(), ApiError> {
    if principal.is_global_admin() {
        Ok(())
    } else {
        Err(denied(principal, format!("{why} needs a global admin")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AuthConfig;

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

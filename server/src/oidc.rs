//! Sign-in through the state identity provider: OpenID Connect authorization code flow with
//! PKCE, a nonce and a CSRF state, all kept in the session between the two legs. The provider's
//! subject is mapped to our account (or, with an invitation, becomes a new account).

use app::audit::{self, Actor, Outcome};
use app::identity::accounts::{self, AuthSession};
use app::identity::{after_first_factor, session_keys};
use app::partners::store::{self as partners, Credential};
use app::state::AppState;
use app::web::{local_path, with_error, Problem, RequestContext};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

/// The provider's metadata, discovered once (retried on the next sign-in if it failed).
static METADATA: OnceCell<CoreProviderMetadata> = OnceCell::const_new();

/// What the session remembers between sending someone to the provider and their return.
#[derive(Serialize, Deserialize)]
struct Flow {
    csrf: String,
    nonce: String,
    pkce_verifier: String,
    invitation: Option<String>,
    next: Option<String>,
}

fn http_client() -> openidconnect::reqwest::Client {
    openidconnect::reqwest::Client::builder()
        // The provider must not redirect its back-channel endpoints (SSRF protection).
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .expect("HTTP client")
}

async fn metadata(state: &AppState) -> Result<&'static CoreProviderMetadata, Problem> {
    let issuer = state.deployment.identity.oidc_issuer.clone();
    METADATA
        .get_or_try_init(|| async {
            let issuer = IssuerUrl::new(issuer).map_err(|_| Problem::new("idp_failed"))?;
            CoreProviderMetadata::discover_async(issuer, &http_client())
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "identity provider discovery failed");
                    Problem::new("idp_failed")
                })
        })
        .await
}

fn client(
    state: &AppState,
    metadata: &CoreProviderMetadata,
) -> Result<
    CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
    Problem,
> {
    let identity = &state.deployment.identity;
    let secret = std::env::var("WRAPAROUND_OIDC_CLIENT_SECRET")
        .ok()
        .map(ClientSecret::new);
    let redirect = RedirectUrl::new(format!(
        "{}/auth/oidc/callback",
        state.deployment.site.public_url
    ))
    .map_err(|_| Problem::new("idp_failed"))?;
    Ok(CoreClient::from_provider_metadata(
        metadata.clone(),
        ClientId::new(identity.oidc_client_id.clone()),
        secret,
    )
    .set_redirect_uri(redirect))
}

#[derive(Deserialize)]
pub struct StartQuery {
    invitation: Option<String>,
    next: Option<String>,
}

/// `/auth/oidc/start`: off to the identity provider.
pub async fn start(
    State(state): State<AppState>,
    auth: AuthSession,
    Query(q): Query<StartQuery>,
) -> Response {
    if state.deployment.identity.oidc_issuer.is_empty() {
        return Redirect::to("/sign-in").into_response();
    }
    let back = match &q.invitation {
        Some(token) => format!("/invitations/{}", app::identity::urlencode(token)),
        None => "/sign-in".to_string(),
    };
    let result = async {
        let metadata = metadata(&state).await?;
        let client = client(&state, metadata)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, csrf, nonce) = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge)
            .url();
        let flow = Flow {
            csrf: csrf.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            invitation: q.invitation.clone(),
            next: q.next.as_deref().and_then(local_path),
        };
        auth.session.insert(session_keys::OIDC_FLOW, flow).await?;
        Ok::<_, Problem>(url.to_string())
    }
    .await;
    match result {
        Ok(url) => Redirect::to(&url).into_response(),
        Err(Problem { code, .. }) => Redirect::to(&with_error(&back, code)).into_response(),
    }
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `/auth/oidc/callback`: the provider sends the person back with a code.
pub async fn callback(
    State(state): State<AppState>,
    mut auth: AuthSession,
    Extension(context): Extension<RequestContext>,
    Query(q): Query<CallbackQuery>,
) -> Response {
    let ip = context.ip;
    let flow: Option<Flow> = auth
        .session
        .remove(session_keys::OIDC_FLOW)
        .await
        .ok()
        .flatten();
    let back = match flow.as_ref().and_then(|f| f.invitation.as_ref()) {
        Some(token) => format!("/invitations/{}", app::identity::urlencode(token)),
        None => "/sign-in".to_string(),
    };
    let result = finish_callback(&state, &mut auth, flow, q, &ip).await;
    match result {
        Ok(next) => Redirect::to(&next).into_response(),
        Err(Problem { code, .. }) => {
            audit::record_refusal(
                &state.pool,
                &Actor {
                    ip,
                    ..Actor::default()
                },
                "sign_in",
                None,
                Outcome::Failed,
                serde_json::json!({ "via": "identity provider", "reason": code }),
            )
            .await;
            Redirect::to(&with_error(&back, code)).into_response()
        }
    }
}

async fn finish_callback(
    state: &AppState,
    auth: &mut AuthSession,
    flow: Option<Flow>,
    q: CallbackQuery,
    ip: &str,
) -> Result<String, Problem> {
    let flow = flow.ok_or(Problem::new("expired"))?;
    if q.error.is_some() {
        return Err(Problem::new("idp_failed"));
    }
    // The state must be the one we sent: otherwise this is someone else's login (CSRF).
    if q.state.as_deref() != Some(flow.csrf.as_str()) {
        return Err(Problem::new("idp_failed"));
    }
    let code = q.code.ok_or(Problem::new("idp_failed"))?;
    let metadata = metadata(state).await?;
    let client = client(state, metadata)?;
    let http = http_client();
    let token = client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|_| Problem::new("idp_failed"))?
        .set_pkce_verifier(PkceCodeVerifier::new(flow.pkce_verifier))
        .request_async(&http)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "identity provider token exchange failed");
            Problem::new("idp_failed")
        })?;
    let id_token = token.id_token().ok_or(Problem::new("idp_failed"))?;
    let claims = id_token
        .claims(&client.id_token_verifier(), &Nonce::new(flow.nonce))
        .map_err(|e| {
            tracing::warn!(error = %e, "identity provider ID token refused");
            Problem::new("idp_failed")
        })?;
    let issuer = claims.issuer().to_string();
    let subject = claims.subject().to_string();
    let name = claims
        .name()
        .and_then(|n| n.get(None))
        .map(|n| n.to_string());
    // Only an address the provider has verified counts as the person's. Providers put it in the
    // ID token or only behind the userinfo endpoint; look there when the token has none.
    let mut verified_email = claims
        .email()
        .filter(|_| claims.email_verified() == Some(true))
        .and_then(|e| app::contact::Email::parse(e.as_str()));
    if verified_email.is_none() {
        let info: Result<openidconnect::core::CoreUserInfoClaims, _> =
            match client.user_info(token.access_token().clone(), Some(claims.subject().clone())) {
                Ok(request) => request
                    .request_async(&http)
                    .await
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
        match info {
            Ok(info) => {
                verified_email = info
                    .email()
                    .filter(|_| info.email_verified() == Some(true))
                    .and_then(|e| app::contact::Email::parse(e.as_str()));
            }
            Err(e) => tracing::warn!(error = %e, "identity provider userinfo request failed"),
        }
    }

    let pool = &state.pool;
    if let Some(token) = &flow.invitation {
        let invitation = partners::invitation(pool, token).await?;
        let invitation = invitation.ok_or(Problem::new("invitation_invalid"))?;
        // The invitation went to one address: the identity coming back must have proved it
        // holds that address, or anyone holding the link could bind their own identity to it.
        let invited = app::contact::Email::parse(&invitation.email);
        if verified_email.is_none() || verified_email != invited {
            audit::record_refusal(
                pool,
                &Actor { ip: ip.to_string(), ..Actor::default() },
                "invitation.redeem",
                Some(&format!("email:{}", invitation.email)),
                Outcome::Denied,
                serde_json::json!({ "reason": "identity provider e-mail not verified or not the invited address" }),
            )
            .await;
            return Err(Problem::new("idp_email_mismatch"));
        }
        let name = name.unwrap_or(invitation.name.clone());
        let actor = Actor {
            ip: ip.to_string(),
            ..Actor::default()
        };
        let user = partners::redeem_invitation(
            pool,
            token,
            &name,
            Credential::IdentityProvider { issuer, subject },
            &actor,
        )
        .await?;
        let record = accounts::by_id(pool, user)
            .await?
            .ok_or(Problem::new("unavailable"))?;
        return after_first_factor(pool, ip, auth, &record, None, "identity provider").await;
    }
    let record = match accounts::by_identity_provider(pool, &issuer, &subject).await? {
        Some(r) => r,
        // Someone new: a resident. Partners and staff only ever join through an invitation.
        None => {
            let name = name.unwrap_or_else(|| "Resident".to_string());
            let email = verified_email.as_ref().map(|e| e.to_string());
            let id =
                accounts::create_resident_account(pool, &issuer, &subject, &name, email.as_deref())
                    .await?;
            audit::record(
                pool,
                &Actor {
                    id: Some(id),
                    role: Some("resident".into()),
                    ip: ip.to_string(),
                    ..Actor::default()
                },
                "account.created",
                Some(&format!("user:{id}")),
                Outcome::Ok,
                serde_json::json!({ "via": "identity provider", "role": "resident" }),
            )
            .await?;
            accounts::by_id(pool, id)
                .await?
                .ok_or(Problem::new("unavailable"))?
        }
    };
    if !record.active {
        return Err(Problem::new("no_account"));
    }
    after_first_factor(pool, ip, auth, &record, flow.next, "identity provider").await
}

//! The signed-in user, for dashboard handlers. Anonymous requests become a redirect to the
//! sign-in page; sessions past their absolute lifetime are ended here.

use std::future::Future;
use std::pin::Pin;

use actix_session::{Session, SessionExt};
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use crate::auth::session_store::USER_ID;
use crate::domain::ids::UserId;
use crate::models::user::User;
use crate::state::AppState;
use crate::web::error::PageError;

/// Session key: when the user signed in (Unix seconds), for the absolute timeout.
pub use crate::auth::session_store::SIGNED_IN_AT;

/// A signed-in user and their session.
pub struct SignedIn {
    /// The user.
    pub user: User,
    /// Their session (CSRF token, flash).
    pub session: Session,
    /// The request's host name (which brand the pages wear).
    pub host: Option<String>,
}

impl SignedIn {
    /// Typed id.
    pub fn id(&self) -> UserId {
        self.user.user_id()
    }

    /// This session's public handle (how it finds itself in "Your account → Sessions").
    pub fn session_handle(&self) -> Option<String> {
        self.session
            .get(crate::auth::session_store::HANDLE)
            .ok()
            .flatten()
    }

    /// The user as an audit actor.
    pub fn who(&self) -> crate::domain::audit::Who {
        crate::domain::audit::Who::User {
            id: self.id(),
            name: self.user.name.clone(),
        }
    }
}

/// The user id of the session, if it is signed in and within its absolute lifetime.
pub fn session_user(session: &Session, now: i64, max_age: i64) -> Option<UserId> {
    let user: String = session.get(USER_ID).ok().flatten()?;
    let at: i64 = session.get(SIGNED_IN_AT).ok().flatten()?;
    if now - at >= max_age {
        session.purge();
        return None;
    }
    UserId::parse(&user)
}

impl FromRequest for SignedIn {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, PageError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let session = req.get_session();
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let next = req.uri().path().to_owned();
        let host = crate::web::brand::request_host(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| PageError::internal("app state missing"))?;
            let now = state.clock.now();
            let Some(id) = session_user(&session, now, state.config.session_max_secs) else {
                return Err(PageError::SignInRequired { next });
            };
            let user = crate::db::with_read(&state.pool, move |c| Ok(User::find(c, &id)?)).await?;
            match user {
                Some(user) => Ok(SignedIn {
                    user,
                    session,
                    host,
                }),
                None => {
                    session.purge();
                    Err(PageError::SignInRequired { next })
                }
            }
        })
    }
}

//! The HTML + htmx surface. This file is THE dashboard route table.

pub mod account;
pub mod agencies;
pub mod agency_context;
pub mod api_key_page;
pub mod api_keys;
pub mod api_reference;
pub mod audit_log;
pub mod brand;
pub mod charts;
pub mod current_user;
pub mod email_change;
pub mod error;
pub mod form;
pub mod htmx;
mod integration_access;
pub mod integrations;
pub mod invitations;
pub mod layout;
pub mod members;
pub mod memberships;
pub mod oauth_consent;
pub mod owner_context;
pub mod passkeys;
pub mod password_reset;
pub mod reconfirm;
pub mod sign_in;
pub mod signing;
pub mod team_context;
pub mod team_settings;
pub mod teams;
pub mod two_factor;
pub mod urls;
pub mod webhooks;

use actix_web::dev::Handler;
use actix_web::{FromRequest, Resource, Responder, web};

/// A dashboard resource being assembled: its routes, and the methods they allow. Any other
/// method gets `405` with `Allow` listing them (RFC 9110), not a 404.
struct Page {
    resource: Resource,
    allow: Vec<&'static str>,
}

/// Starts the resource at `path`.
fn page(path: &str) -> Page {
    Page {
        resource: web::resource(path.to_owned()),
        allow: Vec::new(),
    }
}

impl Page {
    fn get<F, Args>(mut self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.allow.push("GET");
        self.resource = self.resource.route(web::get().to(handler));
        self
    }

    fn post<F, Args>(mut self, handler: F) -> Self
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.allow.push("POST");
        self.resource = self.resource.route(web::post().to(handler));
        self
    }

    fn done(self) -> Resource {
        let allow = self.allow.join(", ");
        self.resource.default_service(web::to(move || {
            let allow = allow.clone();
            async move { error::method_not_allowed(&allow) }
        }))
    }
}

/// The webhook pages, under a team's settings or an agency (the handlers tell which by the
/// route's `{team}` or `{agency}`).
fn webhook_pages(scope: actix_web::Scope) -> actix_web::Scope {
    scope
        .service(page("").get(webhooks::list).post(webhooks::create).done())
        .service(page("/new").get(webhooks::new_form).done())
        .service(page("/guide").get(webhooks::guide::show).done())
        .service(
            page("/{endpoint}")
                .get(webhooks::show)
                .post(webhooks::update)
                .done(),
        )
        .service(page("/{endpoint}/edit").get(webhooks::edit_form).done())
        .service(
            page("/{endpoint}/rotate")
                .get(webhooks::rotate_form)
                .post(webhooks::rotate)
                .done(),
        )
        .service(
            page("/{endpoint}/delete")
                .get(webhooks::delete_form)
                .post(webhooks::delete)
                .done(),
        )
        .service(page("/{endpoint}/test").post(webhooks::test).done())
        .service(
            page("/{endpoint}/enable")
                .post(webhooks::set_enabled)
                .done(),
        )
        .service(
            page("/{endpoint}/disable")
                .post(webhooks::set_enabled)
                .done(),
        )
        .service(
            page("/{endpoint}/replay")
                .post(webhooks::replay_failed)
                .done(),
        )
        .service(
            page("/{endpoint}/deliveries/{delivery}/replay")
                .post(webhooks::replay_one)
                .done(),
        )
}

/// The dashboard's public, session-free routes: static files, and brand assets (the sign-in
/// page of an agency's host shows them before anyone signs in).
pub fn public_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/{path:.*}", web::get().to(crate::assets::serve))
        .route(
            "/brand/{agency}/brand.css",
            web::get().to(brand::stylesheet),
        )
        .route("/brand/{agency}/logo", web::get().to(brand::logo));
}

/// Registers every dashboard route that has a session.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(page("/").get(sign_in::home).done())
        .service(
            page("/setup")
                .get(sign_in::setup_form)
                .post(sign_in::setup_submit)
                .done(),
        )
        .service(
            page("/login")
                .get(sign_in::login_form)
                .post(sign_in::login_submit)
                .done(),
        )
        .service(page("/logout").post(sign_in::logout).done())
        .service(
            page("/login/passkey/options")
                .post(passkeys::sign_in_options)
                .done(),
        )
        .service(page("/login/passkey").post(passkeys::sign_in).done())
        .service(
            page("/login/two-factor")
                .get(two_factor::step_form)
                .post(two_factor::step_submit)
                .done(),
        )
        .service(
            page("/password/forgot")
                .get(password_reset::forgot_form)
                .post(password_reset::forgot_submit)
                .done(),
        )
        .service(
            page(oauth_consent::CALLBACK_PATH)
                .get(oauth_consent::callback)
                .done(),
        )
        .service(
            page("/account/email/confirm")
                .get(email_change::confirm_form)
                .post(email_change::confirm)
                .done(),
        )
        .service(
            page("/password/reset")
                .get(password_reset::reset_form)
                .post(password_reset::reset_submit)
                .done(),
        )
        .service(
            page("/invitations")
                .get(invitations::show)
                .post(invitations::accept)
                .done(),
        )
        .service(
            page("/teams/new")
                .get(teams::new_form)
                .post(teams::create)
                .done(),
        )
        .service(
            page("/agencies/new")
                .get(teams::new_agency_form)
                .post(teams::create_agency)
                .done(),
        )
        .service(
            page("/teams/{team}/api-reference")
                .get(api_reference::show)
                .done(),
        )
        .service(page("/account").get(account::show).done())
        .service(page("/account/name").post(account::rename).done())
        .service(page("/account/email").post(email_change::request).done())
        .service(
            page("/account/passkeys/options")
                .post(passkeys::registration_options)
                .done(),
        )
        .service(page("/account/passkeys").post(passkeys::register).done())
        .service(
            page("/account/passkeys/{passkey}/rename")
                .get(passkeys::rename_form)
                .post(passkeys::rename)
                .done(),
        )
        .service(
            page("/account/passkeys/{passkey}/remove")
                .post(passkeys::remove)
                .done(),
        )
        .service(
            page("/account/two-factor")
                .get(two_factor::enrol_form)
                .post(two_factor::begin)
                .done(),
        )
        .service(
            page("/account/two-factor/confirm")
                .post(two_factor::confirm)
                .done(),
        )
        .service(
            page("/account/two-factor/disable")
                .post(account::disable_two_factor)
                .done(),
        )
        .service(
            page("/account/password")
                .post(account::change_password)
                .done(),
        )
        .service(
            page("/account/sessions/sign-out-others")
                .post(account::end_other_sessions)
                .done(),
        )
        .service(
            page("/account/sessions/{handle}/sign-out")
                .post(account::end_session)
                .done(),
        )
        .service(
            page("/teams/{team}/settings/audit-log")
                .get(audit_log::team_log)
                .done(),
        )
        .service(
            page("/teams/{team}/settings/audit-log/{export}")
                .get(audit_log::team_export)
                .done(),
        )
        .service(
            page("/teams/{team}/settings")
                .get(team_settings::show)
                .post(team_settings::update)
                .done(),
        )
        .service(
            web::scope("/agencies/{agency}")
                .service(page("").get(agencies::clients).done())
                .service(page("/clients").post(agencies::create_client).done())
                .service(
                    page("/clients/{team}/delete")
                        .get(agencies::delete_client_form)
                        .post(agencies::delete_client)
                        .done(),
                )
                .service(
                    page("/clients/{team}/{action}")
                        .get(agencies::suspend_form)
                        .post(agencies::set_suspended)
                        .done(),
                )
                .service(page("/operators").get(agencies::operators).done())
                .service(
                    page("/operators/invitations")
                        .post(agencies::invite_operator)
                        .done(),
                )
                .service(
                    page("/operators/two-factor")
                        .post(agencies::two_factor_policy)
                        .done(),
                )
                .service(
                    page("/operators/{user}/remove")
                        .post(agencies::remove_operator)
                        .done(),
                )
                .service(
                    page("/brand")
                        .get(agencies::brand)
                        .post(agencies::save_brand)
                        .done(),
                )
                .service(webhook_pages(web::scope("/webhooks")))
                .service(page("/audit-log").get(audit_log::agency_log).done())
                .service(
                    page("/audit-log/{export}")
                        .get(audit_log::agency_export)
                        .done(),
                ),
        )
        .service(
            web::scope("/teams/{team}/settings/members")
                .service(page("").get(members::list).done())
                .service(page("/invitations").post(members::invite).done())
                .service(
                    page("/invitations/{invitation}/revoke")
                        .post(members::revoke_invitation)
                        .done(),
                )
                .service(
                    page("/transfer")
                        .get(members::transfer_form)
                        .post(members::transfer)
                        .done(),
                )
                .service(page("/leave").post(members::leave).done())
                .service(page("/two-factor").post(members::two_factor_policy).done())
                .service(page("/{user}/role").post(members::change_role).done())
                .service(
                    page("/{user}/remove")
                        .get(members::remove_form)
                        .post(members::remove)
                        .done(),
                ),
        )
        .service(webhook_pages(web::scope("/teams/{team}/settings/webhooks")))
        .service(
            web::scope("/teams/{team}/settings/integrations")
                .service(
                    page("")
                        .get(integrations::list)
                        .post(integrations::create)
                        .done(),
                )
                .service(page("/new").get(integrations::new_form).done())
                .service(page("/{integration}").post(integrations::update).done())
                .service(
                    page("/{integration}/edit")
                        .get(integrations::edit_form)
                        .done(),
                )
                .service(
                    page("/{integration}/delete")
                        .get(integrations::delete_form)
                        .post(integrations::delete)
                        .done(),
                )
                .service(page("/{integration}/test").post(integrations::test).done())
                .service(
                    page("/{integration}/connect")
                        .post(oauth_consent::connect)
                        .done(),
                )
                .service(
                    page("/{integration}/disconnect")
                        .get(integrations::disconnect_form)
                        .post(integrations::disconnect)
                        .done(),
                ),
        )
        .service(
            web::scope("/teams/{team}/settings/api-keys")
                .service(page("").get(api_keys::list).post(api_keys::create).done())
                .service(page("/new").get(api_keys::new_form).done())
                .service(
                    page("/{key}")
                        .get(api_key_page::show)
                        .post(api_keys::update)
                        .done(),
                )
                .service(page("/{key}/edit").get(api_keys::edit_form).done())
                .service(
                    page("/{key}/rotate")
                        .get(api_keys::rotate_form)
                        .post(api_keys::rotate)
                        .done(),
                )
                .service(
                    page("/{key}/delete")
                        .get(api_keys::delete_form)
                        .post(api_keys::delete)
                        .done(),
                )
                .service(
                    page("/{key}/end-grace")
                        .get(api_keys::end_grace_form)
                        .post(api_keys::end_grace)
                        .done(),
                ),
        );
}

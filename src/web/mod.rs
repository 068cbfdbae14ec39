//! The HTML + htmx surface. This file is THE dashboard route table.

pub mod agencies;
pub mod agency_context;
pub mod api_keys;
pub mod api_reference;
pub mod brand;
pub mod error;
pub mod form;
pub mod htmx;
pub mod invitations;
pub mod layout;
pub mod members;
pub mod sign_in;
pub mod team_context;
pub mod team_settings;
pub mod teams;
pub mod timefmt;
pub mod urls;

use actix_web::web;

/// Registers every dashboard route.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(sign_in::home))
        .route("/setup", web::get().to(sign_in::setup_form))
        .route("/setup", web::post().to(sign_in::setup_submit))
        .route("/login", web::get().to(sign_in::login_form))
        .route("/login", web::post().to(sign_in::login_submit))
        .route("/logout", web::post().to(sign_in::logout))
        .route("/invitations", web::get().to(invitations::show))
        .route("/invitations", web::post().to(invitations::accept))
        .route("/teams/new", web::get().to(teams::new_form))
        .route("/teams/new", web::post().to(teams::create))
        .route("/agencies/new", web::get().to(teams::new_agency_form))
        .route("/agencies/new", web::post().to(teams::create_agency))
        .route(
            "/teams/{team}/api-reference",
            web::get().to(api_reference::show),
        )
        .route("/teams/{team}/settings", web::get().to(team_settings::show))
        .route(
            "/teams/{team}/settings",
            web::post().to(team_settings::update),
        )
        .service(
            web::scope("/agencies/{agency}")
                .route("", web::get().to(agencies::clients))
                .route("/clients", web::post().to(agencies::create_client))
                .route(
                    "/clients/{team}/delete",
                    web::get().to(agencies::delete_client_form),
                )
                .route(
                    "/clients/{team}/delete",
                    web::post().to(agencies::delete_client),
                )
                .route(
                    "/clients/{team}/{action}",
                    web::post().to(agencies::set_suspended),
                )
                .route("/operators", web::get().to(agencies::operators))
                .route(
                    "/operators/invitations",
                    web::post().to(agencies::invite_operator),
                )
                .route(
                    "/operators/{user}/remove",
                    web::post().to(agencies::remove_operator),
                )
                .route("/brand", web::get().to(agencies::brand))
                .route("/brand", web::post().to(agencies::save_brand)),
        )
        .service(
            web::scope("/teams/{team}/settings/members")
                .route("", web::get().to(members::list))
                .route("/invitations", web::post().to(members::invite))
                .route(
                    "/invitations/{invitation}/revoke",
                    web::post().to(members::revoke_invitation),
                )
                .route("/transfer", web::post().to(members::transfer))
                .route("/leave", web::post().to(members::leave))
                .route("/{user}/role", web::post().to(members::change_role))
                .route("/{user}/remove", web::post().to(members::remove)),
        )
        .service(
            web::scope("/teams/{team}/settings/api-keys")
                .route("", web::get().to(api_keys::list))
                .route("", web::post().to(api_keys::create))
                .route("/new", web::get().to(api_keys::new_form))
                .route("/{key}", web::post().to(api_keys::update))
                .route("/{key}/edit", web::get().to(api_keys::edit_form))
                .route("/{key}/rotate", web::get().to(api_keys::rotate_form))
                .route("/{key}/rotate", web::post().to(api_keys::rotate))
                .route("/{key}/delete", web::get().to(api_keys::delete_form))
                .route("/{key}/delete", web::post().to(api_keys::delete))
                .route("/{key}/end-grace", web::post().to(api_keys::end_grace)),
        );
}

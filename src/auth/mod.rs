//! Who is asking: passwords, the session store, CSRF. (The dashboard's signed-in-user
//! extractor is `web::current_user`.)

pub mod csrf;
pub mod password;
pub mod session_store;

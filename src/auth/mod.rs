//! Who is asking: passwords, sessions, CSRF and the signed-in user extractor.

pub mod csrf;
pub mod current_user;
pub mod password;
pub mod session_store;

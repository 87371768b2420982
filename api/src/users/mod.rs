//! Users, roles and sessions: registration, login with rate limits,
//! refresh-token rotation, password changes, and the admin's user list.

pub mod limiter;
pub mod model;
pub mod password;
pub mod repo;
pub mod routes;

pub use limiter::LoginLimiter;
pub use password::Hasher;
pub use repo::UserRepo;

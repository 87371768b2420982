//! End-to-end tests: real services on port 0, a fresh database each, real
//! HTTP. One binary, a module per feature.

mod abuse;
mod admin_page;
mod adopt_data;
mod adoption;
mod api;
mod api_orders;
mod api_shop;
mod api_studio;
mod api_system;
mod api_ugc;
mod api_users;
mod auth;
mod cdn;
mod cloudinary_backend;
mod cloudinary_fake;
mod crash;
mod delivery;
mod deploy;
mod email;
mod embed;
mod faults;
mod hardening;
mod health;
mod legacy;
mod lifecycle;
mod limits;
mod manage;
mod migration;
mod mirror;
mod old_links;
mod password_reset;
mod store_conformance;
mod transform;
mod upload;
mod validation;

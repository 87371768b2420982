//! Command-line tools an operator runs against the database, apart from
//! the server: they share its state but answer on stdout, not HTTP.

pub mod legacy;

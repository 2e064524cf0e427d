//! Integration suite of orchestrator: the service in-process on port 0, over its client, on
//! SQLite and on MariaDB.

mod bad_input;
mod clusters;
mod front_door;
mod nodes;
mod support;

//! Store: the fourth stage of the pipeline. Normalized events, the incidents that
//! alerts group into, their notes, users, sessions, edited lists and the pipeline's
//! checkpoint live in one SQL database: SQLite in the data directory by default, or
//! PostgreSQL when several nodes share a store.
//!
//! One code path serves both: queries go through `sqlx`'s `Any` driver, the schema is
//! one set of portable migrations (`migrations/`), times are milliseconds since the
//! epoch and lists are JSON text. Event search also lives here, in SQL, so that every
//! node sharing a PostgreSQL store sees the same events (see [`EventQuery`]).

mod batch;
mod dashboard;
mod db;
mod error;
mod events;
mod ids;
mod incidents;
mod lists;
mod users;

pub use batch::{AlertRecord, Batch, BatchOutcome, EventRecord};
pub use dashboard::{Count, DayCount};
pub use db::{Backend, Store};
pub use error::StoreError;
pub use events::{EventQuery, StoredEvent, search_text};
pub use ids::new_id;
pub use incidents::{Finding, Incident, IncidentFilter, IncidentPatch, Note, STATUSES};
pub use lists::ListOverride;
pub use users::Session;

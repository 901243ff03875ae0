//! The model catalog, prices and cost, and planning which endpoints serve a
//! request. Pure logic: no HTTP, no database.

#![forbid(unsafe_code)]

pub mod attempt;
pub mod catalog;
pub mod cost;
pub mod health;
pub mod import;
pub mod params;
pub mod prefs;
pub mod resolve;
pub mod route;
pub mod tokens;

pub use attempt::Attempt;
pub use catalog::{Catalog, CatalogError, EndpointSpec, ModelSpec};
pub use cost::{Cost, cost_of};
pub use health::{EndpointStats, HealthBook, Outcome, Percentiles};
pub use resolve::{Needs, Resolved, RouterSlug, Sort, pick_auto, pick_free, resolve, router_slug};
pub use route::{ExcludedBy, Exclusion, Route, RouteError, RouteInput, route};

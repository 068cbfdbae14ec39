//! Queries shared by every platform table scoped to a tenant (team + mode): a page newest
//! first, one row, delete. Generated per table so each stays a plain typed diesel query.

use diesel::QueryResult;

use crate::db::DbConnection;
use crate::domain::tenant::Tenant;

/// A row that belongs to one team and one mode.
pub trait TenantRow: Sized + Send + 'static {
    /// The row's id.
    fn id(&self) -> &str;
    /// Creation time, the list order.
    fn created_at(&self) -> i64;
    /// A page newest first, strictly after `cursor` (created_at, id); `limit + 1` rows so the
    /// caller can tell whether more exist.
    fn page(
        c: &mut DbConnection,
        t: &Tenant,
        cursor: Option<(i64, String)>,
        limit: i64,
    ) -> QueryResult<Vec<Self>>;
    /// One row of the tenant.
    fn find(c: &mut DbConnection, t: &Tenant, id: &str) -> QueryResult<Option<Self>>;
    /// Deletes one row of the tenant; false when there was none.
    fn delete(c: &mut DbConnection, t: &Tenant, id: &str) -> QueryResult<bool>;
}

/// Implements [`TenantRow`] for a `Selectable` struct over a table with `id`, `team_id`,
/// `mode` and `created_at` columns.
#[macro_export]
macro_rules! tenant_row {
    ($ty:ty, $table:ident) => {
        impl $crate::models::tenant::TenantRow for $ty {
            fn id(&self) -> &str {
                &self.id
            }

            fn created_at(&self) -> i64 {
                self.created_at
            }

            fn page(
                c: &mut $crate::db::DbConnection,
                t: &$crate::domain::tenant::Tenant,
                cursor: Option<(i64, String)>,
                limit: i64,
            ) -> diesel::QueryResult<Vec<Self>> {
                use diesel::prelude::*;
                use $crate::db::schema::$table;
                let mut q = $table::table
                    .filter($table::team_id.eq(t.team.as_str()))
                    .filter($table::mode.eq(t.mode.as_str()))
                    .into_boxed();
                if let Some((at, id)) = cursor {
                    // `created_at <= at` on its own gives the index range a bound to start
                    // from (measured on the audit log: an OR alone scans from the newest row).
                    q = q
                        .filter($table::created_at.le(at))
                        .filter($table::created_at.lt(at).or($table::id.lt(id)));
                }
                q.order(($table::created_at.desc(), $table::id.desc()))
                    .limit(limit + 1)
                    .select(<$ty>::as_select())
                    .load(c)
            }

            fn find(
                c: &mut $crate::db::DbConnection,
                t: &$crate::domain::tenant::Tenant,
                id: &str,
            ) -> diesel::QueryResult<Option<Self>> {
                use diesel::prelude::*;
                use $crate::db::schema::$table;
                $table::table
                    .filter($table::id.eq(id))
                    .filter($table::team_id.eq(t.team.as_str()))
                    .filter($table::mode.eq(t.mode.as_str()))
                    .select(<$ty>::as_select())
                    .first(c)
                    .optional()
            }

            fn delete(
                c: &mut $crate::db::DbConnection,
                t: &$crate::domain::tenant::Tenant,
                id: &str,
            ) -> diesel::QueryResult<bool> {
                use diesel::prelude::*;
                use $crate::db::schema::$table;
                diesel::delete(
                    $table::table
                        .filter($table::id.eq(id))
                        .filter($table::team_id.eq(t.team.as_str()))
                        .filter($table::mode.eq(t.mode.as_str())),
                )
                .execute(c)
                .map(|n| n == 1)
            }
        }
    };
}

// Package catalog is what switcharoo knows of the tables it moves: which
// source tables are selected (Filter: databases, tables, exclusions,
// renames), and for each its columns in order and the key that identifies
// a row (Table, read from information_schema by LoadTables).
//
// The replication engine keeps a Schema (one Table per replicated table)
// with its checkpoint, because MySQL 5.6 and MariaDB row events name no
// columns; the verifier uses the same map to compare source and target.
package catalog

#pragma once
// The whole core of treecrdt in one include: documents, op keys, ops, version vectors, the in-memory
// storage and store, the fold, catch-up and checkpoint policies. Needs only the standard library
// and Boost headers (CMake target treecrdt::treecrdt).
//
// The components with third-party dependencies are never included from here; include them
// yourself and link their targets:
//   <treecrdt/storage/sqlite.hpp>    treecrdt::sqlite     (and store/sqlite_store.hpp: the tree in SQLite)
//   <treecrdt/storage/postgres.hpp>  treecrdt::postgres   (and store/postgres_store.hpp: the tree in PostgreSQL)
//   <treecrdt/json.hpp>              treecrdt::json
#include "bytes.hpp"
#include "canonical_export.hpp"
#include "catch_up.hpp"
#include "catch_up_options.hpp"
#include "catch_up_planner.hpp"
#include "checkpoint_chain.hpp"
#include "checkpoint_codec.hpp"
#include "checkpoint_policy.hpp"
#include "document.hpp"
#include "errors.hpp"
#include "fold.hpp"
#include "fwd.hpp"
#include "head_position.hpp"
#include "limits.hpp"
#include "materialization_stats.hpp"
#include "node_id.hpp"
#include "op.hpp"
#include "op_codec.hpp"
#include "op_key.hpp"
#include "op_key_concepts.hpp"
#include "order_key.hpp"
#include "reads.hpp"
#include "rewind.hpp"
#include "storage/memory.hpp"
#include "storage/storage_concepts.hpp"
#include "storage/storage_traits.hpp"
#include "store/memory_store.hpp"
#include "store/rule6.hpp"
#include "store/store_concepts.hpp"
#include "store/table_store.hpp"
#include "store/tree_tables.hpp"
#include "version_vector.hpp"

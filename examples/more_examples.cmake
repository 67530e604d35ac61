# More examples, each built and run as a test (included by examples/CMakeLists.txt):
#   outline_editor   two replicas, concurrent move cycle, delete vs. edit, converge (memory)
#   sqlite_app       durable document: close, reopen without a full replay, late op, stats()
#   tree_tables_app  sqlite_store: the tree in SQL tables, read by a second plain SQLite connection
#   custom_storage   a storage policy and an op key of your own, checked against the concepts
#   pg_service       several documents in one PostgreSQL database, late batches, restart
# docs/examples.md quotes them; the examples_quoted_in_docs test keeps the quotes verbatim.
function(treecrdt_example name)
  add_executable(treecrdt_${name} ${CMAKE_CURRENT_LIST_DIR}/${name}.cpp)
  target_link_libraries(treecrdt_${name} PRIVATE ${ARGN})
  if(TARGET treecrdt_dev)
    target_link_libraries(treecrdt_${name} PRIVATE treecrdt_dev)
  endif()
endfunction()

treecrdt_example(outline_editor treecrdt::treecrdt)
treecrdt_example(custom_storage treecrdt::treecrdt)
if(TARGET treecrdt::sqlite)
  treecrdt_example(sqlite_app treecrdt::sqlite)
  treecrdt_example(tree_tables_app treecrdt::sqlite)
endif()
if(TARGET treecrdt_postgres)
  treecrdt_example(pg_service treecrdt::postgres)
endif()

if(NOT TREECRDT_BUILD_TESTS)
  return()
endif()

add_test(NAME example_outline_editor COMMAND treecrdt_outline_editor)
set_tests_properties(example_outline_editor PROPERTIES PASS_REGULAR_EXPRESSION
  "converged: yes\ncycle resolved: Packing is under Summer trip, Route under Packing\nIdeas kept: yes.*\ntent deleted: yes\ntitle: Summer trip")

# One transaction per edit, a checkpoint per 16 ops, a reopen that loads one chain (a full checkpoint
# and its deltas) and scans
# 4 ops, and a late op caught up from the checkpoint before it (not from the start).
add_test(NAME example_custom_storage COMMAND treecrdt_custom_storage)
set_tests_properties(example_custom_storage PROPERTIES PASS_REGULAR_EXPRESSION
  "100 local edits: 101 transactions, 100 batches, 1 scans reading 0 ops, checkpoints 6 saved.*reopened \\(restore \\+ replay the suffix\\): 1 transactions, 0 batches, 1 scans reading 4 ops, checkpoints 0 saved / [1-9] loaded.*late op caught up from the checkpoint at seq [1-9][0-9]*, replaying [0-9]+ of 101 ops\nfirst item: from the watch \\(replica 9\\)")

if(TARGET treecrdt_sqlite_app)
  # Reopening restores the newest checkpoint (192 of 200 ops). The late op is 129 ops behind, beyond
  # the 8 ops journaled since the reopen, so it restores the newest valid checkpoint before it: the
  # chain's delta at 64 over the full one at 32 (a chain this small runs on deltas until they pass
  # the 1 MiB delta budget floor).
  add_test(NAME example_sqlite_app COMMAND treecrdt_sqlite_app ${CMAKE_CURRENT_BINARY_DIR}/sqlite-app-run)
  set_tests_properties(example_sqlite_app PROPERTIES PASS_REGULAR_EXPRESSION
    "reopened [^\n]*: 200 ops in the log, 199 notes\nlaptop, reopened: ops applied forward 0, catch-ups 1, full replays 0, restored checkpoint at seq 192, replayed 8,.*laptop, after the late op: [^\n]*full replays 0, restored checkpoint at seq 64, replayed 137, late ops 1,.*first note now: from the phone\nsame tree as a full replay: yes")
endif()

if(TARGET treecrdt_tree_tables_app)
  # The reopen folds nothing; the SQL view lists the folder as document::children() does (the
  # deleted item is gone from both, the moved one first, the renamed one renamed).
  add_test(NAME example_tree_tables_app COMMAND treecrdt_tree_tables_app ${CMAKE_CURRENT_BINARY_DIR}/tree-tables-run)
  set_tests_properties(example_tree_tables_app PROPERTIES PASS_REGULAR_EXPRESSION
    "created [^\n]*: 4 ops\nreopened: 0 ops folded at open, 0 tree rows cached\n[^\n]*\n  eggs +eggs\n  rye bread +rye bread\nsame ids in the same order: yes")
endif()

if(TARGET treecrdt_pg_service)
  add_test(NAME example_pg_service COMMAND treecrdt_pg_service)
  # Late batches reach every document; after the restart each is restored from a checkpoint.
  set_tests_properties(example_pg_service PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 300 PASS_REGULAR_EXPRESSION
    "recipes: [0-9]+ ops, late [1-9].*trip: [0-9]+ ops, late [1-9].*restarted:\n  recipes: [^\n]*full replays 0\\), last one restored seq [1-9][^\n]*\n  chores: [^\n]*full replays 0\\), last one restored seq [1-9][^\n]*\n  trip: [^\n]*full replays 0\\), last one restored seq [1-9].*clients converged with the service: yes")
endif()

# docs/examples.md quotes excerpts of the examples; each excerpt must still be in its file.
if(EXISTS ${PROJECT_SOURCE_DIR}/docs/examples.md)
  add_test(NAME examples_quoted_in_docs
           COMMAND ${CMAKE_COMMAND} -DDOC=${PROJECT_SOURCE_DIR}/docs/examples.md -DROOT=${PROJECT_SOURCE_DIR}
                   -P ${PROJECT_SOURCE_DIR}/cmake/check_doc_quotes.cmake)
  set_tests_properties(examples_quoted_in_docs PROPERTIES PASS_REGULAR_EXPRESSION "[1-9][0-9]* excerpts checked")
endif()

# CTest scenarios for the `treecrdt` tool (examples/cli.cmake). Included by the lead's CMake after
# the targets exist; each scenario lives in tests/cli/cli_test.sh and checks exit statuses and
# outputs against the samples in tests/cli/data/.
if(TARGET treecrdt_cli AND TARGET treecrdt_replay)
  set(_treecrdt_cli_dir ${CMAKE_CURRENT_LIST_DIR}/../tests/cli)
  cmake_path(NORMAL_PATH _treecrdt_cli_dir)
  find_program(TREECRDT_SQLITE3_PROGRAM sqlite3 DOC "sqlite3 shell, used by the CLI tests that corrupt a database")
  set(_treecrdt_sqlite3 "")
  if(TREECRDT_SQLITE3_PROGRAM)
    set(_treecrdt_sqlite3 ${TREECRDT_SQLITE3_PROGRAM})
  endif()

  foreach(scenario IN ITEMS
      replay_sample replay_stdin_and_alias replay_order_independent replay_bad_line replay_conflict
      replay_missing_file import_and_read import_stored_cadence import_late_ops import_idempotent
      import_bad_input_stores_nothing import_progress_on_terminal verify_detects_mismatch help usage_errors bad_database
      store_tables_commands store_auto_detection store_export_equality store_verify_detects_corrupt_row
      sync_sqlite_sqlite sync_interrupted sync_killed sync_progress_on_terminal postgres_commands sync_sqlite_postgres
      sync_postgres_postgres postgres_store_tables)
    add_test(NAME cli_${scenario}
             COMMAND sh ${_treecrdt_cli_dir}/cli_test.sh ${scenario} $<TARGET_FILE:treecrdt_cli>
                     $<TARGET_FILE:treecrdt_replay> ${_treecrdt_cli_dir}/data "${_treecrdt_sqlite3}")
    set_tests_properties(cli_${scenario} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
  endforeach()

  # Direct checks that need no script: the help text, and a bad command line failing.
  add_test(NAME cli_help_text COMMAND treecrdt_cli --help)
  set_tests_properties(cli_help_text PROPERTIES PASS_REGULAR_EXPRESSION "usage: treecrdt COMMAND")
  add_test(NAME cli_unknown_command_fails COMMAND treecrdt_cli no-such-command)
  set_tests_properties(cli_unknown_command_fails PROPERTIES WILL_FAIL TRUE)
endif()

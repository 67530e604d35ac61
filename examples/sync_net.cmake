# The network sync example (docs/sync_protocol.md): sync_server and sync_client over TCP on
# 127.0.0.1 with Boost.Asio (header-only from Debian's Boost), run as a test with real processes by
# tests/sync_net/network_sync_test.sh. Included by examples/CMakeLists.txt.
if(TARGET treecrdt::sqlite AND TARGET treecrdt::json)
  find_package(Threads REQUIRED)
  foreach(part IN ITEMS server client)
    add_executable(treecrdt_sync_${part} ${CMAKE_CURRENT_LIST_DIR}/sync_${part}.cpp)
    set_target_properties(treecrdt_sync_${part} PROPERTIES OUTPUT_NAME sync_${part})
    target_include_directories(treecrdt_sync_${part} PRIVATE ${CMAKE_CURRENT_LIST_DIR})
    target_link_libraries(treecrdt_sync_${part} PRIVATE treecrdt::sqlite treecrdt::json Threads::Threads)
    if(TARGET treecrdt_dev)
      target_link_libraries(treecrdt_sync_${part} PRIVATE treecrdt_dev)
    endif()
  endforeach()

  if(TREECRDT_BUILD_TESTS)
    # A server and three clients: offline edits, reconnects, shuffled (late) batches, connections
    # dropped mid-batch by a client and by the server, concurrent clients; all converge.
    add_test(NAME example_network_sync
             COMMAND sh ${PROJECT_SOURCE_DIR}/tests/sync_net/network_sync_test.sh
                     $<TARGET_FILE:treecrdt_sync_server> $<TARGET_FILE:treecrdt_sync_client>)
    set_tests_properties(example_network_sync PROPERTIES TIMEOUT 60 PASS_REGULAR_EXPRESSION
      "all 4 replicas converged")
    # The README quotes the client's sync loop; this keeps the quote verbatim.
    add_test(NAME readme_quotes_sync_client
             COMMAND ${CMAKE_COMMAND} -DDOC=${PROJECT_SOURCE_DIR}/README.md -DROOT=${PROJECT_SOURCE_DIR}
                     -P ${PROJECT_SOURCE_DIR}/cmake/check_doc_quotes.cmake)
    set_tests_properties(readme_quotes_sync_client PROPERTIES PASS_REGULAR_EXPRESSION "[1-9][0-9]* excerpts checked")
  endif()
endif()

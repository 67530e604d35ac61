# The `treecrdt` command-line tool and its `treecrdt-replay` alias. Included by
# examples/CMakeLists.txt; sources in examples/treecrdt_cli*.cpp and examples/cli/.
if(TARGET treecrdt::json AND TARGET treecrdt::sqlite)
  add_executable(treecrdt_cli ${CMAKE_CURRENT_LIST_DIR}/treecrdt_cli.cpp)
  set_target_properties(treecrdt_cli PROPERTIES OUTPUT_NAME treecrdt)

  add_executable(treecrdt_replay ${CMAKE_CURRENT_LIST_DIR}/treecrdt_cli_replay.cpp)
  set_target_properties(treecrdt_replay PROPERTIES OUTPUT_NAME treecrdt-replay)

  foreach(tool IN ITEMS treecrdt_cli treecrdt_replay)
    target_include_directories(${tool} PRIVATE ${CMAKE_CURRENT_LIST_DIR})
    target_link_libraries(${tool} PRIVATE treecrdt::json treecrdt::sqlite)
    # PostgreSQL documents (DOC = postgresql://...#doc=ID) when the build has libpq.
    if(TARGET treecrdt::postgres)
      target_link_libraries(${tool} PRIVATE treecrdt::postgres)
      target_compile_definitions(${tool} PRIVATE TREECRDT_CLI_WITH_POSTGRES=1)
    endif()
    if(TARGET treecrdt_dev)
      target_link_libraries(${tool} PRIVATE treecrdt_dev)
    endif()
  endforeach()

  if(TREECRDT_INSTALL)
    install(TARGETS treecrdt_cli treecrdt_replay RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT treecrdt_tools)
  endif()
endif()

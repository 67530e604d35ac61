# CPack: a Debian package of the library (headers + CMake package) and the `treecrdt` tool.
# Included by the top CMakeLists.txt after install.cmake. Build it from a configured and built tree:
#   cpack -G DEB --config <build>/CPackConfig.cmake -B <out dir>
# gives treecrdt_<version>_<arch>.deb installing under /usr:
#   /usr/include/treecrdt/...                      the headers
#   /usr/share/cmake/treecrdt/...                  find_package(treecrdt CONFIG [COMPONENTS ...])
#   /usr/bin/treecrdt, /usr/bin/treecrdt-replay    the command-line tool (when it was built)
# tests/packaging/deb_test.cmake builds it, unpacks it with dpkg-deb -x into a scratch root and
# builds a find_package consumer against that root.
set(CPACK_PACKAGE_NAME "treecrdt")
set(CPACK_PACKAGE_VENDOR "treecrdt")
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_DESCRIPTION
    "treecrdt is a header-only C++20 library for a replicated tree (a tree CRDT with move): many replicas
edit one tree offline, exchange operations in any order and converge. Storage policies for memory,
SQLite and PostgreSQL; the treecrdt command-line tool imports, inspects, verifies and syncs documents.")
set(CPACK_PACKAGING_INSTALL_PREFIX "/usr")
set(CPACK_GENERATOR "DEB")
set(CPACK_PACKAGE_FILE_NAME "treecrdt_${PROJECT_VERSION}_${CMAKE_SYSTEM_PROCESSOR}")

# Only the library's and the tool's install components go into the package.
set(CPACK_COMPONENTS_ALL treecrdt_development)
if(TARGET treecrdt_cli)
  list(APPEND CPACK_COMPONENTS_ALL treecrdt_tools)
endif()
set(CPACK_DEB_COMPONENT_INSTALL OFF)  # one package holding every listed component
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)

set(CPACK_DEBIAN_PACKAGE_MAINTAINER "treecrdt maintainers <treecrdt@localhost>")
set(CPACK_DEBIAN_PACKAGE_SECTION "libdevel")
set(CPACK_DEBIAN_PACKAGE_PRIORITY "optional")
# Debian's names for the architecture (amd64, arm64, ...), not the processor's.
find_program(TREECRDT_DPKG_PROGRAM dpkg)
if(TREECRDT_DPKG_PROGRAM)
  execute_process(COMMAND ${TREECRDT_DPKG_PROGRAM} --print-architecture OUTPUT_VARIABLE _treecrdt_deb_arch
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE "${_treecrdt_deb_arch}")
  set(CPACK_PACKAGE_FILE_NAME "treecrdt_${PROJECT_VERSION}_${_treecrdt_deb_arch}")
endif()
# The headers need Boost's; the tool links SQLite and libpq at run time; the components' headers
# need the -dev packages, which a user of the component installs (Recommends).
set(_treecrdt_deb_depends "libboost-dev (>= 1.74)")
if(TARGET treecrdt_cli)
  string(APPEND _treecrdt_deb_depends ", libsqlite3-0 (>= 3.24), libc6, libstdc++6")
  if(TARGET treecrdt_postgres)
    string(APPEND _treecrdt_deb_depends ", libpq5")
  endif()
endif()
set(CPACK_DEBIAN_PACKAGE_DEPENDS "${_treecrdt_deb_depends}")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "libsqlite3-dev, libpq-dev, nlohmann-json3-dev, cmake (>= 3.21)")

include(CPack)
unset(_treecrdt_deb_depends)
unset(_treecrdt_deb_arch)

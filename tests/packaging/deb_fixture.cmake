# Builds the Debian package of a configured and built treecrdt tree with CPack, checks its control
# fields, and unpacks it with `dpkg-deb -x` into a scratch root (no dpkg database is touched) where
# the consumer test then finds the package.
#   cmake -DBUILD_DIR=<treecrdt build> -DOUT=<dir> -DEXPECT_TOOL=<0|1> -DCPACK=<cpack> -P deb_fixture.cmake
cmake_minimum_required(VERSION 3.21)

find_program(DPKG_DEB dpkg-deb)
if(NOT DPKG_DEB)
  message(FATAL_ERROR "dpkg-deb not found: the Debian package cannot be checked")
endif()

file(REMOVE_RECURSE "${OUT}")
file(MAKE_DIRECTORY "${OUT}/pkg" "${OUT}/root")
execute_process(COMMAND "${CPACK}" -G DEB --config "${BUILD_DIR}/CPackConfig.cmake" -B "${OUT}/pkg"
                RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "cpack failed (${result}):\n${out}")
endif()
file(GLOB debs "${OUT}/pkg/*.deb")
list(LENGTH debs count)
if(NOT count EQUAL 1)
  message(FATAL_ERROR "expected one .deb in ${OUT}/pkg, found: ${debs}\n${out}")
endif()

# Control fields.
execute_process(COMMAND "${DPKG_DEB}" -f "${debs}" Package Version Architecture Depends
                RESULT_VARIABLE result OUTPUT_VARIABLE fields ERROR_VARIABLE fields)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "dpkg-deb -f failed:\n${fields}")
endif()
foreach(expected IN ITEMS "Package: treecrdt" "Version: " "Architecture: " "Depends: libboost-dev")
  string(FIND "${fields}" "${expected}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "the package's control fields lack \"${expected}\":\n${fields}")
  endif()
endforeach()

execute_process(COMMAND "${DPKG_DEB}" -x "${debs}" "${OUT}/root" RESULT_VARIABLE result ERROR_VARIABLE out)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "dpkg-deb -x failed:\n${out}")
endif()

set(expected_files usr/include/treecrdt/document.hpp usr/include/treecrdt/storage/sqlite.hpp
                   usr/include/treecrdt/storage/postgres.hpp usr/share/cmake/treecrdt/treecrdtConfig.cmake
                   usr/share/cmake/treecrdt/treecrdtConfigVersion.cmake usr/share/cmake/treecrdt/treecrdt-targets.cmake)
if(EXPECT_TOOL)
  list(APPEND expected_files usr/bin/treecrdt usr/bin/treecrdt-replay)
endif()
foreach(f IN LISTS expected_files)
  if(NOT EXISTS "${OUT}/root/${f}")
    message(FATAL_ERROR "the package lacks /${f}")
  endif()
endforeach()
if(EXPECT_TOOL)
  execute_process(COMMAND "${OUT}/root/usr/bin/treecrdt" --help RESULT_VARIABLE result OUTPUT_VARIABLE help)
  string(FIND "${help}" "  sync " at_sync)
  if(NOT result EQUAL 0 OR at_sync EQUAL -1)
    message(FATAL_ERROR "the packaged treecrdt --help failed or lacks the sync command (${result}):\n${help}")
  endif()
endif()
file(GLOB_RECURSE headers "${OUT}/root/usr/include/treecrdt/*.hpp")
list(LENGTH headers header_count)
message(STATUS "built ${debs}\n${fields}unpacked into ${OUT}/root: ${header_count} headers, tool: ${EXPECT_TOOL}")

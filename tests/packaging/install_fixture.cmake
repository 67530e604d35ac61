# Installs the treecrdt package from a configured build tree into a fresh prefix and checks its layout.
#   cmake -DBUILD_DIR=<treecrdt build> -DPREFIX=<dir> -DSOURCE_DIR=<treecrdt source> [-DCONFIG=<cfg>]
#         -P install_fixture.cmake
cmake_minimum_required(VERSION 3.21)

file(REMOVE_RECURSE "${PREFIX}")
set(install ${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${PREFIX}" --component treecrdt_development)
if(CONFIG)
  list(APPEND install --config "${CONFIG}")
endif()
execute_process(COMMAND ${install} RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "cmake --install failed (${result}):\n${out}")
endif()

# Every header of the source tree, and nothing else, under include/.
file(GLOB_RECURSE source_headers RELATIVE "${SOURCE_DIR}/include" "${SOURCE_DIR}/include/*.hpp")
file(GLOB_RECURSE installed RELATIVE "${PREFIX}/include" "${PREFIX}/include/*")
list(SORT source_headers)
list(SORT installed)
if(NOT source_headers STREQUAL installed)
  message(FATAL_ERROR "installed include/ differs from the source headers\n"
                      "source:    ${source_headers}\ninstalled: ${installed}")
endif()

set(package_dir "${PREFIX}/share/cmake/treecrdt")
foreach(file IN ITEMS treecrdtConfig.cmake treecrdtConfigVersion.cmake treecrdt-targets.cmake)
  if(NOT EXISTS "${package_dir}/${file}")
    message(FATAL_ERROR "missing ${package_dir}/${file}")
  endif()
endforeach()
# A header-only package must not pin the pointer size of the machine that installed it: ask the
# version file as a 32-bit consumer would.
function(check_version_file_for_32_bit)
  set(CMAKE_SIZEOF_VOID_P 4)
  set(PACKAGE_FIND_NAME treecrdt)
  set(PACKAGE_FIND_VERSION "")
  include("${package_dir}/treecrdtConfigVersion.cmake")
  if(PACKAGE_VERSION_UNSUITABLE)
    message(FATAL_ERROR "treecrdtConfigVersion.cmake rejects a 32-bit consumer (${PACKAGE_VERSION}): "
                        "it was not written ARCH_INDEPENDENT")
  endif()
endfunction()
check_version_file_for_32_bit()
list(LENGTH installed header_count)
file(GLOB component_files RELATIVE "${package_dir}" "${package_dir}/treecrdt-*-targets.cmake")
message(STATUS "installed ${header_count} headers and the package (${component_files}) into ${PREFIX}")

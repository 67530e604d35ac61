# Install rules and the CMake package (included by the top CMakeLists when TREECRDT_INSTALL is ON).
#
# Layout under the prefix:
#   include/treecrdt/...                       every header (the library is header-only)
#   share/cmake/treecrdt/treecrdtConfig.cmake  find_package(treecrdt CONFIG [COMPONENTS sqlite postgres json])
#   share/cmake/treecrdt/treecrdt-targets.cmake           treecrdt::treecrdt (core: std + Boost headers)
#   share/cmake/treecrdt/treecrdt-<component>-targets.cmake   treecrdt::sqlite, treecrdt::postgres, treecrdt::json
#
# Each component has an export set of its own, so that a consumer that does not ask for a component
# neither searches for its third-party library nor sees a target that would need it. The package
# holds no compiled code, hence share/ and an architecture-independent version file.
include(CMakePackageConfigHelpers)

set(TREECRDT_INSTALL_CMAKEDIR "${CMAKE_INSTALL_DATADIR}/cmake/treecrdt"
    CACHE STRING "Where the treecrdt CMake package files go, relative to the install prefix")
mark_as_advanced(TREECRDT_INSTALL_CMAKEDIR)

# `cmake --install <build> --component treecrdt_development` installs exactly the package.
set(_treecrdt_install_component treecrdt_development)

install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/treecrdt"
        DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}"
        COMPONENT ${_treecrdt_install_component}
        FILES_MATCHING PATTERN "*.hpp")

install(TARGETS treecrdt EXPORT treecrdt-targets COMPONENT ${_treecrdt_install_component})
install(EXPORT treecrdt-targets
        NAMESPACE treecrdt::
        DESTINATION "${TREECRDT_INSTALL_CMAKEDIR}"
        COMPONENT ${_treecrdt_install_component})

# Component name -> the target that provides it (EXPORT_NAME is the component name).
set(TREECRDT_INSTALLED_COMPONENTS "")
foreach(_treecrdt_component IN ITEMS sqlite postgres json)
  set(_treecrdt_target treecrdt_${_treecrdt_component})
  if(NOT TARGET ${_treecrdt_target})
    continue()  # built without it (TREECRDT_WITH_<COMPONENT>=OFF): the package says so when asked
  endif()
  if(NOT _treecrdt_target IN_LIST TREECRDT_EXPORTED_TARGETS)
    message(FATAL_ERROR "treecrdt install: target ${_treecrdt_target} exists but is not in TREECRDT_EXPORTED_TARGETS")
  endif()
  install(TARGETS ${_treecrdt_target} EXPORT treecrdt-${_treecrdt_component}-targets
          COMPONENT ${_treecrdt_install_component})
  install(EXPORT treecrdt-${_treecrdt_component}-targets
          NAMESPACE treecrdt::
          DESTINATION "${TREECRDT_INSTALL_CMAKEDIR}"
          COMPONENT ${_treecrdt_install_component})
  list(APPEND TREECRDT_INSTALLED_COMPONENTS ${_treecrdt_component})
endforeach()

# Every exported target must be installed by one of the rules above.
foreach(_treecrdt_target IN LISTS TREECRDT_EXPORTED_TARGETS)
  if(NOT _treecrdt_target STREQUAL "treecrdt" AND NOT _treecrdt_target MATCHES "^treecrdt_(sqlite|postgres|json)$")
    message(FATAL_ERROR "treecrdt install: no install rule for exported target ${_treecrdt_target}; "
                        "add it to cmake/install.cmake and cmake/treecrdtConfig.cmake.in")
  endif()
endforeach()

configure_package_config_file(
  "${CMAKE_CURRENT_LIST_DIR}/treecrdtConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/treecrdtConfig.cmake"
  INSTALL_DESTINATION "${TREECRDT_INSTALL_CMAKEDIR}"
  NO_SET_AND_CHECK_MACRO)

# 0.x: a minor version may break the API, so only the same major.minor is compatible.
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/treecrdtConfigVersion.cmake"
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion
  ARCH_INDEPENDENT)

install(FILES "${PROJECT_BINARY_DIR}/treecrdtConfig.cmake" "${PROJECT_BINARY_DIR}/treecrdtConfigVersion.cmake"
        DESTINATION "${TREECRDT_INSTALL_CMAKEDIR}"
        COMPONENT ${_treecrdt_install_component})

unset(_treecrdt_install_component)
unset(_treecrdt_component)
unset(_treecrdt_target)

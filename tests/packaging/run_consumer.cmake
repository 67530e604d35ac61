# Configures, builds and runs a consumer project, and checks what it printed.
#
#   cmake -DSOURCE=<project> -DBINARY=<build dir> -DGENERATOR=<gen> [-DMAKE_PROGRAM=<path>]
#         -DCXX_COMPILER=<path> [-DBUILD_TYPE=<type>] [-DARGS=<-Dx=y|-Dz=w>] [-DRUN=<program>]
#         [-DEXPECT=<text|text>] [-DEXPECT_FAILURE=configure] -P run_consumer.cmake
#
# The build directory is recreated every time, so nothing is reused from an earlier run. Every
# |-separated EXPECT text must appear in the output of the program (of the configure step for a
# project without RUN; with EXPECT_FAILURE=configure, the configure step must fail and print it).
cmake_minimum_required(VERSION 3.21)

foreach(required IN ITEMS SOURCE BINARY GENERATOR CXX_COMPILER)
  if(NOT DEFINED ${required} OR "${${required}}" STREQUAL "")
    message(FATAL_ERROR "run_consumer.cmake: -D${required}=... is required")
  endif()
endforeach()
if(NOT BUILD_TYPE)
  set(BUILD_TYPE Debug)
endif()
string(REPLACE "|" ";" args "${ARGS}")
string(REPLACE "|" ";" expected "${EXPECT}")

file(REMOVE_RECURSE "${BINARY}")
file(MAKE_DIRECTORY "${BINARY}")

set(configure ${CMAKE_COMMAND} -S "${SOURCE}" -B "${BINARY}" -G "${GENERATOR}"
    "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}" "-DCMAKE_BUILD_TYPE=${BUILD_TYPE}"
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF ${args})
if(MAKE_PROGRAM)
  list(APPEND configure "-DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM}")
endif()

# Compares with runs of white space folded to one blank: CMake wraps long messages.
function(check_expected what output)
  string(REGEX REPLACE "[ \t\r\n]+" " " folded "${output}")
  foreach(text IN LISTS expected)
    string(REGEX REPLACE "[ \t\r\n]+" " " text "${text}")
    string(FIND "${folded}" "${text}" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "${what} did not print \"${text}\"; it printed:\n${output}")
    endif()
  endforeach()
endfunction()

message(STATUS "configure: ${configure}")
execute_process(COMMAND ${configure} RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(EXPECT_FAILURE STREQUAL "configure")
  if(result EQUAL 0)
    message(FATAL_ERROR "configuring ${SOURCE} succeeded but was expected to fail:\n${out}")
  endif()
  check_expected("the failed configure step" "${out}")
  message(STATUS "configure failed as expected:\n${out}")
  return()
endif()
if(NOT result EQUAL 0)
  message(FATAL_ERROR "configuring ${SOURCE} failed (${result}):\n${out}")
endif()
message(STATUS "${out}")
if(NOT RUN)  # a configure-only probe
  check_expected("the configure step" "${out}")
  return()
endif()

execute_process(COMMAND ${CMAKE_COMMAND} --build "${BINARY}" -j 1
                RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "building ${SOURCE} failed (${result}):\n${out}")
endif()

execute_process(COMMAND "${BINARY}/${RUN}" RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "${RUN} exited with ${result}:\n${out}")
endif()
check_expected("${RUN}" "${out}")
message(STATUS "${RUN} printed:\n${out}")

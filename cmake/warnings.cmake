# pagohub_module(<name> SOURCES ... DEPS ...): one library target per module, with explicit
# link edges; warnings on, and errors for our own code.
add_library(pagohub_warnings INTERFACE)
target_compile_options(pagohub_warnings INTERFACE -Wall -Wextra -Wpedantic -Wshadow
                                                  -Wnon-virtual-dtor -Wold-style-cast
                                                  -Wcast-align -Wunused -Woverloaded-virtual
                                                  -Wnull-dereference -Wimplicit-fallthrough)
if(PAGOHUB_WERROR)
  target_compile_options(pagohub_warnings INTERFACE -Werror)
endif()

function(pagohub_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(pagohub_${name} STATIC ${M_SOURCES})
  add_library(pagohub::${name} ALIAS pagohub_${name})
  target_include_directories(pagohub_${name} PUBLIC ${PROJECT_SOURCE_DIR}/include
                                             PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  target_link_libraries(pagohub_${name} PUBLIC ${M_DEPS} PRIVATE pagohub_warnings ${M_PRIVATE_DEPS})
endfunction()

# pagohub_test(<name> LABEL unit|pg|e2e SOURCES ... DEPS ...)
function(pagohub_test name)
  cmake_parse_arguments(T "" "LABEL;TIMEOUT" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_DEPS} GTest::gtest GTest::gtest_main pagohub_warnings)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 600)
  endif()
  add_test(NAME ${name} COMMAND ${name} --gtest_brief=1)
  set_tests_properties(${name} PROPERTIES LABELS ${T_LABEL} TIMEOUT ${T_TIMEOUT})
  if(T_LABEL STREQUAL "pg" OR T_LABEL STREQUAL "e2e" OR T_LABEL STREQUAL "faults")
    # One throwaway cluster per ctest run (tests/pg/CMakeLists.txt); every test makes its own
    # database in it, so these tests run in parallel.
    set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED pg_cluster)
    set_property(TEST ${name} APPEND PROPERTY
                 ENVIRONMENT "PAGOHUB_TEST_PG_FILE=${CMAKE_BINARY_DIR}/pgtest.conninfo")
    # Appended to what the caller sets (a log_path, say), not in its place.
    set_property(
      TEST ${name} APPEND
      PROPERTY ENVIRONMENT_MODIFICATION
               "LSAN_OPTIONS=string_append::suppressions=${PROJECT_SOURCE_DIR}/tests/pg/lsan.supp"
               "TSAN_OPTIONS=string_append::suppressions=${PROJECT_SOURCE_DIR}/tests/pg/tsan.supp")
  endif()
  if(T_LABEL STREQUAL "faults")
    # Fault tests may stop or restart the shared cluster: nothing else may run meanwhile.
    set_tests_properties(${name} PROPERTIES RUN_SERIAL TRUE)
  endif()
endfunction()

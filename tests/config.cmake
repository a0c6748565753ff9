# SPDX-License-Identifier: Apache-2.0
# Configuration loader (config/): unit tests and `restockd --check` fixtures.
restock_unit_test(test_config SOURCES ${RESTOCK_TEST_DIR}/test_config.c LIBS rsconfig)
target_compile_definitions(test_config PRIVATE
  CONFIG_FIXTURES="${RESTOCK_TEST_DIR}/fixtures")

# One ctest per fixture dir: invalid ones must exit 2 with exactly their
# `expected` stderr; valid ones exit 0 and print `expected_stdout`.
foreach(mode invalid valid)
  file(GLOB fixtures CONFIGURE_DEPENDS LIST_DIRECTORIES true ${RESTOCK_TEST_DIR}/fixtures/${mode}/*)
  foreach(dir ${fixtures})
    if(IS_DIRECTORY ${dir})
      get_filename_component(name ${dir} NAME)
      add_test(NAME config_${mode}_${name}
               COMMAND /bin/bash ${RESTOCK_TEST_DIR}/run_fixtures.sh $<TARGET_FILE:restockd>
                       ${mode} ${dir})
      set_tests_properties(config_${mode}_${name} PROPERTIES TIMEOUT 60)
    endif()
  endforeach()
endforeach()

# The YAML examples of docs/configuration.md load (restock.yaml sections, rules).
add_test(NAME config_docs_examples
         COMMAND /bin/sh ${RESTOCK_TEST_DIR}/check_config_docs.sh $<TARGET_FILE:restockd>
                 ${CMAKE_SOURCE_DIR})
set_tests_properties(config_docs_examples PROPERTIES TIMEOUT 60)
# docs/configuration.md's key tables are the keys the loader takes, mapping by mapping.
add_executable(cfg_keys_dump ${RESTOCK_TEST_DIR}/cfg_keys_dump.c)
target_link_libraries(cfg_keys_dump PRIVATE rsconfig)
add_test(NAME config_docs_keys
         COMMAND ${RESTOCK_PYTHON} ${RESTOCK_TEST_DIR}/check_config_keys.py $<TARGET_FILE:restockd>
                 ${CMAKE_SOURCE_DIR} $<TARGET_FILE:cfg_keys_dump>)
set_tests_properties(config_docs_keys PROPERTIES TIMEOUT 60)

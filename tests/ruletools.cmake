# SPDX-License-Identifier: Apache-2.0
# Prediction in the reading path, rule unit tests (restockctl test-rules) and
# replay (restockctl replay).

# The predictor wired into the reading path, with a real store in a temp dir.
restock_unit_test(test_reading_predict SOURCES ${RESTOCK_TEST_DIR}/test_reading_predict.c)

# Every worked example of docs/rules.md runs its own rule tests.
file(GLOB RULE_EXAMPLES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/docs/examples/rules/*/test.yaml)
foreach(t ${RULE_EXAMPLES})
  get_filename_component(dir ${t} DIRECTORY)
  get_filename_component(name ${dir} NAME)
  add_test(NAME test_rules_example_${name} COMMAND restockctl test-rules ${t})
  set_tests_properties(test_rules_example_${name} PROPERTIES TIMEOUT 120)
endforeach()

# A failing rule test (exit 1, expected against got), malformed test files
# (exit 2), replay determinism on a generated CSV, replay of bad CSV rows,
# and every YAML example of docs/rules.md (loads, runs, matches its example dir).
add_test(NAME test_ruletools
         COMMAND sh ${RESTOCK_TEST_DIR}/test_ruletools.sh $<TARGET_FILE:restockctl>
                 ${CMAKE_SOURCE_DIR})
set_tests_properties(test_ruletools PROPERTIES TIMEOUT 300)

# The series notation of test files and the readings CSV of replay.
restock_unit_test(test_ruletools_parse SOURCES ${RESTOCK_TEST_DIR}/test_ruletools_parse.c)

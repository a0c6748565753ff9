# SPDX-License-Identifier: Apache-2.0
# bench/predict's harsher suite (`bench_predict --suite plant`, issue 12) on a
# few traces: it runs, reports every family with figures in range, and is
# reproducible from its seed. A smoke test: no goal is asserted, nothing timed.
add_test(NAME bench_predict_plant
         COMMAND sh ${RESTOCK_TEST_DIR}/test_bench_predict_plant.sh
                 $<TARGET_FILE:bench_predict>)
set_tests_properties(bench_predict_plant PROPERTIES TIMEOUT 300)
